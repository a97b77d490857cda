#pragma once
/// A packet exp for softmax arguments (z − max z ≤ 0), used by loss.cpp.
#include "ufm/linalg.hpp"

namespace ufm::detail {

/// exp(x) for x <= 0 (softmax arguments z − max z), without a division: x = k ln2 + r with
/// |r| <= ln2/2 (Cody–Waite), exp(r) by its Taylor polynomial of degree 13 (truncation < 2e-16
/// relative), times 2^k. Within 1 ulp of std::exp (0.05 on average); 0 below −745; NaN stays NaN.
inline Eigen::internal::packet_traits<double>::type exp_nonpositive(Eigen::internal::packet_traits<double>::type x) {
  namespace ei = Eigen::internal;
  using Packet = ei::packet_traits<double>::type;
  const Packet lo = ei::pset1<Packet>(-745.2);
  const Packet xc = ei::pmax(x, lo);  // NaN-propagating max: pmax(a, b) returns b (= x) if x is NaN
  const Packet k = ei::pfloor(ei::pmadd(xc, ei::pset1<Packet>(1.4426950408889634), ei::pset1<Packet>(0.5)));
  Packet r = ei::pmadd(k, ei::pset1<Packet>(-0.693145751953125), xc);  // ln2 = C1 + C2, C1 exact in 21 bits
  r = ei::pmadd(k, ei::pset1<Packet>(-1.4286068203094172321e-6), r);
  constexpr double kInvFactorial[14] = {1.0,
                                        1.0,
                                        1.0 / 2,
                                        1.0 / 6,
                                        1.0 / 24,
                                        1.0 / 120,
                                        1.0 / 720,
                                        1.0 / 5040,
                                        1.0 / 40320,
                                        1.0 / 362880,
                                        1.0 / 3628800,
                                        1.0 / 39916800,
                                        1.0 / 479001600,
                                        1.0 / 6227020800.0};
  // The terms from r⁴ on by Estrin's scheme (pairs c_j + c_{j+1} r, then pairs of those with r², r⁴,
  // r⁸: four multiply-adds deep), the first four by Horner's rule, whose last steps set the rounding:
  // eight multiply-adds deep instead of thirteen, so several exps of a packet overlap instead of
  // each filling the scheduler with one long chain (the softmax of 256 samples at K = 10 on the Zen 5:
  // 1,975 against 1,883 ns). Its errors, against std::exp and a long double exp over 6 million
  // arguments, have the same distribution as Horner's (at most 0.87 ulp from the true value).
  auto c = [&](int j) { return ei::pset1<Packet>(kInvFactorial[j]); };
  const Packet r2 = ei::pmul(r, r), r4 = ei::pmul(r2, r2), r8 = ei::pmul(r4, r4);
  Packet q[5];
  for (int j = 0; j < 5; ++j) q[j] = ei::pmadd(c(2 * j + 5), r, c(2 * j + 4));  // c4 + c5 r, …, c12 + c13 r
  const Packet s0 = ei::pmadd(q[1], r2, q[0]), s1 = ei::pmadd(q[3], r2, q[2]);
  const Packet high = ei::pmadd(q[4], r8, ei::pmadd(s1, r4, s0));  // Σ_{j≥4} c_j r^{j−4}
  Packet p = high;
  for (int j = 3; j >= 0; --j) p = ei::pmadd(p, r, c(j));
#if defined(EIGEN_VECTORIZE_AVX512)
  return _mm512_scalef_pd(p, k);  // p·2^k in one instruction (ei::pldexp takes ~20)
#elif defined(EIGEN_VECTORIZE_AVX2)
  // p·2^k for k in [−1075, 0] in 8 instructions (ei::pldexp's general splitting built 2^k in 128-bit
  // halves, half of this function's time on AVX2): 2^k2 first, k2 = k − k1 in [−53, 0], which keeps
  // p·2^k2 normal and exact, then 2^k1, k1 = max(k, −1022): the one rounding of p·2^k. Each power of
  // two is e + 1023 written into the exponent bits: e + (1.5·2^52 + 1023) holds e + 1023 in its low
  // bits. A NaN x gives a NaN p, and p times either power stays NaN.
  const Packet k1 = ei::pmax(k, ei::pset1<Packet>(-1022.0));
  const Packet k2 = ei::psub(k, k1);
  auto power_of_two = [](Packet e) {  // 2^e for an integral e in [−1022, 0]
    const Packet biased = _mm256_add_pd(e, _mm256_set1_pd(0x1.8p52 + 1023.0));
    return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(biased), 52));
  };
  return ei::pmul(ei::pmul(p, power_of_two(k2)), power_of_two(k1));
#else
  return ei::pldexp(p, k);
#endif
}

}  // namespace ufm::detail
