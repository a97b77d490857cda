#pragma once
/// The feature metrics of features H (d₀×N) and of linear images S_l = Q_l H of them, with no S_l ever
/// formed: a linear deep UFM's hidden levels are S_l = W_l⋯W_1 H₁, and its step runs end to end
/// without them.
///
/// Every feature metric of theory.md §4 reads the features through their class means, their
/// within-class second moments and the projections m̃_cᵀ(h_i − μ_G). For S = Q H these are Q μ_c,
/// Q C_c Qᵀ (C_c = Σ_{y_i = c} (h_i − μ_c)(h_i − μ_c)ᵀ, the class's scatter) and (Qᵀ m̃_c)ᵀ(h_i − μ_G).
/// So one Gram product of class-centred columns of H (d₀²N flops, one class at a time) serves H and
/// every image: Σ_c C_c plus the between-class part M̃ diag(n_c) M̃ᵀ is H's centred Gram, Q (Σ_c C_c) Qᵀ
/// plus that of the images' means is each image's, and tr(Q_lᵀQ_l C_c) is its class's spread. What stays
/// N-sized is a pass over H per level for the projections (2Kd₀N flops). Forming S_l instead costs
/// 2d_l d_{l−1}N, and its own Gram d_l²N: at K = 10, n = 500, d = 512 the checkpoint of the 2-layer model
/// took 142 ms so on the Xeon, 85–89 ms here (README, "Cost of metrics").
///
/// Only the association of the sums differs from measuring a formed S_l (level_metrics), so every metric
/// agrees with it to rounding; nothing here cancels that the formed route does not (each class is
/// centred on its own mean before its Gram, as the formed route centres each sample).
#include <span>
#include <vector>

#include "ufm/linalg.hpp"
#include "ufm/metrics/metric_set.hpp"
#include "ufm/metrics/nc.hpp"

namespace ufm {

/// Level metrics of H and of S_l = Q[l−1] H (l = 1 … Q.size()): element 0 is H's, element l S_l's, each
/// what level_metrics gives for the formed level, up to rounding.
/// \param H d₀×N features (any column stride; contiguous columns take the projection kernels).
/// \param Q each d_l×d₀. With opt.spectra every d_l and d₀ must be ≤ N (the spectrum is then that of the
/// d×d Gram, as level_metrics takes it; a wider level's needs the N×N one): std::invalid_argument otherwise.
/// \param W When not null, the K×d_m classifier reading the last level (d₀ when Q is empty): its
/// statistics carry the strong residual (class_stats with W), and WHt, when not null, is resized to N×K
/// and receives the logits without the bias (W S_m)ᵀ = ((W Q_m) H)ᵀ, class-major.
/// \param first_gram When not null and Q is not empty, receives Q[0]ᵀQ[0] (d₀×d₀; its lower triangle, the
/// upper one zero), which the levels' spreads use: a two-layer checkpoint's W₁ report reads its σ from it.
/// Throws like level_metrics on bad labels or K.
std::vector<LevelMetrics> linear_stack_levels(const Eigen::Ref<const Mat>& H, std::span<const int> labels, Index K,
                                              std::span<const Mat> Q, const MetricOptions& opt,
                                              const Eigen::Ref<const Mat>* W = nullptr, Mat* WHt = nullptr,
                                              Mat* first_gram = nullptr);

/// true when linear_stack_levels takes fewer flops than forming the levels S_l = W_l S_{l−1} of a linear
/// stack of widths dims = (d₀, d₁, …, d_m) and measuring each (level_metrics), and applies (with spectra,
/// every width ≤ N). Both count the classifier's logits alike and the eigensolves are the same on both.
bool linear_images_take_fewer_flops(Index N, Index K, std::span<const Index> dims, bool spectra);

}  // namespace ufm
