#pragma once
/// One machine vector of doubles (GCC's vector extension): eight lanes with AVX-512, four with
/// AVX, two otherwise, whatever -march the library is built for (a vector wider than the ISA's
/// would change the calling convention, which GCC warns about). For the elementwise passes over θ
/// that GCC does not vectorize by itself (a sum over a run-time number of sources kept in
/// registers, a reduction that tracks NaN). Each lane does exactly the scalar arithmetic (no FMA:
/// the library builds with -ffp-contract=off).
#include <cmath>
#include <cstring>
#if defined(__AVX512F__) || defined(__FMA__)
#include <immintrin.h>
#endif

namespace ufm::simd {

#if defined(__AVX512F__)
inline constexpr int kLanes = 8;
#elif defined(__AVX__)
inline constexpr int kLanes = 4;
#else
inline constexpr int kLanes = 2;
#endif
using Doubles = double __attribute__((vector_size(kLanes * sizeof(double))));
using Mask = long long __attribute__((vector_size(kLanes * sizeof(long long))));  ///< lanes all ones (true) or zero

inline Doubles load(const double* p) {
  Doubles v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(double* p, Doubles v) { std::memcpy(p, &v, sizeof v); }
/// a in every lane: a − (+0) is a exactly (−0 included, which a + 0 would turn into +0), and GCC folds it
/// into one broadcast from memory; a loop over the lanes became a load and a permute per call, which
/// halved the Gram kernel's throughput.
inline Doubles broadcast(double a) { return a - Doubles{}; }
/// a·b + c lane by lane, rounded once where the ISA has fused multiply-adds (AVX-512, or AVX2 with
/// FMA), else the product and the sum each rounded: the one operation here that is not the scalar
/// arithmetic, for kernels that choose it.
inline Doubles multiply_add(Doubles a, Doubles b, Doubles c) {
#if defined(__AVX512F__)
  return _mm512_fmadd_pd(a, b, c);
#elif defined(__FMA__) && defined(__AVX__)
  return _mm256_fmadd_pd(a, b, c);
#else
  return a * b + c;
#endif
}
/// |v| for one double, so that a formula templated on double or Doubles reads the same for both.
inline double abs(double v) { return std::fabs(v); }
/// |v| lane by lane (clears the sign bits; a NaN stays a NaN).
inline Doubles abs(Doubles v) {
  Mask bits;
  std::memcpy(&bits, &v, sizeof v);
  bits &= Mask{} + 0x7fffffffffffffffLL;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

}  // namespace ufm::simd
