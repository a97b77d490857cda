#pragma once
/// Class means and their centred matrix M̃ (theory.md §4), shared by the feature and classifier metrics.
#include <span>
#include <string>
#include <vector>

#include "ufm/linalg.hpp"

namespace ufm {

struct ClassStats {
  std::vector<Index> counts;  ///< n_c, c in [0, K)
  Mat means;                  ///< H̄: d×K uncentred class means μ_c (a zero column for an empty class)
  Vec mu_G;                   ///< d: μ_G, the mean of the class means
  Mat Mt;                     ///< M̃ = [μ_c − μ_G]: d×K
  Mat G;                      ///< M̃ᵀM̃: K×K
  double scale_sq = 0.0;      ///< ‖H̄‖²_F: the scale against which M̃ and μ_c − μ_c' count as zero
  double h_sq = 0.0;          ///< ‖H‖²_F (accumulated in the same pass as the means)
  std::string empty_reason;   ///< non-empty when a class has no samples: its mean, μ_G and M̃ are undefined
  bool means_coincide = false;  ///< every class mean is the same point (M̃ negligible), e.g. H = 0
  /// With the classifier W given: the squares of strong NC's residual H − Wᵀ D⁻¹ Y (D = diag(√n_c))
  /// summed over the samples, row by row (d), from the same pass; else empty.
  Vec strong_residual_sq;

  /// Why metrics built on M̃ are undefined ("" when they are defined).
  std::string mt_reason() const;
};

/// Counts, class means, μ_G, M̃, M̃ᵀM̃ and ‖H‖² of the d×N features H with labels in [0, K): one pass over H.
/// Throws std::invalid_argument (naming `caller`) if labels.size() ≠ N, K < 2 or a label is outside [0, K).
/// \param W When not null, the K×d classifier reading H: the same pass gives strong_residual_sq
/// (std::invalid_argument if W is not K×d).
ClassStats class_stats(const Eigen::Ref<const Mat>& H, std::span<const int> labels, Index K, const char* caller,
                       const Eigen::Ref<const Mat>* W = nullptr);

/// From the class means (s.means): scale_sq, mu_G, Mt, G and means_coincide, as class_stats sets them.
void centre_class_means(ClassStats& s);

/// P = M̃ᵀ(H − μ_G1ᵀ) (K×N) without a d×N temporary (one K·d·N product).
Mat centered_projections(const Eigen::Ref<const Mat>& H, const ClassStats& s);

/// Nearest class centre argmin_c ‖h_i − μ_c‖ of every sample, ties to the lowest c, from P (K×N) of
/// centered_projections: ‖h_i − μ_c‖² = ‖h_i − μ_G‖² + ‖m̃_c‖² − 2 P(c, i), the first term shared by all c.
/// \param Pt P stored class-major, Pᵀ (N×K): the comparisons run over contiguous samples (vectorized).
std::vector<int> nearest_class_center(const ClassStats& s, const Eigen::Ref<const Mat>& Pt);

/// argmax_c z(c), ties to the lowest c (the rule of accuracy and nc4).
template <class V>
int argmax_lowest(const V& z) {
  int best = 0;
  for (Index c = 1; c < z.size(); ++c)
    if (z(c) > z(best)) best = static_cast<int>(c);
  return best;
}

}  // namespace ufm
