#pragma once
/// Geometry of a frame of K vectors (the columns of a d×K matrix): theory.md §4 NC2 and NC3, and the
/// one "is this zero?" rule shared by every metric.
#include <optional>
#include <string>

#include "ufm/linalg.hpp"
#include "ufm/metrics/metric_set.hpp"

namespace ufm {

/// "Zero" for a squared norm sq: sq ≤ 1e-300 (absolute: exact zeros and denormals, e.g. H = 0 or
/// W = 0 at the zero solutions of §5), or sq ≤ 1e-24 · scale_sq, i.e. a norm at most 1e-12 of the
/// data's own scale (relative: class means that coincide up to the rounding of their averages,
/// which is ~1e-16 of the scale, count as coinciding). scale_sq is a squared norm of the data.
inline bool negligible(double sq, double scale_sq = 0.0) { return sq <= 1e-300 || sq <= 1e-24 * scale_sq; }

/// Puts equinorm_<suffix>, equiangle_<suffix>, etf_error_<suffix> of the columns of V (d×K, K ≥ 2),
/// given their Gram matrix VᵀV (K×K; the callers have it already: M̃ᵀM̃, W Wᵀ):
/// equinorm = std/mean of the column norms (population std); equiangle = mean over pairs c < c' of
/// |cos + 1/(K−1)|; etf_error = ‖G/‖G‖_F − J/‖J‖_F‖_F, G the Gram matrix of the unit columns and
/// J = I − 11ᵀ/K. A column with negligible(‖v‖², scale_sq) makes the cosines (equiangle, etf_error)
/// null; all columns zero makes equinorm null too.
void put_frame_geometry(const Mat& gram, double scale_sq, const std::string& suffix, MetricSet& out);

/// ‖A/‖A‖_F − B/‖B‖_F‖²_F for two d×K matrices (nc3 with A = Wᵀ, B = M̃), or nullopt when either is
/// negligible against its scale (the caller knows which and gives the reason).
std::optional<double> frame_distance(const Eigen::Ref<const Mat>& A, double a_scale_sq, const Eigen::Ref<const Mat>& B,
                                     double b_scale_sq);

}  // namespace ufm
