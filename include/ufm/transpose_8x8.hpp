#pragma once
/// An 8×8 tile of doubles transposed in AVX-512 registers, for the kernels that read 8 columns of
/// a column-major matrix as 8 rows (the transposed logits kernels, gemm's packing).
#if defined(__AVX512F__)
#include <immintrin.h>

#include <type_traits>

namespace ufm {

/// row[j] = (a[0][j], …, a[7][j]) (8 in-lane unpacks, 16 lane-crossing shuffles).
inline __attribute__((always_inline)) void transpose_8x8(const __m512d (&a)[8], __m512d (&row)[8]) {
  // _mask_ forms with a full mask: the unmasked ones trip GCC 12's -Wuninitialized.
  auto lo = [](__m512d x, __m512d y) { return _mm512_mask_unpacklo_pd(x, 0xFF, x, y); };
  auto hi = [](__m512d x, __m512d y) { return _mm512_mask_unpackhi_pd(x, 0xFF, x, y); };
  auto sh = [](__m512d x, __m512d y, auto imm) {
    return _mm512_mask_shuffle_f64x2(x, 0xFF, x, y, decltype(imm)::value);
  };
  using I88 = std::integral_constant<int, 0x88>;
  using IDD = std::integral_constant<int, 0xDD>;
  const __m512d t0 = lo(a[0], a[1]), t1 = hi(a[0], a[1]), t2 = lo(a[2], a[3]), t3 = hi(a[2], a[3]);
  const __m512d t4 = lo(a[4], a[5]), t5 = hi(a[4], a[5]), t6 = lo(a[6], a[7]), t7 = hi(a[6], a[7]);
  const __m512d u0 = sh(t0, t2, I88{}), u1 = sh(t1, t3, I88{}), u2 = sh(t0, t2, IDD{}), u3 = sh(t1, t3, IDD{});
  const __m512d u4 = sh(t4, t6, I88{}), u5 = sh(t5, t7, I88{}), u6 = sh(t4, t6, IDD{}), u7 = sh(t5, t7, IDD{});
  row[0] = sh(u0, u4, I88{});
  row[1] = sh(u1, u5, I88{});
  row[2] = sh(u2, u6, I88{});
  row[3] = sh(u3, u7, I88{});
  row[4] = sh(u0, u4, IDD{});
  row[5] = sh(u1, u5, IDD{});
  row[6] = sh(u2, u6, IDD{});
  row[7] = sh(u3, u7, IDD{});
}

}  // namespace ufm
#endif
