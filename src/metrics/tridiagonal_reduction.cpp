#include "ufm/metrics/tridiagonal_reduction.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "ufm/simd.hpp"
#include "ufm/with_constant.hpp"

namespace ufm {
namespace {

using simd::Doubles;
using simd::kLanes;

constexpr int kLd = static_cast<int>(kRegisterTridiagonalUpTo);  ///< F's leading dimension
/// Vectors of v, w or p held in registers at once: all of a column with AVX-512 (8 of 32
/// registers each for v and w), a quarter with AVX2 (4 each of 16).
constexpr int kChunk = kLanes == 8 ? 8 : 4;

/// Whether this build reduces in registers: with 8 or 4 lanes (AVX-512, AVX or AVX2); with SSE's 2
/// a column is 32 vectors, and Eigen's reduction is kept.
constexpr bool kInRegisters = kLanes >= 4;

/// p[b0 .. b0 + C) = Σ_{j ∈ [j0, m)} F[:, j] s_j over C vectors of rows from vector b0, the sum over
/// j in registers (C accumulators, each column's vectors loaded once).
template <int C>
void column_sum(const double* F, int b0, int j0, int m, const double* s, double* p) {
  Doubles acc[C] = {};
  for (int j = j0; j < m; ++j) {
    const Doubles sj = simd::broadcast(s[j]);
    const double* col = F + kLd * j + kLanes * b0;
    for (int k = 0; k < C; ++k) acc[k] = acc[k] + simd::load(col + kLanes * k) * sj;
  }
  for (int k = 0; k < C; ++k) simd::store(p + kLanes * (b0 + k), acc[k]);
}

/// F[:, j] ← F[:, j] − v w_j − w v_j for j ∈ [j0, m), over C vectors of rows from vector b0, with
/// those vectors of v and w in registers.
template <int C>
void rank_two_update(double* F, int b0, int j0, int m, const double* v, const double* w) {
  Doubles vr[C], wr[C];
  for (int k = 0; k < C; ++k) {
    vr[k] = simd::load(v + kLanes * (b0 + k));
    wr[k] = simd::load(w + kLanes * (b0 + k));
  }
  for (int j = j0; j < m; ++j) {
    const Doubles wj = simd::broadcast(w[j]), vj = simd::broadcast(v[j]);
    double* col = F + kLd * j + kLanes * b0;
    for (int k = 0; k < C; ++k)
      simd::store(col + kLanes * k, simd::load(col + kLanes * k) - (vr[k] * wj + wr[k] * vj));
  }
}

/// The sum of v's lanes, in lane order.
double lane_sum(Doubles v) {
  double total = 0.0;
  for (int k = 0; k < kLanes; ++k) total += v[k];
  return total;
}

/// Step i of the reduction of F (kLd×kLd, column-major, both triangles, zero from row m down): the
/// reflector of column i below the diagonal, applied to the trailing block F[i+1:, i+1:]. Only the
/// vectors of rows from b0 = (i + 1) / kLanes to the last one holding a row < m are touched; in
/// them v, p and w are zero above row i + 1.
void reduction_step(double* F, int m, int i, double* d, double* e, double* v, double* p, double* w) {
  const int b0 = (i + 1) / kLanes, nv = (m + kLanes - 1) / kLanes;
  const int first = kLanes * b0;  // the first row the step touches
  const double* x = F + kLd * i;  // column i
  // Eigen's makeHouseholderInPlace on x[i+1, m): c0 = x[i+1], the tail x[i+2, m)'s squared norm.
  for (int r = first; r < i + 2; ++r) v[r] = 0.0;
  for (int r = i + 2; r < first + kLanes; ++r) v[r] = x[r];
  Doubles sq = simd::load(v + first) * simd::load(v + first);
  for (int b = b0 + 1; b < nv; ++b) sq = sq + simd::load(x + kLanes * b) * simd::load(x + kLanes * b);
  const double tail_sq = lane_sum(sq);
  const double c0 = x[i + 1];
  d[i] = x[i];
  if (tail_sq <= std::numeric_limits<double>::min()) {  // Eigen's test: the reflector is the identity
    e[i] = c0;
    return;
  }
  const double root = std::sqrt(c0 * c0 + tail_sq), beta = c0 >= 0.0 ? -root : root;
  const double tau = (beta - c0) / beta;
  e[i] = beta;
  // v: 1 at row i + 1, x / (c0 − beta) below it, 0 above (and from row m, where F is zero).
  const Doubles inv = simd::broadcast(1.0 / (c0 - beta));
  for (int b = b0; b < nv; ++b) simd::store(v + kLanes * b, simd::load(x + kLanes * b) * inv);
  for (int r = first; r <= i; ++r) v[r] = 0.0;
  v[i + 1] = 1.0;
  // p = tau F₂₂ v, a sum of F's columns (s_j = tau v_j). Its rows above i + 1 (F's rows of earlier
  // steps) are zeroed, so that the update leaves those rows as they are; they are never read again.
  alignas(64) double s[kLd];
  for (int j = i + 1; j < m; ++j) s[j] = tau * v[j];
  for (int b = b0; b < nv; b += kChunk)
    with_constant<kChunk>(std::min(kChunk, nv - b), [&]<int C>() { column_sum<C>(F, b, i + 1, m, s, p); });
  for (int r = first; r <= i; ++r) p[r] = 0.0;
  // w = p − ½ tau (pᵀv) v
  Doubles pv{};
  for (int b = b0; b < nv; ++b) pv = pv + simd::load(p + kLanes * b) * simd::load(v + kLanes * b);
  const Doubles alpha = simd::broadcast(-0.5 * tau * lane_sum(pv));
  for (int b = b0; b < nv; ++b)
    simd::store(w + kLanes * b, simd::load(p + kLanes * b) + alpha * simd::load(v + kLanes * b));
  // F₂₂ ← F₂₂ − v wᵀ − w vᵀ
  for (int b = b0; b < nv; b += kChunk)
    with_constant<kChunk>(std::min(kChunk, nv - b), [&]<int C>() { rank_two_update<C>(F, b, i + 1, m, v, w); });
}

}  // namespace

bool tridiagonalize_in_registers(const Mat& A, double scale, std::span<double> d, std::span<double> e) {
  const Index m = A.rows();
  if (A.cols() != m || static_cast<Index>(d.size()) != m || static_cast<Index>(e.size()) != std::max<Index>(m - 1, 0))
    throw std::invalid_argument(
        "tridiagonalize_in_registers: A must be square (m×m), d of size m, e of size m − 1; got " +
        std::to_string(A.rows()) + "×" + std::to_string(A.cols()) + ", " + std::to_string(d.size()) + ", " +
        std::to_string(e.size()));
  if (!kInRegisters || m < 1 || m > kRegisterTridiagonalUpTo) return false;
  const int n = static_cast<int>(m);
  // F = A / scale in both triangles from A's lower one, zero from row m down (the last vector's
  // padding).
  alignas(64) double F[kLd * kLd];
  const int rows = kLanes * ((n + kLanes - 1) / kLanes);
  for (int j = 0; j < n; ++j) {  // the lower triangle, a column at a time
    double* col = F + kLd * j;
    for (int r = j; r < n; ++r) col[r] = A(r, j) / scale;
    std::fill(col + n, col + rows, 0.0);
  }
  for (int j = 1; j < n; ++j)  // the upper one mirrored from it (no division per entry twice)
    for (int r = 0; r < j; ++r) F[kLd * j + r] = F[kLd * r + j];
  alignas(64) double v[kLd], p[kLd], w[kLd];
  for (int i = 0; i + 1 < n; ++i) reduction_step(F, n, i, d.data(), e.data(), v, p, w);
  d[static_cast<std::size_t>(n - 1)] = F[kLd * (n - 1) + (n - 1)];
  return true;
}

}  // namespace ufm
