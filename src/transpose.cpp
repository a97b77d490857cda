#include "ufm/transpose.hpp"

#include <cstring>

namespace ufm {
namespace {

#if defined(__AVX__)
using Quad = double __attribute__((vector_size(4 * sizeof(double))));
using QuadIndex = long long __attribute__((vector_size(4 * sizeof(long long))));

Quad load4(const double* p) {
  Quad v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
void store4(double* p, Quad v) { std::memcpy(p, &v, sizeof v); }

/// The 4×4 tile of A at (i0, j0) into At: four column loads, two rounds of shuffles, four stores.
void transpose_tile(const double* A, Index rows, Index cols, Index i0, Index j0, double* At) {
  const Quad a = load4(A + i0 + j0 * rows), b = load4(A + i0 + (j0 + 1) * rows);
  const Quad c = load4(A + i0 + (j0 + 2) * rows), d = load4(A + i0 + (j0 + 3) * rows);
  constexpr QuadIndex kEven{0, 4, 2, 6}, kOdd{1, 5, 3, 7}, kLow{0, 1, 4, 5}, kHigh{2, 3, 6, 7};
  // a0 b0 a2 b2 and a1 b1 a3 b3, then rows: a0 b0 c0 d0, a1 b1 c1 d1, a2 b2 c2 d2, a3 b3 c3 d3
  const Quad ab_even = __builtin_shuffle(a, b, kEven), ab_odd = __builtin_shuffle(a, b, kOdd);
  const Quad cd_even = __builtin_shuffle(c, d, kEven), cd_odd = __builtin_shuffle(c, d, kOdd);
  store4(At + j0 + i0 * cols, __builtin_shuffle(ab_even, cd_even, kLow));
  store4(At + j0 + (i0 + 1) * cols, __builtin_shuffle(ab_odd, cd_odd, kLow));
  store4(At + j0 + (i0 + 2) * cols, __builtin_shuffle(ab_even, cd_even, kHigh));
  store4(At + j0 + (i0 + 3) * cols, __builtin_shuffle(ab_odd, cd_odd, kHigh));
}
#endif

}  // namespace

void transpose(const double* A, Index rows, Index cols, double* At) {
  Index i0 = 0;
#if defined(__AVX__)
  for (; i0 + 4 <= rows; i0 += 4) {
    Index j0 = 0;
    for (; j0 + 4 <= cols; j0 += 4) transpose_tile(A, rows, cols, i0, j0, At);
    for (; j0 < cols; ++j0)
      for (Index i = i0; i < i0 + 4; ++i) At[j0 + i * cols] = A[i + j0 * rows];
  }
#endif
  for (; i0 < rows; ++i0)
    for (Index j = 0; j < cols; ++j) At[j + i0 * cols] = A[i0 + j * rows];
}

}  // namespace ufm
