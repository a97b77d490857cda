#pragma once
/// Eight doubles as one value (GCC's vector extension): one AVX-512 register, two AVX2 ones, or
/// four SSE2 ones, whatever -march the library is built for. For the elementwise passes over θ
/// that GCC does not vectorize by itself (a sum over a run-time number of sources kept in
/// registers, a reduction that tracks NaN). Each lane does exactly the scalar arithmetic (no
/// FMA: the library builds with -ffp-contract=off), so results are the scalar loop's, bit for bit.
#include <cstring>

namespace ufm::simd {

using D8 = double __attribute__((vector_size(64)));
using M8 = long long __attribute__((vector_size(64)));  ///< a lane mask: all ones (true) or zero
inline constexpr int kLanes = 8;

inline D8 load(const double* p) {
  D8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(double* p, D8 v) { std::memcpy(p, &v, sizeof v); }
inline D8 broadcast(double a) { return D8{a, a, a, a, a, a, a, a}; }  // not D8{} + a: −0 + 0 = +0
/// |v| lane by lane (clears the sign bits; a NaN stays a NaN).
inline D8 abs(D8 v) {
  M8 bits;
  std::memcpy(&bits, &v, sizeof v);
  bits &= M8{} + 0x7fffffffffffffffLL;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

}  // namespace ufm::simd
