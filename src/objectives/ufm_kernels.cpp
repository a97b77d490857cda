#include "ufm/objectives/detail/ufm_kernels.hpp"

#include <stdexcept>
#include <string>
#include <type_traits>

#include "ufm/dynamics/descent_update.hpp"
#include "ufm/linear_combination.hpp"
#include "ufm/simd.hpp"
#include "ufm/transpose_8x8.hpp"
#include "ufm/with_constant.hpp"
#include "ufm/zmm_tile_asm.hpp"

namespace ufm::detail {
namespace {

// Kernels. Everything is column-major: h_i = H[i·d ..], w_k = Wt[k·d ..] (Wt = Wᵀ, d×K), and the
// logits / residual of a block are class-major, Zt[k·ldz + i]. logits_tile and backward_tile
// vectorize along d with Eigen's packets (any SIMD level); logits_octet (AVX-512, K ≤ 12) and
// logits_quartet (AVX2 with FMA, K ≤ 10) vectorize across 8 or 4 samples; logits_wide_tile (AVX-512,
// K > 24) across 24 classes, a GEMM's register tile.

namespace ei = Eigen::internal;
using Packet = ei::packet_traits<double>::type;

#if defined(EIGEN_VECTORIZE_AVX512)
constexpr int kLogitSamples = 4;  ///< samples per logits tile
#else
// 16 vector registers (AVX2 and narrower): 4 × 5 accumulators spilled to the stack, a load and a store
// per FMA; 2 × 5, the samples and a row of Wt fit (13 registers).
constexpr int kLogitSamples = 2;
#endif
constexpr int kLogitClasses = 5;  ///< classes per logits tile: kLogitSamples × 5 accumulators
constexpr int kBackwardClasses = static_cast<int>(kMaxDescendK);  ///< classes per backward tile: 12 w + 12 accumulators
/// Partial sums of an H-gradient packet over a tile of G classes: 4 with 32 registers and G ≥ 8
/// (AVX-512, K = 10: paper step 202 -> 210 steps/s, medium 9.3k -> 10.1k), else 2 (16 registers:
/// 4 chains spill more, AVX2 paper 187 -> 176; few classes: little latency to hide).
template <int G>
constexpr int backward_chains() {
#if defined(EIGEN_VECTORIZE_AVX512)
  return G >= 8 ? 4 : 2;
#else
  return 2;
#endif
}

/// The sum of C chains in a fixed order, for packets and scalars alike: (c₀ + c₁) + (c₂ + c₃), or c₀ + c₁.
template <int C, class T>
inline T chain_total(const T* c) {
  static_assert(C == 2 || C == 4);
  if constexpr (C == 4) return ei::padd(ei::padd(c[0], c[1]), ei::padd(c[2], c[3]));
  return ei::padd(c[0], c[1]);
}

// The kernels are EIGEN_DONT_INLINE: inlined into their callers (lambdas, dispatch), GCC's
// register allocation of the accumulator tiles degrades (2× slower logits at K = 100).

/// Keeps x in a register: without it GCC folds the loads of a tile's shared operand into every
/// FMA (one load per FMA instead of one per tile row), which makes the kernels load-bound.
inline void in_register([[maybe_unused]] Packet& x) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && defined(EIGEN_VECTORIZE_AVX512)
  __asm__("" : "+v"(x));  // "v": any of the 32 vector registers
#elif defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && defined(EIGEN_VECTORIZE_SSE2)
  __asm__("" : "+x"(x));
#endif
}

/// Hides i's value from the optimizer at this point, so that what is computed from it is computed
/// here instead of hoisted out of the enclosing loop into registers of its own.
inline void opaque([[maybe_unused]] Index& i) {
#if defined(__GNUC__)
  __asm__("" : "+r"(i));
#endif
}

/// out[j] = sum of the lanes of v[j], j < M.
template <int M>
inline void reduce_lanes(const Packet* v, double* out) {
#if defined(EIGEN_VECTORIZE_AVX512)
  // Transposing tree: 8 sums in 21 instructions instead of 8 separate horizontal reductions.
  for (int j0 = 0; j0 < M; j0 += 8) {
    __m512d x[8];
    for (int j = 0; j < 8; ++j) x[j] = j0 + j < M ? v[j0 + j] : _mm512_setzero_pd();
    // The _mask_ forms with a full mask: GCC 12's unmasked ones read an "undefined" register and
    // trip -Wuninitialized.
    auto shuffle = [](__m512d a, __m512d b, auto imm) {
      return _mm512_mask_shuffle_f64x2(a, 0xFF, a, b, decltype(imm)::value);
    };
    using I44 = std::integral_constant<int, 0x44>;
    using IEE = std::integral_constant<int, 0xEE>;
    using I88 = std::integral_constant<int, 0x88>;
    using IDD = std::integral_constant<int, 0xDD>;
    auto halves = [&](__m512d a, __m512d b) {  // [a.lo + a.hi | b.lo + b.hi] (256-bit halves)
      return _mm512_add_pd(shuffle(a, b, I44{}), shuffle(a, b, IEE{}));
    };
    auto quarters = [&](__m512d p, __m512d q) {  // 128-bit lane j: two partial sums of source j
      return _mm512_add_pd(shuffle(p, q, I88{}), shuffle(p, q, IDD{}));
    };
    const __m512d lo = quarters(halves(x[0], x[1]), halves(x[2], x[3]));
    const __m512d hi = quarters(halves(x[4], x[5]), halves(x[6], x[7]));
    alignas(64) double r[8];  // lanes: sums of x0, x4, x1, x5, x2, x6, x3, x7
    _mm512_store_pd(r, _mm512_add_pd(_mm512_mask_unpacklo_pd(lo, 0xFF, lo, hi),  //
                                     _mm512_mask_unpackhi_pd(lo, 0xFF, lo, hi)));
    constexpr int kLane[8] = {0, 2, 4, 6, 1, 3, 5, 7};
    for (int j = 0; j < 8 && j0 + j < M; ++j) out[j0 + j] = r[kLane[j]];
  }
#else
  for (int j = 0; j < M; ++j) out[j] = ei::predux(v[j]);
#endif
}

inline double sum_lanes(const Packet& x) {
  alignas(64) double lanes[kLanes];
  ei::pstore(lanes, x);
  double total = 0.0;
  for (double v : lanes) total += v;
  return total;
}

/// Σ_{s < S} Σ_{r ≥ dv} h_s[r]²: the rows after the last full packet.
inline double squares_from(const double* H, Index d, Index dv, Index S) {
  double total = 0.0;
  for (Index s = 0; s < S; ++s)
    for (Index r = dv; r < d; ++r) total += H[s * d + r] * H[s * d + r];
  return total;
}

/// Zt[k·ldz + s] = b_k + w_kᵀ h_s for S samples and G classes (Wt, Zt, b already offset to the first).
/// kStream (H streams from memory): prefetch the next S columns, and copy the columns into the
/// packed layout pack[(r / kLanes)·ldp + s·kLanes + r % kLanes] on the way (see block_backward).
/// kFirst (first class group): also returns Σ_s ||h_s||².
template <int S, int G, bool kFirst, bool kStream>
EIGEN_DONT_INLINE double logits_tile(Index d, const double* Wt, const double* H, const double* b, double* Zt,
                                     Index ldz, [[maybe_unused]] double* pack, [[maybe_unused]] Index ldp) {
  static_assert(kFirst || !kStream);
  const Index dv = d - d % kLanes;
  Packet acc[S * G];
  for (int j = 0; j < S * G; ++j) acc[j] = ei::pset1<Packet>(0.0);
  Packet sq = ei::pset1<Packet>(0.0);
  for (Index r = 0; r < dv; r += kLanes) {
    Packet x[S];
    for (int s = 0; s < S; ++s) {
      x[s] = ei::ploadu<Packet>(H + s * d + r);
      in_register(x[s]);
      if constexpr (kFirst) sq = ei::pmadd(x[s], x[s], sq);
      if constexpr (kStream) {
        ei::prefetch(H + (s + S) * d + r);
        ei::pstoreu(pack + (r / kLanes) * ldp + s * kLanes, x[s]);
      }
    }
    for (int k = 0; k < G; ++k) {
      Packet w = ei::ploadu<Packet>(Wt + k * d + r);
      in_register(w);
      for (int s = 0; s < S; ++s) acc[s * G + k] = ei::pmadd(w, x[s], acc[s * G + k]);
    }
  }
  double z[S * G];
  reduce_lanes<S * G>(acc, z);
  for (int s = 0; s < S; ++s)
    for (int k = 0; k < G; ++k) {
      double v = z[s * G + k];
      for (Index r = dv; r < d; ++r) v += Wt[k * d + r] * H[s * d + r];
      Zt[k * ldz + s] = b ? v + b[k] : v;
    }
  return kFirst ? sum_lanes(sq) + squares_from(H, d, dv, S) : 0.0;
}

/// The end of a transposed logits tile (logits_octet, logits_quartet) when d has rows after the last
/// full packet: Zt[k·ldz + s] = b_k + z[s] + Σ_{r ≥ dv} W(k, r) h_s[r] for its L samples, z holding
/// class k's lanes (the sums over the rows before dv).
template <int L>
void store_leftover_logits(const double* z, int K, int k, Index d, Index dv, const double* W, const double* H,
                           const double* b, double* Zt, Index ldz) {
  for (int s = 0; s < L; ++s) {
    double v = z[s];
    for (Index r = dv; r < d; ++r) v += W[r * K + k] * H[s * d + r];
    Zt[k * ldz + s] = b ? v + b[k] : v;
  }
}

#if defined(EIGEN_VECTORIZE_AVX512)
constexpr int kTransposedClasses = 12;  ///< K up to this: logits by logits_octet
/// K up to this: block_centred_pair by centred_pair_octet, whose 2K accumulators, 8 rows, a centred row
/// and the two sums of squares fill the 32 registers.
constexpr int kCentredPairClasses = 10;

/// acc[k] += Σ_{j < 8} W(k, r + j) a[·][j] for the 8×8 tile a of 8 samples' rows r … r + 7 (a[s]: sample
/// s): the tile transposed, then a multiply-add per class and row, rows in order. W: K×d column-major.
template <int K>
EIGEN_STRONG_INLINE void add_transposed_rows(const __m512d (&a)[8], const double* W, Index r, __m512d (&acc)[K]) {
  __m512d row[8];
  transpose_8x8(a, row);
  for (int j = 0; j < 8; ++j) {  // row[j]: h_s[r + j] for s = 0..7
    const double* w = W + (r + j) * K;
    for (int k = 0; k < K; ++k) acc[k] = _mm512_fmadd_pd(_mm512_set1_pd(w[k]), row[j], acc[k]);
  }
}

/// Zt[k·ldz + s] = b_k + Σ_r W(k, r) h_s[r] for 8 samples s and all K ≤ 12 classes, vectorized
/// across the samples: each 8×8 tile of the 8 columns is transposed in registers, so the result
/// needs no horizontal reduction (it is stored class-major as it is). W: K×d column-major (theta's
/// own layout). kStream: also write the packed copy (block_backward prefetched the block into L2).
/// Returns Σ_s ||h_s||² (kSquares; else 0, and no multiply-add spent on it).
template <int K, bool kStream, bool kSquares = true>
EIGEN_DONT_INLINE double logits_octet(Index d, const double* W, const double* H, const double* b, double* Zt,
                                      Index ldz, [[maybe_unused]] double* pack, [[maybe_unused]] Index ldp) {
  const Index dv = d - d % 8;
  __m512d acc[K];
  for (int k = 0; k < K; ++k) acc[k] = _mm512_setzero_pd();
  __m512d sq0 = _mm512_setzero_pd(), sq1 = _mm512_setzero_pd();
  for (Index r = 0; r < dv; r += 8) {
    __m512d a[8];
    for (int s = 0; s < 8; ++s) {
      a[s] = _mm512_loadu_pd(H + s * d + r);
      if constexpr (kSquares) {
        if (s % 2 == 0)
          sq0 = _mm512_fmadd_pd(a[s], a[s], sq0);
        else
          sq1 = _mm512_fmadd_pd(a[s], a[s], sq1);
      }
      if constexpr (kStream) _mm512_storeu_pd(pack + (r / 8) * ldp + s * 8, a[s]);
    }
    add_transposed_rows<K>(a, W, r, acc);
  }
  for (int k = 0; k < K; ++k) {
    if (dv == d) {  // no leftover rows: store the 8 logits of class k at once
      _mm512_storeu_pd(Zt + k * ldz, b ? _mm512_add_pd(acc[k], _mm512_set1_pd(b[k])) : acc[k]);
      continue;
    }
    alignas(64) double z[8];
    _mm512_store_pd(z, acc[k]);
    store_leftover_logits<8>(z, K, k, d, dv, W, H, b, Zt, ldz);
  }
  return kSquares ? sum_lanes(_mm512_add_pd(sq0, sq1)) + squares_from(H, d, dv, 8) : 0.0;
}
/// What centred_pair_octet's second product multiplies: nothing, the raw columns (a level's classifier),
/// or the centred ones again (a second level's projections, linear_images.cpp).
enum class SecondProduct { kNone, kRaw, kCentred };

/// Two products of 8 samples in one pass, for a level's metrics and its classifier (d a multiple of 8,
/// no bias): Pt[k·ldz + s] = Σ_r A(k, r) x_s[r] with x_s = h_s − μ, and Zt[k·ldz + s] = Σ_r W(k, r) h_s[r]
/// (kRaw) or Σ_r W(k, r) x_s[r] (kCentred), each logits_octet's sum (r in order from zero); with
/// kKeepCentred, the centred columns x_s into Xc (d each), and Σ_s ‖x_s‖² in logits_octet's order is
/// returned (else 0, and Xc is not touched). Each 8×8 tile is transposed once; its centred rows are
/// formed after the transpose (x_s[r + j] for the 8 samples is h_s[r + j] − μ[r + j], the same
/// subtraction). A, W: K×d column-major. kNone: Pt only (W and Zt unused): the logits came from the
/// objective's own pass.
template <int K, SecondProduct kSecond, bool kKeepCentred>
EIGEN_DONT_INLINE double centred_pair_octet(Index d, const double* A, const double* W, const double* mu,
                                            const double* H, double* Xc, double* Pt, double* Zt, Index ldz) {
  constexpr bool kTwo = kSecond != SecondProduct::kNone;
  __m512d acc_a[K], acc_w[K];
  for (int k = 0; k < K; ++k) acc_a[k] = acc_w[k] = _mm512_setzero_pd();
  __m512d sq0 = _mm512_setzero_pd(), sq1 = _mm512_setzero_pd();
  for (Index r = 0; r < d; r += 8) {
    __m512d a[8];
    for (int s = 0; s < 8; ++s) a[s] = _mm512_loadu_pd(H + s * d + r);
    if constexpr (kKeepCentred) {
      const __m512d m = _mm512_loadu_pd(mu + r);
      for (int s = 0; s < 8; ++s) {
        const __m512d x = _mm512_sub_pd(a[s], m);
        _mm512_storeu_pd(Xc + s * d + r, x);
        if (s % 2 == 0)
          sq0 = _mm512_fmadd_pd(x, x, sq0);
        else
          sq1 = _mm512_fmadd_pd(x, x, sq1);
      }
    }
    __m512d row[8];
    transpose_8x8(a, row);
    for (int j = 0; j < 8; ++j) {  // row[j]: h_s[r + j] for s = 0..7
      const __m512d centred = _mm512_sub_pd(row[j], _mm512_set1_pd(mu[r + j]));
      const double* wa = A + (r + j) * K;
      [[maybe_unused]] const double* ww = kTwo ? W + (r + j) * K : nullptr;
      for (int k = 0; k < K; ++k) {
        acc_a[k] = _mm512_fmadd_pd(_mm512_set1_pd(wa[k]), centred, acc_a[k]);
        if constexpr (kSecond == SecondProduct::kRaw)
          acc_w[k] = _mm512_fmadd_pd(_mm512_set1_pd(ww[k]), row[j], acc_w[k]);
        if constexpr (kSecond == SecondProduct::kCentred)
          acc_w[k] = _mm512_fmadd_pd(_mm512_set1_pd(ww[k]), centred, acc_w[k]);
      }
    }
  }
  for (int k = 0; k < K; ++k) {
    _mm512_storeu_pd(Pt + k * ldz, acc_a[k]);
    if constexpr (kTwo) _mm512_storeu_pd(Zt + k * ldz, acc_w[k]);
  }
  return kKeepCentred ? sum_lanes(_mm512_add_pd(sq0, sq1)) : 0.0;
}

/// logits_octet by its name for block_logits.
template <int K, bool kStream, bool kSquares = true>
double logits_transposed(Index d, const double* W, const double* H, const double* b, double* Zt, Index ldz,
                         double* pack, Index ldp) {
  return logits_octet<K, kStream, kSquares>(d, W, H, b, Zt, ldz, pack, ldp);
}
#elif defined(EIGEN_VECTORIZE_AVX) && defined(EIGEN_VECTORIZE_FMA)
/// K up to this: logits by logits_quartet. Its 16 registers hold K accumulators, the 4 transposed
/// rows, a broadcast and the sum of squares.
constexpr int kTransposedClasses = 10;

/// acc[k] += Σ_{j < 4} W(k, r + j) a[·][j] for the 4×4 tile a of 4 samples' rows r … r + 3 (a[s]: sample
/// s): the tile transposed, then a multiply-add per class and row, rows in order. W: K×d column-major.
template <int K>
EIGEN_STRONG_INLINE void add_transposed_rows(const __m256d (&a)[4], const double* W, Index r, __m256d (&acc)[K]) {
  // t0 = h0[0] h1[0] h0[2] h1[2], t1 the same of rows 1 and 3; t2, t3 those of h2 and h3.
  const __m256d t0 = _mm256_unpacklo_pd(a[0], a[1]), t1 = _mm256_unpackhi_pd(a[0], a[1]);
  const __m256d t2 = _mm256_unpacklo_pd(a[2], a[3]), t3 = _mm256_unpackhi_pd(a[2], a[3]);
  const __m256d row[4] = {_mm256_permute2f128_pd(t0, t2, 0x20), _mm256_permute2f128_pd(t1, t3, 0x20),
                          _mm256_permute2f128_pd(t0, t2, 0x31), _mm256_permute2f128_pd(t1, t3, 0x31)};
  for (int j = 0; j < 4; ++j) {  // row[j]: h_s[r + j] for s = 0..3
    const double* w = W + (r + j) * K;
    for (int k = 0; k < K; ++k) acc[k] = _mm256_fmadd_pd(_mm256_broadcast_sd(w + k), row[j], acc[k]);
  }
}

/// logits_octet for AVX2's 4 lanes: Zt[k·ldz + s] = b_k + Σ_r W(k, r) h_s[r] for 4 samples and K ≤ 10
/// classes, each 4×4 tile of the columns transposed in registers, so each logit is one lane's sum over
/// r in order, as in logits_octet (no horizontal reductions: at d = 64, logits_tile's took a third
/// of its time, and its 4 × 5 accumulators did not fit the 16 registers). Returns Σ_s ||h_s||²
/// (kSquares; else 0, and no multiply-add spent on it: a tenth of the multiply-adds at K = 10).
template <int K, bool kStream, bool kSquares = true>
EIGEN_DONT_INLINE double logits_quartet(Index d, const double* W, const double* H, const double* b, double* Zt,
                                        Index ldz, [[maybe_unused]] double* pack, [[maybe_unused]] Index ldp) {
  const Index dv = d - d % 4;
  __m256d acc[K];
  for (int k = 0; k < K; ++k) acc[k] = _mm256_setzero_pd();
  __m256d sq = _mm256_setzero_pd();
  for (Index r = 0; r < dv; r += 4) {
    __m256d a[4];
    for (int s = 0; s < 4; ++s) {
      a[s] = _mm256_loadu_pd(H + s * d + r);
      if constexpr (kSquares) sq = _mm256_fmadd_pd(a[s], a[s], sq);
      if constexpr (kStream) _mm256_storeu_pd(pack + (r / 4) * ldp + s * 4, a[s]);
    }
    add_transposed_rows<K>(a, W, r, acc);
  }
  for (int k = 0; k < K; ++k) {
    if (dv == d) {  // no leftover rows: store the 4 logits of class k at once
      _mm256_storeu_pd(Zt + k * ldz, b ? _mm256_add_pd(acc[k], _mm256_set1_pd(b[k])) : acc[k]);
      continue;
    }
    alignas(32) double z[4];
    _mm256_store_pd(z, acc[k]);
    store_leftover_logits<4>(z, K, k, d, dv, W, H, b, Zt, ldz);
  }
  return kSquares ? sum_lanes(sq) + squares_from(H, d, dv, 4) : 0.0;
}
/// logits_quartet by its name for block_logits.
template <int K, bool kStream, bool kSquares = true>
double logits_transposed(Index d, const double* W, const double* H, const double* b, double* Zt, Index ldz,
                         double* pack, Index ldp) {
  return logits_quartet<K, kStream, kSquares>(d, W, H, b, Zt, ldz, pack, ldp);
}

#endif

#if defined(EIGEN_VECTORIZE_AVX512) || (defined(EIGEN_VECTORIZE_AVX) && defined(EIGEN_VECTORIZE_FMA))
/// The transposed logits kernel (logits_octet with AVX-512, logits_quartet with AVX2; with its sum of
/// squares, d % kLanes = 0) for `groups` groups of kLanes consecutive samples of a stage point
/// x = Σ_t a_t x_t, each packet of x formed where the kernel loads it (lanes.at: the combination's own
/// arithmetic, bit for bit) and written to out (the samples' columns, d each), for the backward
/// kernel. x starts at entry `begin` of the sources. Returns the groups' sums of squares added in
/// order, as block_logits adds the plain kernel's.
/// One call for all of a block's groups: called per octet, the sources' pointers and coefficients
/// were set up again for each 8 samples, and the small size's RK4 stage got slower than forming the
/// block first (0.655 -> 0.73 µs per evaluation).
/// Lanes = ColumnLanes: a block's own columns (nothing formed, out unused), the plain logits with
/// their squares (kSquares) as logits_transposed computes them, bit for bit, in one call for the block.
/// Called per octet instead, block_logits took 0.505 µs per small-size evaluation against 0.477,
/// and 75 against 68 µs at the medium size (one core, interleaved runs on the Zen 5).
template <int K, class Lanes, bool kSquares = true>
EIGEN_DONT_INLINE double logits_transposed_formed(Index d, const double* W, const Lanes& lanes_in, Index begin,
                                                  Index groups, const double* b, double* Zt, Index ldz, double* out) {
  constexpr int L = static_cast<int>(kLanes);
  // The sum of squares in the plain kernel's chains: even and odd samples for octets, one for quartets.
  constexpr int kSquareChains = L == 8 ? 2 : 1;
  // A local copy of the combination, so that its coefficients and pointers stay in registers: read
  // through the reference they were reloaded from memory after every store of a formed packet.
  const Lanes lanes = lanes_in;
  double total = 0.0;
  for (Index g = 0; g < groups; ++g) {
    Packet acc[K];
    for (int k = 0; k < K; ++k) acc[k] = ei::pset1<Packet>(0.0);
    Packet sq[kSquareChains];
    for (Packet& chain : sq) chain = ei::pset1<Packet>(0.0);
    const Index first = begin + g * L * d;
    double* formed = out + g * L * d;
    for (Index r = 0; r < d; r += L) {
      Packet a[L];
      // Sample s's entries start at r + s·d in each source. With d known, GCC hoists one pointer per
      // sample and source out of this loop: for octets 8 × (terms + 1), more than the 15 registers,
      // spilled to vector registers and moved back for each load. With d opaque here it adds d per
      // sample and reads each source at base + index: `ufm-bench flow`, one core, three interleaved
      // pairs on the Zen 5, RK4 stage / evaluation small 1.19–1.22 → 1.17–1.21, medium 1.28–1.31 →
      // 1.20–1.28, medium dopri5 1.71–1.73 → 1.47–1.70 (small dopri5 unchanged). Quartets keep the
      // hoisted pointers: 4 × (terms + 1) fit better, and the AVX2 build's small RK4 stage was 1–2%
      // slower without them.
      Index column_stride = d;
      if constexpr (L == 8) opaque(column_stride);
      Index at = r;
      for (int s = 0; s < L; ++s, at += column_stride) {
        const simd::Doubles x = lanes.at(first + at);
        if constexpr (Lanes::kForms) simd::store(formed + at, x);
        a[s] = x;
        if constexpr (kSquares) sq[s % kSquareChains] = ei::pmadd(a[s], a[s], sq[s % kSquareChains]);
      }
      add_transposed_rows<K>(a, W, r, acc);
    }
    for (int k = 0; k < K; ++k)
      ei::pstoreu(Zt + g * L + k * ldz, b ? ei::padd(acc[k], ei::pset1<Packet>(b[k])) : acc[k]);
    if constexpr (kSquares) total += sum_lanes(kSquareChains == 2 ? ei::padd(sq[0], sq[kSquareChains - 1]) : sq[0]);
  }
  return total;
}

/// A block's columns as they are, for logits_transposed_formed.
struct ColumnLanes {
  static constexpr bool kForms = false;
  const double* x;
  simd::Doubles at(Index i) const { return simd::load(x + i); }
};
#endif

inline void store(double* p, const Packet& x, bool stream) {
#if defined(EIGEN_VECTORIZE_AVX512)
  if (stream) return _mm512_stream_pd(p, x);
#elif defined(EIGEN_VECTORIZE_AVX)
  if (stream) return _mm256_stream_pd(p, x);
#elif defined(EIGEN_VECTORIZE_SSE2)
  if (stream) return _mm_stream_pd(p, x);
#endif
  ei::pstoreu(p, x);
}

/// Where the backward kernel reads h_i[r .. r + kLanes): X + i·col + (r / kLanes)·tile. Plain
/// column-major H: col = d, tile = kLanes. Packed copy: col = kLanes, tile = nb·kLanes.
struct Columns {
  const double* X;
  Index col, tile;
};

/// For G classes (Wt, Gt, gWt offset to the first) and the nb samples of a block (H: its columns):
///   gH[:, i] = (kFirst ? λ h_i : gH[:, i]) + Σ_k G_ki w_k,   and if kGw: gWt[:, k] += Σ_i G_ki h_i.
/// `stream`: non-temporal stores (gH aligned, d a multiple of the packet size). `next`: when not
/// null, prefetch each of its blocks into L2 along the way (the next block of H, or of each source of
/// a stage point: read next from memory), in address order: iteration (r, i) prefetches the block's
/// packet (r / kLanes)·nb + i, and there are as many iterations as the block has packets (the next
/// block is never longer). Prefetching column by column instead (i·d + r, 4 KiB apart at d = 512) cost a
/// third more per gradient evaluation at the paper size: 32 pages in flight per source.
/// Rows past the last full packet are read from H.
template <int G, bool kFirst, bool kGw, bool kDescend>
EIGEN_DONT_INLINE void backward_tile(Index d, const double* Wt, const double* H, Columns X, Index nb,
                                       const double* Gt, Index ldg, double* gH, double* gWt, double lambda,
                                       double lr, bool stream, const NextBlocks* next) {
  static_assert(!kDescend || kFirst, "a descent step needs every class in one group");
  constexpr int kBackwardChains = backward_chains<G>();
  // From 8 classes on, the block's residual is read sample-major, gs[i·G + k]: one base pointer for
  // a sample's G broadcasts. Read class-major, the G row pointers did not fit x86-64's 16 general
  // registers beside the kernel's own: GCC reloaded them from the stack, 10 extra loads per sample
  // and packet at G = 10. Fewer classes read Gt as it is (the copy would cost a small block more).
  constexpr bool kSampleMajor = G >= 8;
  alignas(64) double gs[kSampleMajor ? kMaxBlockColumns * G : 1];
  if constexpr (kSampleMajor)
    for (Index i = 0; i < nb; ++i)
      for (int k = 0; k < G; ++k) gs[i * G + k] = Gt[k * ldg + i];
  auto residual = [&](Index i, int k) { return kSampleMajor ? gs[i * G + k] : Gt[k * ldg + i]; };
  const Index dv = d - d % kLanes;
  const Packet lam = ei::pset1<Packet>(lambda), plr = ei::pset1<Packet>(lr);
  for (Index r = 0; r < dv; r += kLanes) {
    Packet w[G], acc[G];
    for (int k = 0; k < G; ++k) {
      w[k] = ei::ploadu<Packet>(Wt + k * d + r);
      in_register(w[k]);
      acc[k] = ei::pset1<Packet>(0.0);
    }
    const double* xr = X.X + (r / kLanes) * X.tile;
    Index i = 0;
    // From 8 classes on, two samples at a time: each w_k (read from the stack where the registers do
    // not hold all of them) serves both, and the two samples' chains overlap. The loop below's
    // arithmetic for each sample, acc[k] taking them in order: the same bits. Interleaved, one core,
    // the paper-size GD step, medians of two runs: AVX2 build 174.5 → 183 and 182 → 186 steps/s,
    // AVX-512 317 → 343 and 335 → 357. Written out rather than as one body templated on the sample
    // count, which GCC compiled into a loop slower than the one-sample one (170 against 174.5).
    if constexpr (G >= 8) {
      for (; i + 2 <= nb; i += 2) {
        const Packet x0 = ei::ploadu<Packet>(xr + i * X.col), x1 = ei::ploadu<Packet>(xr + (i + 1) * X.col);
        if (next)
          for (int p = 0; p < next->count; ++p) {
            __builtin_prefetch(next->first[p] + ((r / kLanes) * nb + i) * kLanes, 0, 2);
            __builtin_prefetch(next->first[p] + ((r / kLanes) * nb + i + 1) * kLanes, 0, 2);
          }
        Packet gh0[kBackwardChains], gh1[kBackwardChains];
        gh0[0] = kFirst ? ei::pmul(lam, x0) : ei::ploadu<Packet>(gH + i * d + r);
        gh1[0] = kFirst ? ei::pmul(lam, x1) : ei::ploadu<Packet>(gH + (i + 1) * d + r);
        for (int c = 1; c < kBackwardChains; ++c) gh0[c] = gh1[c] = ei::pset1<Packet>(0.0);
        for (int k = 0; k < G; ++k) {
          const Packet g0 = ei::pset1<Packet>(residual(i, k)), g1 = ei::pset1<Packet>(residual(i + 1, k));
          gh0[k % kBackwardChains] = ei::pmadd(g0, w[k], gh0[k % kBackwardChains]);
          gh1[k % kBackwardChains] = ei::pmadd(g1, w[k], gh1[k % kBackwardChains]);
          if constexpr (kGw) acc[k] = ei::pmadd(g1, x1, ei::pmadd(g0, x0, acc[k]));
        }
        const Packet t0 = chain_total<kBackwardChains>(gh0), t1 = chain_total<kBackwardChains>(gh1);
        store(gH + i * d + r, kDescend ? descended(x0, plr, t0) : t0, stream);
        store(gH + (i + 1) * d + r, kDescend ? descended(x1, plr, t1) : t1, stream);
      }
    }
    for (; i < nb; ++i) {
      const Packet x = ei::ploadu<Packet>(xr + i * X.col);
      if (next)
        for (int p = 0; p < next->count; ++p)
          __builtin_prefetch(next->first[p] + ((r / kLanes) * nb + i) * kLanes, 0, 2);
      // kBackwardChains chains for Σ_k G_ki w_k (k mod chains), so that the FMA latency does not
      // serialize them; the first starts from λ h_i (or the earlier groups' sum).
      Packet gh[kBackwardChains];
      gh[0] = kFirst ? ei::pmul(lam, x) : ei::ploadu<Packet>(gH + i * d + r);
      for (int c = 1; c < kBackwardChains; ++c) gh[c] = ei::pset1<Packet>(0.0);
      for (int k = 0; k < G; ++k) {
        const Packet g = ei::pset1<Packet>(residual(i, k));
        gh[k % kBackwardChains] = ei::pmadd(g, w[k], gh[k % kBackwardChains]);
        if constexpr (kGw) acc[k] = ei::pmadd(g, x, acc[k]);
      }
      const Packet total = chain_total<kBackwardChains>(gh);
      // kDescend: gH is H itself and receives GD's update h − lr·g.
      store(gH + i * d + r, kDescend ? descended(x, plr, total) : total, stream);
    }
    if constexpr (kGw)
      for (int k = 0; k < G; ++k) ei::pstoreu(gWt + k * d + r, ei::padd(ei::ploadu<Packet>(gWt + k * d + r), acc[k]));
  }
  for (Index r = dv; r < d; ++r) {
    double acc[G] = {};
    for (Index i = 0; i < nb; ++i) {
      const double x = H[i * d + r];
      double gh[kBackwardChains] = {kFirst ? lambda * x : gH[i * d + r]};  // the vector loop's order
      for (int k = 0; k < G; ++k) {
        gh[k % kBackwardChains] += residual(i, k) * Wt[k * d + r];
        if constexpr (kGw) acc[k] += residual(i, k) * x;
      }
      const double total = chain_total<kBackwardChains>(gh);
      gH[i * d + r] = kDescend ? descended(x, lr, total) : total;
    }
    if constexpr (kGw)
      for (int k = 0; k < G; ++k) gWt[k * d + r] += acc[k];
  }
}

/// [begin, end) of class group j when K classes are split into `groups` near-equal groups.
Index group_begin(Index K, Index groups, Index j) { return K * j / groups; }

#if defined(EIGEN_VECTORIZE_AVX512)
// The full tile of logits_wide_tile (24 classes × 8 samples) in assembly: from the intrinsics GCC 12
// stored all 24 accumulators to the stack at every row (the step 30% slower than with logits_tile).
// sums[(3j + v)·8 ..] = Σ_r W(k0 + 8v .., r) h_j[r], a chain of multiply-adds from zero in r order:
// acc[v][j] in zmm(3j + v), row r's three vectors of W in zmm24–26 (the third a load under the mask
// `last`: 17–24 classes), h_j[r] broadcast into zmm27/28.
#define UFM_WIDE_COLUMN(HADDR, B, R0, R1, R2)       \
  "vbroadcastsd " HADDR ", %%zmm" #B "\n\t"         \
  "vfmadd231pd %%zmm" #B ", %%zmm24, %%zmm" #R0 "\n\t" \
  "vfmadd231pd %%zmm" #B ", %%zmm25, %%zmm" #R1 "\n\t" \
  "vfmadd231pd %%zmm" #B ", %%zmm26, %%zmm" #R2 "\n\t"
#define UFM_WIDE_ROW(Q, AIDX)                                                                           \
  "vmovupd (%[a]" AIDX "), %%zmm24\n\t"                                                                 \
  "vmovupd 64(%[a]" AIDX "), %%zmm25\n\t"                                                               \
  "vmovupd 128(%[a]" AIDX "), %%zmm26%{%[last]%}%{z%}\n\t"                                             \
  UFM_WIDE_COLUMN(#Q "*8(%[h0])", 27, 0, 1, 2) UFM_WIDE_COLUMN(#Q "*8(%[h0],%[ldh],1)", 28, 3, 4, 5)    \
  UFM_WIDE_COLUMN(#Q "*8(%[h0],%[ldh],2)", 27, 6, 7, 8) UFM_WIDE_COLUMN(#Q "*8(%[h0],%[ldh3],1)", 28, 9, 10, 11) \
  UFM_WIDE_COLUMN(#Q "*8(%[h4])", 27, 12, 13, 14) UFM_WIDE_COLUMN(#Q "*8(%[h4],%[ldh],1)", 28, 15, 16, 17) \
  UFM_WIDE_COLUMN(#Q "*8(%[h4],%[ldh],2)", 27, 18, 19, 20) UFM_WIDE_COLUMN(#Q "*8(%[h4],%[ldh3],1)", 28, 21, 22, 23)

void full_wide_tile(Index d, Index K, const double* W, const double* H, __mmask8 last, double* sums) {
  const double* h4 = H + 4 * d;
  Index lda = K * 8, lda3 = 3 * K * 8, ldh = d * 8, ldh3 = 3 * d * 8;
  Index fours = d / 4, ones = d % 4;
  asm volatile(
      UFM_ZMM_ZERO_0_23
      "test %[fours], %[fours]\n\t"
      "jz 2f\n\t"
      "1:\n\t" UFM_WIDE_ROW(0, "") UFM_WIDE_ROW(1, ",%[lda],1") UFM_WIDE_ROW(2, ",%[lda],2")
      UFM_WIDE_ROW(3, ",%[lda3],1")
      "lea (%[a],%[lda],4), %[a]\n\t"
      "add $32, %[h0]\n\t"
      "add $32, %[h4]\n\t"
      "dec %[fours]\n\t"
      "jnz 1b\n\t"
      "2:\n\t"
      "test %[ones], %[ones]\n\t"
      "jz 4f\n\t"
      "3:\n\t" UFM_WIDE_ROW(0, "")
      "add %[lda], %[a]\n\t"
      "add $8, %[h0]\n\t"
      "add $8, %[h4]\n\t"
      "dec %[ones]\n\t"
      "jnz 3b\n\t"
      "4:\n\t"
      UFM_ZMM_STORE_0_23("%[out]")
      : [a] "+r"(W), [h0] "+r"(H), [h4] "+r"(h4), [fours] "+r"(fours), [ones] "+r"(ones)
      : [out] "r"(sums), [lda] "r"(lda), [lda3] "r"(lda3), [ldh] "r"(ldh), [ldh3] "r"(ldh3), [last] "Yk"(last)
      : UFM_ZMM_CLOBBERS_0_28, "memory", "cc");
}
#undef UFM_WIDE_ROW
#undef UFM_WIDE_COLUMN

/// Logits of up to 8V classes × S samples (S ≤ 8) for many classes (K > kMaxKernelK), the GEMM's way:
/// per row r, V vectors of W's column r (classes k0 … k0 + 8V − 1, contiguous in W's own layout) times
/// each sample's h_i[r] broadcast, so that no lane sum ends a tile. Zt[k·ldz + i] = b_k + Σ_r W(k, r)
/// h_i[r], the sum a chain of multiply-adds from zero in r order. `classes` ≤ 8V (the last vector's
/// lanes past it are masked off and never read). The tiles of 17–24 classes and 8 samples run
/// full_wide_tile; the others the intrinsics, the same multiply-adds in the same order.
template <int V, int S>
EIGEN_DONT_INLINE void logits_wide_tile(Index d, Index K, const double* W, const double* H, Index classes,
                                        const double* b, double* Zt, Index ldz) {
  alignas(64) double sums[S][V][8];  // sums[j][v]: classes 8v … of sample j
  const __mmask8 last = static_cast<__mmask8>((1u << (classes - 8 * (V - 1))) - 1u);  // all ones when full
  if (V == 3 && S == 8) {
    full_wide_tile(d, K, W, H, last, &sums[0][0][0]);
  } else {
    __m512d acc[V][S];
    for (int v = 0; v < V; ++v)
      for (int j = 0; j < S; ++j) acc[v][j] = _mm512_setzero_pd();
    for (Index r = 0; r < d; ++r) {
      __m512d a[V];
      for (int v = 0; v < V; ++v)
        a[v] = v < V - 1 ? _mm512_loadu_pd(W + r * K + 8 * v) : _mm512_maskz_loadu_pd(last, W + r * K + 8 * v);
      for (int j = 0; j < S; ++j) {
        const __m512d hj = _mm512_set1_pd(H[j * d + r]);
        for (int v = 0; v < V; ++v) acc[v][j] = _mm512_fmadd_pd(a[v], hj, acc[v][j]);
      }
    }
    for (int v = 0; v < V; ++v)
      for (int j = 0; j < S; ++j) _mm512_store_pd(sums[j][v], acc[v][j]);
  }
  for (int v = 0; v < V; ++v) {
    const Index k0 = 8 * v, rows = std::min<Index>(8, classes - k0);
    if constexpr (S == 8) {
      if (rows == 8) {  // class k0 + l's 8 logits contiguous in Zt
        __m512d by_sample[8], by_class[8];
        for (int j = 0; j < 8; ++j) by_sample[j] = _mm512_load_pd(sums[j][v]);
        transpose_8x8(by_sample, by_class);
        for (Index l = 0; l < 8; ++l) {
          const __m512d z = b ? _mm512_add_pd(by_class[l], _mm512_set1_pd(b[k0 + l])) : by_class[l];
          _mm512_storeu_pd(Zt + (k0 + l) * ldz, z);
        }
        continue;
      }
    }
    for (Index l = 0; l < rows; ++l)
      for (int j = 0; j < S; ++j) Zt[(k0 + l) * ldz + j] = b ? sums[j][v][l] + b[k0 + l] : sums[j][v][l];
  }
}

/// Σ of the squares of n doubles: kLanes running sums, then their lanes in order (a fixed order).
double sum_of_squares(const double* x, Index n) {
  __m512d acc = _mm512_setzero_pd();
  Index i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m512d v = _mm512_loadu_pd(x + i);
    acc = _mm512_fmadd_pd(v, v, acc);
  }
  double total = sum_lanes(acc);
  for (; i < n; ++i) total += x[i] * x[i];
  return total;
}

/// block_logits for K > kMaxKernelK: tiles of 24 classes × 8 samples (logits_wide_tile), the classes
/// outermost so that a group's columns of W stay in L1 and L2 while the block's samples pass; then
/// Σ_i ||h_i||² in a pass of its own over the block.
double wide_block_logits(Index d, Index K, const double* W, const double* Hb, Index nb, const double* b, double* Zt,
                         Index ldz, bool squares) {
  for (Index k0 = 0; k0 < K; k0 += 24) {
    const Index classes = std::min<Index>(24, K - k0);
    const double* bk = b ? b + k0 : nullptr;
    for (Index i = 0; i < nb; i += 8) {
      double* z = Zt + k0 * ldz + i;
      with_constant<8>(static_cast<int>(std::min<Index>(8, nb - i)), [&]<int S>() {
        if (classes > 16)
          logits_wide_tile<3, S>(d, K, W + k0, Hb + i * d, classes, bk, z, ldz);
        else if (classes > 8)
          logits_wide_tile<2, S>(d, K, W + k0, Hb + i * d, classes, bk, z, ldz);
        else
          logits_wide_tile<1, S>(d, K, W + k0, Hb + i * d, classes, bk, z, ldz);
      });
    }
  }
  return squares ? sum_of_squares(Hb, nb * d) : 0.0;
}
#endif
}  // namespace

/// Logits of a block (class-major, ldz = nb) with the kernels: per group of samples, every class
/// group while those columns are in L1. pack (streaming mode): receives the block's columns in the
/// packed layout of Columns (col = kLanes, tile = nb·kLanes).
/// Returns Σ_i ||h_i||² over the block (accumulated on the way, in a fixed order).
double block_logits(Index d, Index K, const double* W, const double* Wt, const double* Hb, Index nb, const double* b,
                    double* Zt, double* pack, Index ldz, bool squares) {
  if (ldz == 0) ldz = nb;
  const Index groups = (K + kLogitClasses - 1) / kLogitClasses;
  double h_squared = 0.0;
#if defined(EIGEN_VECTORIZE_AVX512) || (defined(EIGEN_VECTORIZE_AVX) && defined(EIGEN_VECTORIZE_FMA))
  if (K <= kTransposedClasses) {  // logits_octet or logits_quartet: kLanes samples at a time
    Index i = 0;
    with_constant<kTransposedClasses>(static_cast<int>(K), [&]<int G>() {
      if (!pack && d % kLanes == 0 && nb >= kLanes) {  // the octets (quartets) in one call
        const ColumnLanes columns{Hb};
        if (squares)
          h_squared = logits_transposed_formed<G, ColumnLanes>(d, W, columns, 0, nb / kLanes, b, Zt, ldz, nullptr);
        else
          logits_transposed_formed<G, ColumnLanes, false>(d, W, columns, 0, nb / kLanes, b, Zt, ldz, nullptr);
        i = nb - nb % kLanes;
      }
      for (; i + kLanes <= nb; i += kLanes) {
        if (pack)
          h_squared += logits_transposed<G, true>(d, W, Hb + i * d, b, Zt + i, ldz, pack + i * kLanes, nb * kLanes);
        else if (squares)
          h_squared += logits_transposed<G, false>(d, W, Hb + i * d, b, Zt + i, ldz, nullptr, 0);
        else
          logits_transposed<G, false, false>(d, W, Hb + i * d, b, Zt + i, ldz, nullptr, 0);
      }
      for (; i < nb; ++i) {
        if (pack)
          h_squared += logits_tile<1, G, true, true>(d, Wt, Hb + i * d, b, Zt + i, ldz, pack + i * kLanes, nb * kLanes);
        else
          h_squared += logits_tile<1, G, true, false>(d, Wt, Hb + i * d, b, Zt + i, ldz, nullptr, 0);
      }
    });
    return squares ? h_squared : 0.0;
  }
#else
  (void)W;
#endif
#if defined(EIGEN_VECTORIZE_AVX512)
  if (K > kMaxKernelK && !pack) return wide_block_logits(d, K, W, Hb, nb, b, Zt, ldz, squares);
#endif
  auto tile = [&]<int S>(Index i, Index j) {
    const Index k0 = group_begin(K, groups, j), g = group_begin(K, groups, j + 1) - k0;
    const double* bk = b ? b + k0 : nullptr;
    with_constant<kLogitClasses>(static_cast<int>(g), [&]<int G>() {
      const double* w = Wt + k0 * d;
      double* z = Zt + k0 * ldz + i;
      if (j > 0)
        logits_tile<S, G, false, false>(d, w, Hb + i * d, bk, z, ldz, nullptr, 0);
      else if (pack)  // the first class group reads the columns from memory
        h_squared += logits_tile<S, G, true, true>(d, w, Hb + i * d, bk, z, ldz, pack + i * kLanes, nb * kLanes);
      else
        h_squared += logits_tile<S, G, true, false>(d, w, Hb + i * d, bk, z, ldz, nullptr, 0);
    });
  };
  auto samples = [&](Index j) {  // every sample of the block against class group j
    Index i = 0;
    for (; i + kLogitSamples <= nb; i += kLogitSamples) tile.template operator()<kLogitSamples>(i, j);
    for (; i < nb; ++i) tile.template operator()<1>(i, j);
  };
  if (groups > 2) {  // many classes: keep a class group's rows of Wt in L1, stream the block from L2
    for (Index j = 0; j < groups; ++j) samples(j);
    return squares ? h_squared : 0.0;
  }
  Index i = 0;  // few classes: keep a few columns in L1, run every class group on them
  for (; i + kLogitSamples <= nb; i += kLogitSamples)
    for (Index j = 0; j < groups; ++j) tile.template operator()<kLogitSamples>(i, j);
  for (; i < nb; ++i)
    for (Index j = 0; j < groups; ++j) tile.template operator()<1>(i, j);
  return squares ? h_squared : 0.0;
}

double block_logits_formed(Index d, Index K, const double* W, const double* Wt, const LinearCombination& stage,
                           Index begin, Index nb, const double* b, double* Zt, double* out) {
  Index i = 0;  // the samples formed by the transposed kernel
  double h_squared = 0.0;
#if defined(EIGEN_VECTORIZE_AVX512) || (defined(EIGEN_VECTORIZE_AVX) && defined(EIGEN_VECTORIZE_FMA))
  static_assert(simd::kLanes == kLanes, "the combination's vectors are the kernels' packets");
  if (K <= kTransposedClasses && d % kLanes == 0 && nb >= kLanes) {
    stage.visit([&]<class Lanes>(const Lanes& lanes) {
      with_constant<kTransposedClasses>(static_cast<int>(K), [&]<int G>() {
        h_squared = logits_transposed_formed<G, Lanes>(d, W, lanes, begin, nb / kLanes, b, Zt, nb, out);
      });
    });
    i = nb - nb % kLanes;
  }
#endif
  if (i == nb) return h_squared;
  stage.form(begin + i * d, begin + nb * d, out + i * d);
  if (i == 0) return block_logits(d, K, W, Wt, out, nb, b, Zt, nullptr);
  // The samples after the octets, one at a time as block_logits takes them after its own: the same
  // logits, and the same sum of squares in the same order.
  for (; i < nb; ++i) h_squared += block_logits(d, K, W, Wt, out + i * d, 1, b, Zt + i, nullptr, nb);
  return h_squared;
}

double block_centred_pair(Index d, Index K, const double* A, const double* At, const double* W, const double* Wt,
                          const double* mu, const double* Hb, Index nb, double* Xc, double* Pt, double* Zt, Index ldz,
                          bool second_centred) {
  double x_squared = 0.0;
  Index i = 0;
#if defined(EIGEN_VECTORIZE_AVX512)
  if (d % 8 == 0 && K <= kCentredPairClasses)
    with_constant<kCentredPairClasses>(static_cast<int>(K), [&]<int G>() {
      for (; i + 8 <= nb; i += 8) {
        const double* H = Hb + i * d;
        double* X = Xc + i * d;
        if (!W)
          x_squared += centred_pair_octet<G, SecondProduct::kNone, true>(d, A, W, mu, H, X, Pt + i, Zt + i, ldz);
        else if (second_centred)
          centred_pair_octet<G, SecondProduct::kCentred, false>(d, A, W, mu, H, nullptr, Pt + i, Zt + i, ldz);
        else
          x_squared += centred_pair_octet<G, SecondProduct::kRaw, true>(d, A, W, mu, H, X, Pt + i, Zt + i, ldz);
      }
    });
#endif
  // The samples left (all of them without the pair kernel): centred, then each product by block_logits,
  // one sample at a time after octets so that ‖x‖² is summed in block_logits' order.
  for (Index j = i; j < nb; ++j)
    for (Index r = 0; r < d; ++r) Xc[j * d + r] = Hb[j * d + r] - mu[r];
  const Index step = i == 0 ? nb : 1;
  for (; i < nb; i += step) {
    x_squared += block_logits(d, K, A, At, Xc + i * d, step, nullptr, Pt + i, nullptr, ldz, !second_centred);
    if (W)
      block_logits(d, K, W, Wt, (second_centred ? Xc : Hb) + i * d, step, nullptr, Zt + i, nullptr, ldz, false);
  }
  return x_squared;
}

/// H-gradient of a block and (if gWt) its W-gradient contribution, with the kernels. packed: the
/// block's columns from block_logits, or null to read Hb. For large H: the packed copy keeps the
/// loads of H off the 4 KiB-aliased addresses of the gH stores (theta and grad are both
/// page-aligned allocations and d·8 is often a multiple of 4096), `stream` writes gH with
/// non-temporal stores, and `next` (the next block of H, or null) is prefetched into L2.
void block_backward(Index d, Index K, const double* Wt, const double* Hb, const double* packed, Index nb,
                    const double* Gt, double* gHb, double* gWt, double lambda, const double* descend_lr, bool stream,
                    const NextBlocks* next) {
  if (nb > kMaxBlockColumns)
    throw std::invalid_argument("block_backward: " + std::to_string(nb) + " columns, at most " +
                                std::to_string(kMaxBlockColumns));
  const Index groups = (K + kBackwardClasses - 1) / kBackwardClasses;
  const Columns X = packed ? Columns{packed, kLanes, nb * kLanes} : Columns{Hb, d, kLanes};
  if (descend_lr) {  // descent step: one class group (K ≤ kMaxDescendK), gHb = Hb updated in place
    const double lr = *descend_lr;
    with_constant<kBackwardClasses>(static_cast<int>(K), [&]<int G>() {
      if (gWt)
        backward_tile<G, true, true, true>(d, Wt, Hb, X, nb, Gt, nb, gHb, gWt, lambda, lr, stream, next);
      else
        backward_tile<G, true, false, true>(d, Wt, Hb, X, nb, Gt, nb, gHb, gWt, lambda, lr, stream, next);
    });
    return;
  }
  for (Index j = 0; j < groups; ++j) {
    const Index k0 = group_begin(K, groups, j), g = group_begin(K, groups, j + 1) - k0;
    const bool first = j == 0, last = j + 1 == groups;
    with_constant<kBackwardClasses>(static_cast<int>(g), [&]<int G>() {
      const double* w = Wt + k0 * d;
      const double* gt = Gt + k0 * nb;
      double* gw = gWt ? gWt + k0 * d : nullptr;
      const bool nt = stream && last;
      const NextBlocks* pf = last ? next : nullptr;
      if (first && gw) backward_tile<G, true, true, false>(d, w, Hb, X, nb, gt, nb, gHb, gw, lambda, 0.0, nt, pf);
      if (first && !gw) backward_tile<G, true, false, false>(d, w, Hb, X, nb, gt, nb, gHb, gw, lambda, 0.0, nt, pf);
      if (!first && gw) backward_tile<G, false, true, false>(d, w, Hb, X, nb, gt, nb, gHb, gw, lambda, 0.0, nt, pf);
      if (!first && !gw) backward_tile<G, false, false, false>(d, w, Hb, X, nb, gt, nb, gHb, gw, lambda, 0.0, nt, pf);
    });
  }
}

namespace {
/// block_gw for G classes: per packet of rows, G accumulators over the block's samples.
template <int G>
EIGEN_DONT_INLINE void gw_tile(Index d, const double* H, Index nb, const double* Gt, Index ldg, double* gWt) {
  alignas(64) double gs[kMaxBlockColumns * G];  // the residual sample-major: one base pointer per sample
  for (Index i = 0; i < nb; ++i)
    for (int k = 0; k < G; ++k) gs[i * G + k] = Gt[k * ldg + i];
  const Index dv = d - d % kLanes;
  for (Index r = 0; r < dv; r += kLanes) {
    Packet acc[G];
    for (int k = 0; k < G; ++k) acc[k] = ei::pset1<Packet>(0.0);
    for (Index i = 0; i < nb; ++i) {
      const Packet x = ei::ploadu<Packet>(H + i * d + r);
      for (int k = 0; k < G; ++k) acc[k] = ei::pmadd(ei::pset1<Packet>(gs[i * G + k]), x, acc[k]);
    }
    for (int k = 0; k < G; ++k) ei::pstoreu(gWt + k * d + r, ei::padd(ei::ploadu<Packet>(gWt + k * d + r), acc[k]));
  }
  for (Index r = dv; r < d; ++r) {
    double acc[G] = {};
    for (Index i = 0; i < nb; ++i)
      for (int k = 0; k < G; ++k) acc[k] += gs[i * G + k] * H[i * d + r];
    for (int k = 0; k < G; ++k) gWt[k * d + r] += acc[k];
  }
}
}  // namespace

void block_gw(Index d, Index K, const double* Hb, Index nb, const double* Gt, Index ldg, double* gWt) {
  if (nb > kMaxBlockColumns || K > kMaxDescendK)
    throw std::invalid_argument("block_gw: " + std::to_string(nb) + " columns and " + std::to_string(K) +
                                " classes, at most " + std::to_string(kMaxBlockColumns) + " and " +
                                std::to_string(kMaxDescendK));
  with_constant<kBackwardClasses>(static_cast<int>(K), [&]<int G>() { gw_tile<G>(d, Hb, nb, Gt, ldg, gWt); });
}

}  // namespace ufm::detail
