#include "ufm/objectives/detail/residual_products.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "ufm/objectives/detail/ufm_kernels.hpp"
#include "ufm/simd.hpp"

namespace ufm::detail {
namespace {

using simd::Doubles;
constexpr Index kL = simd::kLanes;

template <int K>
void times_transposed(Index rows, int terms, const double* const* R, Index ldr, const double* M, double* out,
                      Index ldo) {
  Index r = 0;
  for (; r + kL <= rows; r += kL) {  // kL samples, all K classes in registers
    Doubles acc[K] = {};
    for (int t = 0; t < terms; ++t) {
      const double* Rt = R[t] + r;
      const double* Mt = M + t * K * K;
      for (int j = 0; j < K; ++j) {
        const Doubles v = simd::load(Rt + j * ldr);
        for (int k = 0; k < K; ++k) acc[k] = simd::multiply_add(simd::broadcast(Mt[k + j * K]), v, acc[k]);
      }
    }
    for (int k = 0; k < K; ++k) simd::store(out + r + k * ldo, acc[k]);
  }
  for (; r < rows; ++r)  // the last samples: the same chains, one lane
    for (int k = 0; k < K; ++k) {
      double s = 0.0;
      for (int t = 0; t < terms; ++t)
        for (int j = 0; j < K; ++j) s = std::fma(M[t * K * K + k + j * K], R[t][r + j * ldr], s);
      out[r + k * ldo] = s;
    }
}

/// Classes k0 and k0 + 1 (or k0 alone, kPair false) of Aᵀ B: 2K accumulators at most.
template <int K, bool kPair>
void cross_rows(Index rows, Index k0, const double* A, Index lda, const double* B, Index ldb, double* out) {
  Doubles acc[2][K] = {};
  Index r = 0;
  for (; r + kL <= rows; r += kL) {
    const Doubles a0 = simd::load(A + r + k0 * lda);
    const Doubles a1 = kPair ? simd::load(A + r + (k0 + 1) * lda) : Doubles{};
    for (int j = 0; j < K; ++j) {
      const Doubles b = simd::load(B + r + j * ldb);
      acc[0][j] = simd::multiply_add(a0, b, acc[0][j]);
      if constexpr (kPair) acc[1][j] = simd::multiply_add(a1, b, acc[1][j]);
    }
  }
  for (int p = 0; p < (kPair ? 2 : 1); ++p) {
    const Index k = k0 + p;
    for (int j = 0; j < K; ++j) {
      double s = acc[p][j][0];
      for (int l = 1; l < kL; ++l) s += acc[p][j][l];
      for (Index q = r; q < rows; ++q) s = std::fma(A[q + k * lda], B[q + j * ldb], s);
      out[k + j * K] = s;
    }
  }
}

/// Two classes at a time where their 2K accumulators and three operands fit the vector registers (32
/// with AVX-512, 16 with AVX2), so that each load of B serves two multiply-adds; else one.
template <int K>
void cross_product(Index rows, const double* A, Index lda, const double* B, Index ldb, double* out) {
  constexpr bool kPairs = 2 * K + 3 <= (kL == 8 ? 32 : 16);
  Index k0 = 0;
  if constexpr (kPairs)
    for (; k0 + 2 <= K; k0 += 2) cross_rows<K, true>(rows, k0, A, lda, B, ldb, out);
  for (; k0 < K; ++k0) cross_rows<K, false>(rows, k0, A, lda, B, ldb, out);
}

template <template <int> class Kernel, class... Args>
void by_classes(Index K, const char* who, Args... args) {
  switch (K) {
    case 2: return Kernel<2>::run(args...);
    case 3: return Kernel<3>::run(args...);
    case 4: return Kernel<4>::run(args...);
    case 5: return Kernel<5>::run(args...);
    case 6: return Kernel<6>::run(args...);
    case 7: return Kernel<7>::run(args...);
    case 8: return Kernel<8>::run(args...);
    case 9: return Kernel<9>::run(args...);
    case 10: return Kernel<10>::run(args...);
    case 11: return Kernel<11>::run(args...);
    case 12: return Kernel<12>::run(args...);
    default:
      throw std::invalid_argument(std::string(who) + ": K = " + std::to_string(K) + " outside [2, " +
                                  std::to_string(kMaxDescendK) + "]");
  }
}

template <int K>
struct TimesTransposed {
  static void run(Index rows, int terms, const double* const* R, Index ldr, const double* M, double* out, Index ldo) {
    times_transposed<K>(rows, terms, R, ldr, M, out, ldo);
  }
};
template <int K>
struct CrossProduct {
  static void run(Index rows, const double* A, Index lda, const double* B, Index ldb, double* out) {
    cross_product<K>(rows, A, lda, B, ldb, out);
  }
};
static_assert(kMaxDescendK == 12, "the dispatch above covers K up to 12");

}  // namespace

void residuals_times_transposed(Index rows, Index K, int terms, const double* const* R, Index ldr, const double* M,
                                double* out, Index ldo) {
  by_classes<TimesTransposed>(K, "residuals_times_transposed", rows, terms, R, ldr, M, out, ldo);
}

void residual_cross_product(Index rows, Index K, const double* A, Index lda, const double* B, Index ldb,
                            double* out) {
  by_classes<CrossProduct>(K, "residual_cross_product", rows, A, lda, B, ldb, out);
}

}  // namespace ufm::detail
