#include "ufm/metrics/tridiagonal_reduction.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

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
    for (int k = 0; k < C; ++k) acc[k] = simd::multiply_add(simd::load(col + kLanes * k), sj, acc[k]);
  }
  for (int k = 0; k < C; ++k) simd::store(p + kLanes * (b0 + k), acc[k]);
}

/// F[:, j] ← F[:, j] − v w_j − w v_j for j ∈ [j0, m), over C vectors of rows from vector b0, with
/// those vectors of v and w in registers. With kSum, also p[b0 .. b0 + C) = Σ_j F[:, j] s_j over the
/// updated columns (the next step's column_sum, from the same loads).
template <int C, bool kSum>
void rank_two_update(double* F, int b0, int j0, int m, const double* v, const double* w,
                     [[maybe_unused]] const double* s, [[maybe_unused]] double* p) {
  Doubles vr[C], wr[C], acc[C] = {};
  for (int k = 0; k < C; ++k) {
    vr[k] = simd::load(v + kLanes * (b0 + k));
    wr[k] = simd::load(w + kLanes * (b0 + k));
  }
  for (int j = j0; j < m; ++j) {
    const Doubles wj = simd::broadcast(w[j]), vj = simd::broadcast(v[j]);
    [[maybe_unused]] const Doubles sj = kSum ? simd::broadcast(s[j]) : Doubles{};
    double* col = F + kLd * j + kLanes * b0;
    for (int k = 0; k < C; ++k) {
      const Doubles updated = simd::multiply_add(-wr[k], vj, simd::load(col + kLanes * k));
      const Doubles x = simd::multiply_add(-vr[k], wj, updated);
      simd::store(col + kLanes * k, x);
      if constexpr (kSum) acc[k] = simd::multiply_add(x, sj, acc[k]);
    }
  }
  if constexpr (kSum)
    for (int k = 0; k < C; ++k) simd::store(p + kLanes * (b0 + k), acc[k]);
}

/// The sum of v's lanes, in lane order.
double lane_sum(Doubles v) {
  double total = 0.0;
  for (int k = 0; k < kLanes; ++k) total += v[k];
  return total;
}

/// The reduction's vectors: the reflector v of the current step, p = τ F₂₂ v and w, each kLd long,
/// and s = τ v (column_sum's weights).
struct Reflector {
  alignas(64) double v[kLd], p[kLd], w[kLd], s[kLd];
  double tau = 0.0;
};

/// The reflector of column i of F (kLd×kLd, column-major, both triangles, zero from row m down)
/// below the diagonal, as Eigen's makeHouseholderInPlace on x[i+1, m) (c0 = x[i+1], the tail
/// x[i+2, m)'s squared norm): d[i] and e[i]; v (1 at row i + 1, x / (c0 − β) below it, 0 above and
/// from row m) and s = τ v on rows [i + 1, m). False when it is the identity (Eigen's test), and
/// then F is left as it is.
bool form_reflector(const double* F, int m, int i, double* d, double* e, Reflector& r) {
  const int b0 = (i + 1) / kLanes, nv = (m + kLanes - 1) / kLanes;
  const int first = kLanes * b0;  // the first row the step touches
  const double* x = F + kLd * i;  // column i
  double* v = r.v;
  for (int q = first; q < i + 2; ++q) v[q] = 0.0;
  for (int q = i + 2; q < first + kLanes; ++q) v[q] = x[q];
  Doubles sq = simd::load(v + first) * simd::load(v + first);
  for (int b = b0 + 1; b < nv; ++b) sq = sq + simd::load(x + kLanes * b) * simd::load(x + kLanes * b);
  const double tail_sq = lane_sum(sq);
  const double c0 = x[i + 1];
  d[i] = x[i];
  if (tail_sq <= std::numeric_limits<double>::min()) {  // Eigen's test: the reflector is the identity
    e[i] = c0;
    return false;
  }
  const double root = std::sqrt(c0 * c0 + tail_sq), beta = c0 >= 0.0 ? -root : root;
  r.tau = (beta - c0) / beta;
  e[i] = beta;
  const Doubles inv = simd::broadcast(1.0 / (c0 - beta));
  for (int b = b0; b < nv; ++b) simd::store(v + kLanes * b, simd::load(x + kLanes * b) * inv);
  for (int q = first; q <= i; ++q) v[q] = 0.0;
  v[i + 1] = 1.0;
  for (int j = i + 1; j < m; ++j) r.s[j] = r.tau * v[j];
  return true;
}

/// p's rows above i + 1 (F's rows of earlier steps) zeroed, so that the update leaves those rows as
/// they are; they are never read again.
void clear_rows_above(int i, double* p) {
  for (int q = kLanes * ((i + 1) / kLanes); q <= i; ++q) p[q] = 0.0;
}

/// The reduction's steps i = 0 … m − 2 of F, as Golub & Van Loan's Algorithm 8.3.1: the reflector of
/// column i, p = τ F₂₂ v (a sum of F's columns, s_j = τ v_j), w = p − ½ τ (pᵀv) v, then F₂₂ ← F₂₂ −
/// v wᵀ − w vᵀ on the trailing block F[i+1:, i+1:] (the row vectors from (i + 1) / kLanes to the last
/// one holding a row < m; in them v, p and w are zero above row i + 1). The next step's p is summed
/// in the same pass as this step's update: column i + 1 is updated first, the next reflector formed
/// from it, and each later column added to p as it is updated (one pass over the block per step, not
/// two; the same products and sums in the same order, bit for bit the two passes' result).
void reduce(double* F, int m, double* d, double* e) {
  const int nv = (m + kLanes - 1) / kLanes;
  Reflector first, second;
  Reflector* cur = &first;  // this step's
  Reflector* next = &second;
  const auto column_sum_from = [&](int i, Reflector& r) {  // r.p = τ F₂₂ v, each C vectors at once
    for (int b = (i + 1) / kLanes; b < nv; b += kChunk)
      with_constant<kChunk>(std::min(kChunk, nv - b), [&]<int C>() { column_sum<C>(F, b, i + 1, m, r.s, r.p); });
    clear_rows_above(i, r.p);
  };
  bool active = m > 1 && form_reflector(F, m, 0, d, e, *cur);
  if (active) column_sum_from(0, *cur);
  for (int i = 0; i + 1 < m; ++i) {
    const bool has_next = i + 2 < m;  // step i + 1 has a reflector to form
    if (!active) {  // F is left as it is: the next step starts from scratch
      active = has_next && form_reflector(F, m, i + 1, d, e, *cur);
      if (active) column_sum_from(i + 1, *cur);
      continue;
    }
    const int b0 = (i + 1) / kLanes;
    const double* v = cur->v;
    const double* p = cur->p;
    double* w = cur->w;
    // w = p − ½ tau (pᵀv) v
    Doubles pv{};
    for (int b = b0; b < nv; ++b) pv = pv + simd::load(p + kLanes * b) * simd::load(v + kLanes * b);
    const Doubles alpha = simd::broadcast(-0.5 * cur->tau * lane_sum(pv));
    for (int b = b0; b < nv; ++b)
      simd::store(w + kLanes * b, simd::load(p + kLanes * b) + alpha * simd::load(v + kLanes * b));
    // F₂₂ ← F₂₂ − v wᵀ − w vᵀ: column i + 1 first, then (if its reflector is not the identity) the
    // rest with the next step's column sums.
    int j0 = i + 1;
    bool next_active = false;
    if (has_next) {
      for (int b = b0; b < nv; b += kChunk)
        with_constant<kChunk>(std::min(kChunk, nv - b),
                              [&]<int C>() { rank_two_update<C, false>(F, b, i + 1, i + 2, v, w, nullptr, nullptr); });
      j0 = i + 2;
      next_active = form_reflector(F, m, i + 1, d, e, *next);
    }
    for (int b = b0; b < nv; b += kChunk)
      with_constant<kChunk>(std::min(kChunk, nv - b), [&]<int C>() {
        if (next_active)
          rank_two_update<C, true>(F, b, j0, m, v, w, next->s, next->p);
        else
          rank_two_update<C, false>(F, b, j0, m, v, w, nullptr, nullptr);
      });
    if (!has_next) break;
    if (next_active) clear_rows_above(i + 1, next->p);
    std::swap(cur, next);
    active = next_active;
  }
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
  reduce(F, n, d.data(), e.data());
  d[static_cast<std::size_t>(n - 1)] = F[kLd * (n - 1) + (n - 1)];
  return true;
}

}  // namespace ufm
