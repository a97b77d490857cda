#include "ufm/metrics/tridiagonal_reduction.hpp"

#include <stdexcept>
#include <string>

#if defined(__AVX512F__)
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>
#endif

namespace ufm {

#if defined(__AVX512F__)
namespace {

constexpr int kLd = static_cast<int>(kRegisterTridiagonalUpTo);  ///< F's leading dimension: 8 vectors a column

/// Step i of the reduction of F (kLd×kLd, column-major, both triangles, zero below row m): the
/// reflector of column i's entries below the diagonal, applied to the trailing block F[i+1:, i+1:].
/// B0 = (i + 1) / 8 is the first vector of rows the block touches; the NB = 8 − B0 vectors of v, p
/// and w from there on are registers. Rows of those vectors above i + 1 hold zeros in v, p and w, so
/// F's entries there (above the trailing block) are left as they are.
template <int B0>
void reduction_step(double* F, int m, int i, double* d, double* e, double* v_entries) {
  constexpr int NB = 8 - B0;
  const double* x = F + kLd * i + 8 * B0;  // column i from row 8·B0
  const int below = i + 2 - 8 * B0;        // first lane of the reflected tail (rows ≥ i + 2), in 1..8
  const auto tail_lanes = static_cast<__mmask8>(0xFFu << below);
  const int pivot = i + 1 - 8 * B0;        // lane of row i + 1 in vector 0, in 0..7
  // Eigen's makeHouseholderInPlace on x[i+1:]: c0 = x[i+1], the tail's squared norm, beta, tau.
  __m512d sq = _mm512_maskz_load_pd(tail_lanes, x);
  sq = _mm512_mul_pd(sq, sq);
  for (int b = 1; b < NB; ++b) {
    const __m512d t = _mm512_load_pd(x + 8 * b);
    sq = _mm512_fmadd_pd(t, t, sq);
  }
  const double tail_sq = _mm512_reduce_add_pd(sq);
  const double c0 = x[pivot];
  d[i] = F[kLd * i + i];
  if (tail_sq <= std::numeric_limits<double>::min()) {  // Eigen's test: the reflector is the identity
    e[i] = c0;
    return;
  }
  const double beta = c0 >= 0.0 ? -std::sqrt(c0 * c0 + tail_sq) : std::sqrt(c0 * c0 + tail_sq);
  const double tau = (beta - c0) / beta;
  e[i] = beta;
  // v: 1 at row i + 1, x / (c0 − beta) below it, 0 above (and below m, where F is zero).
  const __m512d inv = _mm512_set1_pd(1.0 / (c0 - beta));
  __m512d v[NB], p[NB], w[NB];
  for (int b = 0; b < NB; ++b) v[b] = _mm512_mul_pd(_mm512_load_pd(x + 8 * b), inv);
  v[0] = _mm512_mask_mov_pd(_mm512_maskz_mov_pd(tail_lanes, v[0]), static_cast<__mmask8>(1u << pivot),
                            _mm512_set1_pd(1.0));
  for (int b = 0; b < NB; ++b) _mm512_store_pd(v_entries + 8 * (B0 + b), v[b]);
  // p = tau F₂₂ v, a sum of F's columns; its rows above i + 1 (entries above the block) zeroed.
  for (int b = 0; b < NB; ++b) p[b] = _mm512_setzero_pd();
  for (int j = i + 1; j < m; ++j) {
    const __m512d s = _mm512_set1_pd(tau * v_entries[j]);
    const double* col = F + kLd * j + 8 * B0;
    for (int b = 0; b < NB; ++b) p[b] = _mm512_fmadd_pd(_mm512_load_pd(col + 8 * b), s, p[b]);
  }
  p[0] = _mm512_maskz_mov_pd(static_cast<__mmask8>(0xFFu << pivot), p[0]);
  // w = p − ½ tau (pᵀv) v
  __m512d pv = _mm512_mul_pd(p[0], v[0]);
  for (int b = 1; b < NB; ++b) pv = _mm512_fmadd_pd(p[b], v[b], pv);
  const __m512d alpha = _mm512_set1_pd(-0.5 * tau * _mm512_reduce_add_pd(pv));
  alignas(64) double w_entries[kLd];
  for (int b = 0; b < NB; ++b) {
    w[b] = _mm512_fmadd_pd(alpha, v[b], p[b]);
    _mm512_store_pd(w_entries + 8 * (B0 + b), w[b]);
  }
  // F₂₂ ← F₂₂ − v wᵀ − w vᵀ, column by column
  for (int j = i + 1; j < m; ++j) {
    const __m512d wj = _mm512_set1_pd(-w_entries[j]), vj = _mm512_set1_pd(-v_entries[j]);
    double* col = F + kLd * j + 8 * B0;
    for (int b = 0; b < NB; ++b) {
      __m512d c = _mm512_load_pd(col + 8 * b);
      c = _mm512_fmadd_pd(v[b], wj, c);
      c = _mm512_fmadd_pd(w[b], vj, c);
      _mm512_store_pd(col + 8 * b, c);
    }
  }
}

}  // namespace
#endif

bool tridiagonalize_in_registers(const Mat& A, double scale, std::span<double> d, std::span<double> e) {
  const Index m = A.rows();
  if (A.cols() != m || static_cast<Index>(d.size()) != m || static_cast<Index>(e.size()) != std::max<Index>(m - 1, 0))
    throw std::invalid_argument("tridiagonalize_in_registers: A must be square (m×m), d of size m, e of size m − 1; got " +
                                std::to_string(A.rows()) + "×" + std::to_string(A.cols()) + ", " +
                                std::to_string(d.size()) + ", " + std::to_string(e.size()));
#if defined(__AVX512F__)
  if (m < 1 || m > kRegisterTridiagonalUpTo) return false;
  const int n = static_cast<int>(m);
  // F = A / scale in both triangles from A's lower one, zero below row m (the vectors' padding).
  alignas(64) double F[kLd * kLd];
  for (int j = 0; j < n; ++j) {
    double* col = F + kLd * j;
    for (int r = 0; r < j; ++r) col[r] = A(j, r) / scale;
    for (int r = j; r < n; ++r) col[r] = A(r, j) / scale;
    std::fill(col + n, col + kLd, 0.0);
  }
  alignas(64) double v_entries[kLd];
  for (int i = 0; i + 1 < n; ++i) {
    switch ((i + 1) / 8) {
      case 0: reduction_step<0>(F, n, i, d.data(), e.data(), v_entries); break;
      case 1: reduction_step<1>(F, n, i, d.data(), e.data(), v_entries); break;
      case 2: reduction_step<2>(F, n, i, d.data(), e.data(), v_entries); break;
      case 3: reduction_step<3>(F, n, i, d.data(), e.data(), v_entries); break;
      case 4: reduction_step<4>(F, n, i, d.data(), e.data(), v_entries); break;
      case 5: reduction_step<5>(F, n, i, d.data(), e.data(), v_entries); break;
      case 6: reduction_step<6>(F, n, i, d.data(), e.data(), v_entries); break;
      default: reduction_step<7>(F, n, i, d.data(), e.data(), v_entries); break;
    }
  }
  d[static_cast<std::size_t>(n - 1)] = F[kLd * (n - 1) + (n - 1)];
  return true;
#else
  (void)scale;
  return false;
#endif
}

}  // namespace ufm
