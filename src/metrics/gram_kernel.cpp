#include "ufm/metrics/gram_kernel.hpp"

#include <algorithm>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "ufm/gemm.hpp"
#include "ufm/parallel.hpp"
#include "ufm/simd.hpp"

namespace ufm {
namespace {

using simd::Doubles;
using simd::kLanes;

// Tiles of 8 rows (one vector with AVX-512, two with AVX2) by 16 or 4 columns, each column's value
// broadcast once per sample. AVX-512: 8×16, 16 accumulators of the 32 registers, each broadcast
// folded into its multiply's memory operand ({1to8}); a broadcast of its own, shared by two row
// vectors (16×8 tiles), took a slot of the floating-point pipes on the Zen 4: 39 against 55 GFLOP/s
// of its 58 peak in one tile. On the Zen 5 (full-width AVX-512) the shared broadcast is the faster
// one: 16×12 tiles (24 accumulators), GramTiles::kRowsOf16. Where a row block needs only 8 more
// columns, a tile 8 columns wide. AVX2: 8×4, 8 accumulators of the 16 registers, each broadcast a
// load shared by the two row vectors, and each product added by an FMA: AVX2 has no broadcast
// operand, so its broadcasts take pipe slots of their own, and fused multiply-adds leave them the two
// adder pipes (the AVX2 checkpoint 406 → 391 µs on the Zen 4, interleaved minima; 12×4 tiles were
// slower, 411).
constexpr Index kTileRows = 8;
/// With AVX2, d up to this runs the tiles. Above, dsyrk (the checkpoint at N = 1,000, Zen 4, AVX2
/// build: tiles 410 against dsyrk's 500 µs at d = 64, or 415 against 424 with OpenBLAS's Haswell
/// kernels; equal at d = 128; slower from 256, where the 4-column tiles pass over the block 4 times as
/// often as AVX-512's 16-column ones).
constexpr Index kAvx2TilesUpTo = 64;
/// A tile shape: kRowVectors vectors of rows by kWideCols columns, kNarrowCols where fewer are needed.
template <int kRows, Index kWide, Index kNarrow>
struct Shape {
  static constexpr int kRowVectors = kRows / kLanes;
  static constexpr Index kTileRows = kRows;
  static constexpr Index kWideCols = kWide;
  static constexpr Index kNarrowCols = kNarrow;
};
using RowsOf8 = Shape<kTileRows, kLanes == 8 ? 16 : 4, kLanes == 8 ? 8 : 4>;
using RowsOf16 = Shape<16, 12, 8>;  // AVX-512 only

/// acc + a·b: rounded once (an FMA) if kFused or in the AVX2 tiles (kGramFusedMultiplyAdd), else the
/// product and the sum each rounded.
template <bool kFused>
inline Doubles multiply_add(Doubles a, Doubles b, Doubles acc) {
  if constexpr (kFused || kGramFusedMultiplyAdd) return simd::multiply_add(a, b, acc);
  return acc + a * b;  // without FMA no tile fuses (the tiles need AVX2 and FMA)
}

/// Rows of a packed panel (panel_tile).
constexpr Index kPanelRows = 16;

/// A tile's sums added to G: the entries with row ≥ column, row ≥ row_min and column ≥ col_min (a
/// tile shifted back to end at d overlaps its neighbour, whose entries it leaves alone).
template <int kRowVectors, int kCols>
void add_tile(const Doubles (&acc)[kRowVectors][kCols], Index r0, Index c0, Index row_min, Index col_min,
              double* G, Index ldg) {
  for (int j = 0; j < kCols; ++j)
    for (int v = 0; v < kRowVectors; ++v) {
      const Index rv = r0 + v * kLanes;  // this vector's first row
      double* g = G + (c0 + j) * ldg + rv;
      if (c0 + kCols <= rv && row_min <= rv && col_min <= c0) {  // below the diagonal, no overlap
        simd::store(g, simd::load(g) + acc[v][j]);
        continue;
      }
      for (int l = 0; l < kLanes; ++l)
        if (const Index r = rv + l; r >= c0 + j && r >= row_min && c0 + j >= col_min) g[l] += acc[v][j][l];
    }
}

/// Rows r0..r0+kRowVectors·kLanes against columns c0..c0+kCols of the Gram, summed over the n samples,
/// then added to G: the entries with row ≥ column, row ≥ row_min and column ≥ col_min (a tile shifted
/// back to end at d overlaps its neighbour, whose entries it leaves alone). Every entry is the same sum
/// in the same order whatever the tile's shape.
template <int kRowVectors, int kCols, bool kFused>
void tile(const double* X, Index ldx, Index n, Index r0, Index c0, Index row_min, Index col_min, double* G,
          Index ldg) {
  Doubles acc[kRowVectors][kCols] = {};
  for (Index i = 0; i < n; ++i) {
    const double* x = X + i * ldx;
    Doubles rows[kRowVectors];
    for (int v = 0; v < kRowVectors; ++v) rows[v] = simd::load(x + r0 + v * kLanes);
    for (int j = 0; j < kCols; ++j) {
      const Doubles column = simd::broadcast(x[c0 + j]);
      for (int v = 0; v < kRowVectors; ++v) acc[v][j] = multiply_add<kFused>(rows[v], column, acc[v][j]);
    }
  }
  add_tile(acc, r0, c0, row_min, col_min, G, ldg);
}

/// tile() on a block packed in panels of kPanelRows rows (pack_panels): sample i's rows p·kPanelRows …
/// of panel p at P + (p·n + i)·kPanelRows, so that each operand streams through memory in order (a
/// column-major block of d = 512 puts each sample's rows 4 KiB after the last one's). r0 is a multiple
/// of kLanes and rows r0 … r0 + kRowVectors·kLanes − 1 lie in one panel: the same sums in the same order.
template <int kRowVectors, int kCols, bool kFused>
void panel_tile(const double* P, Index n, Index r0, Index c0, Index row_min, Index col_min, double* G, Index ldg) {
  Doubles acc[kRowVectors][kCols] = {};
  const double* rows_at = P + (r0 / kPanelRows) * n * kPanelRows + r0 % kPanelRows;
  const double* columns_at[kCols];
  for (int j = 0; j < kCols; ++j) {
    const Index c = c0 + j;
    columns_at[j] = P + (c / kPanelRows) * n * kPanelRows + c % kPanelRows;
  }
  for (Index i = 0; i < n; ++i) {
    const Index at = i * kPanelRows;
    Doubles rows[kRowVectors];
    for (int v = 0; v < kRowVectors; ++v) rows[v] = simd::load(rows_at + at + v * kLanes);
    for (int j = 0; j < kCols; ++j) {
      const Doubles column = simd::broadcast(columns_at[j][at]);
      for (int v = 0; v < kRowVectors; ++v) acc[v][j] = multiply_add<kFused>(rows[v], column, acc[v][j]);
    }
  }
  add_tile(acc, r0, c0, row_min, col_min, G, ldg);
}

/// tile() on X column-major (leading dimension ldx), or panel_tile() on X packed (kPanels).
template <int kRowVectors, int kCols, bool kFused, bool kPanels>
void any_tile(const double* X, Index ldx, Index n, Index r0, Index c0, Index row_min, Index col_min, double* G,
              Index ldg) {
  if constexpr (kPanels)
    panel_tile<kRowVectors, kCols, kFused>(X, n, r0, c0, row_min, col_min, G, ldg);
  else
    tile<kRowVectors, kCols, kFused>(X, ldx, n, r0, c0, row_min, col_min, G, ldg);
}

/// Two one-vector diagonal tiles in one pass: rows ra.. against columns ra.. and rows rb.. against
/// columns rb.. (kLanes each), the entries on and below the diagonal added to G. Its 2·kLanes
/// accumulators keep the FMA pipes as busy as a two-vector tile's, and each entry is the same sum in
/// the same order as in any other tile.
void diagonal_pair(const double* X, Index ldx, Index n, Index ra, Index rb, double* G, Index ldg) {
  const Index r0[2] = {ra, rb};
  Doubles acc[2][kLanes] = {};
  for (Index i = 0; i < n; ++i) {
    const double* x = X + i * ldx;
    const Doubles rows[2] = {simd::load(x + ra), simd::load(x + rb)};
    for (int j = 0; j < kLanes; ++j)
      for (int v = 0; v < 2; ++v) {
        const Doubles column = simd::broadcast(x[r0[v] + j]);
        acc[v][j] = multiply_add<false>(rows[v], column, acc[v][j]);  // AVX2 only: fused there
      }
  }
  for (int v = 0; v < 2; ++v)
    for (int j = 0; j < kLanes; ++j)
      for (int l = j; l < kLanes; ++l) G[(r0[v] + j) * ldg + r0[v] + l] += acc[v][j][l];
}

/// A Gram product of at least this many multiply-adds (d²n) shares its row blocks among the threads:
/// 0.2 ms or more of work per call, against a few µs to start and join them.
constexpr double kParallelGram = 1e7;

/// block(start) for the row blocks start = 0, rows, 2·rows, … < d, the largest (last) first; on the
/// OpenMP threads for a product of kParallelGram multiply-adds or more, outside any parallel region.
/// Each block writes its own entries of G (rows start … start + rows − 1; a block shifted back to end
/// at d writes no row of the one before), each the same sum whichever thread computes it: the bits do
/// not depend on the thread count.
template <class Block>
void for_each_row_block(Index d, Index rows, Index n, Block&& block) {
  const Index blocks = (d + rows - 1) / rows;
  const bool parallel = static_cast<double>(d) * static_cast<double>(d) * static_cast<double>(n) >= kParallelGram;
  for_each_chunk(blocks, parallel, [&](Index c) { block((blocks - 1 - c) * rows); });
}

/// The 8-row tiles over the lower triangle.
template <bool kFused>
void eight_row_gram_lower(const double* X, Index ldx, Index d, Index n, double* G, Index ldg) {
  using S = RowsOf8;
  // With AVX2 (two 4-lane row vectors per tile) and d a multiple of 8, the last 4 columns of a block's
  // diagonal 8×8 are needed by its bottom 4 rows only: an 8×4 tile there computed 32 entries for
  // 10. Two neighbouring blocks' such corners go in one diagonal_pair instead (the AVX2 Gram at d = 64
  // computes 2,176 entries instead of 2,304 for the 2,080 of the lower triangle).
  const bool pair_corners = kLanes == 4 && S::kTileRows == 2 * kLanes && d % S::kTileRows == 0;
  const Index blocks = d / S::kTileRows;
  // Row blocks of S::kTileRows; the last one, if d is not a multiple, shifted back to end at row d.
  // Each block's column tiles up to its last row: S::kWideCols columns, or S::kNarrowCols where no more
  // are needed (or d < S::kWideCols); a tile that would pass column d shifted back to end there.
  for_each_row_block(d, S::kTileRows, n, [&](Index start) {
    const Index r0 = std::min(start, d - S::kTileRows);
    const Index block = start / S::kTileRows;
    const bool paired = pair_corners && (block ^ 1) < blocks;  // its partner: the block beside it
    const Index last_col = paired ? start + kLanes : std::min(start + S::kTileRows, d);  // columns below it are needed
    if (paired && block % 2 == 1)
      diagonal_pair(X, ldx, n, start - S::kTileRows + kLanes, start + kLanes, G, ldg);
    for (Index c = 0; c < last_col;) {
      if (last_col - c > S::kNarrowCols && d >= S::kWideCols) {
        tile<S::kRowVectors, S::kWideCols, kFused>(X, ldx, n, r0, std::min(c, d - S::kWideCols), start, c, G, ldg);
        c += S::kWideCols;
      } else {
        tile<S::kRowVectors, S::kNarrowCols, kFused>(X, ldx, n, r0, std::min(c, d - S::kNarrowCols), start, c, G,
                                                     ldg);
        c += S::kNarrowCols;
      }
    }
  });
}

/// The 16-row tiles over the lower triangle (d ≥ 16). A block of 16 rows r0.. takes its columns
/// [0, r0 + 8) in 16-row tiles, which its top 8 rows need all of, and the 8 columns after them, which
/// only its bottom 8 rows need, in one 8×8 tile: a 16-row tile there would compute its top rows'
/// half for nothing (at d = 64, 2,304 entries against 2,688 for 2,080 needed).
template <bool kFused, bool kPanels>
void sixteen_row_gram_lower(const double* X, Index ldx, Index d, Index n, double* G, Index ldg) {
  using S = RowsOf16;
  constexpr Index kHalf = S::kTileRows / 2;
  for_each_row_block(d, S::kTileRows, n, [&](Index start) {
    const Index r0 = std::min(start, d - S::kTileRows);  // the last block shifted back to end at row d
    const Index end = r0 + kHalf;                         // the columns both halves need
    for (Index c = 0; c < end;) {
      // Wide tiles, but two narrow ones for the last 16 columns and a narrow one for 8 or fewer; a
      // tile that would pass `end` is shifted back to end there.
      const Index left = end - c;
      if (left > S::kNarrowCols && left != 2 * S::kNarrowCols && end >= S::kWideCols) {
        any_tile<S::kRowVectors, S::kWideCols, kFused, kPanels>(X, ldx, n, r0, std::min(c, end - S::kWideCols),
                                                                start, c, G, ldg);
        c += S::kWideCols;
      } else {
        any_tile<S::kRowVectors, S::kNarrowCols, kFused, kPanels>(X, ldx, n, r0, std::min(c, end - S::kNarrowCols),
                                                                  start, c, G, ldg);
        c += S::kNarrowCols;
      }
    }
    any_tile<S::kRowVectors / 2, kHalf, kFused, kPanels>(X, ldx, n, end, end, start, end, G, ldg);
  });
}

/// d from which the 16-row tiles read a packed copy of the block (pack_panels). Blocks of 64 samples,
/// the Xeon, one core, ms per 10,000 samples: d = 512 46.7 → 43.6, 768 116 → 100, 1,024 237 → 185
/// (where a column is a multiple of 4 KiB, its samples' rows alias in the L1); d = 128 to 384 within
/// 0–8% slower (the copy, against blocks the L1 and L2 already serve in order).
constexpr Index kPanelsFrom = 512;
/// Entries of the largest block packed (2 MiB): the class scatters' and the checkpoints' blocks of 64 to
/// 256 samples; a whole matrix of samples (a weight's Gram, a level's in one call) is read where it is.
constexpr Index kPanelsAtMost = Index{1} << 18;

/// X (d×n, leading dimension ldx) copied into panels of kWidth rows (a multiple of kLanes): panel q
/// holds, sample after sample, rows q·kWidth … q·kWidth + kWidth − 1 (zeros past d), at
/// out + (q·n + i)·kWidth. A vector at a time: a copy call per sample and panel cost the Gram on
/// the GEMM's tile 10% at d = 512.
template <Index kWidth>
void pack_row_panels(const double* X, Index ldx, Index d, Index n, double* out) {
  for (Index r0 = 0; r0 < d; r0 += kWidth) {
    const Index rows = std::min(kWidth, d - r0);
    double* panel = out + r0 * n;
    for (Index i = 0; i < n; ++i) {
      const double* x = X + i * ldx + r0;
      double* to = panel + i * kWidth;
      if (rows == kWidth) {
        for (Index v = 0; v < kWidth; v += kLanes) simd::store(to + v, simd::load(x + v));
      } else {
        std::copy_n(x, rows, to);
        std::fill_n(to + rows, kWidth - rows, 0.0);
      }
    }
  }
}

/// X (d×n, leading dimension ldx; d a multiple of kPanelRows) copied into panels of kPanelRows rows,
/// panel_tile's layout, in a buffer of the calling thread's that grows and is kept.
const double* pack_panels(const double* X, Index ldx, Index d, Index n) {
  thread_local Vec buffer;  // Eigen's alignment: whole cache lines per panel row
  if (buffer.size() < d * n) buffer.resize(d * n);
  pack_row_panels<kPanelRows>(X, ldx, d, n, buffer.data());
  return buffer.data();
}

#if defined(__AVX512F__)
/// d from which the fused (Intel) Gram runs gemm's 24×8 register tile on the block packed as gemm
/// packs its operands (gemm_tile_gram_lower). The Xeon, one core, blocks of 36 to 256 samples, GFLOP/s
/// against the 16×12 tiles: d = 256 53–66 against 51–58, 384 62–72 against 53–58, 512 58–69 against
/// 50–65, 768 58–72 against 50–64; at d = 128 slower (43–51 against 56–64: a 24-row panel of 128 rows'
/// diagonal tiles compute their upper parts for nothing).
constexpr Index kGemmTilesFrom = 256;
/// Entries of the largest block gemm_tile_gram_lower packs (twice: as row panels and column panels).
constexpr Index kGemmTilesAtMost = Index{1} << 18;

/// The lower triangle by gemm's register tile (gemm_tile: fused multiply-adds from zero over the
/// samples in order, then added to G, as the fused 16×12 tiles do: the same bits). X is copied once
/// into panels of 24 rows (the tile's a: per sample its 24 rows, zeros past d) and panels of 8 rows
/// (its b); every tile of 24 rows by 8 columns that holds an entry of the lower triangle is one call.
/// The 16×12 tile from the intrinsics ran at about half the FMA peak at d = 512 (GCC keeps three of
/// its twelve column pointers on the stack); the 24×8 one runs at 90–95 GFLOP/s on operands in cache,
/// and what it loses here is the copy and adding each tile to G.
void gemm_tile_gram_lower(const double* X, Index ldx, Index d, Index n, double* G, Index ldg) {
  const Index row_panels = (d + kGemmTileRows - 1) / kGemmTileRows;
  const Index col_panels = (d + kGemmTileCols - 1) / kGemmTileCols;
  thread_local Vec rows_buffer, cols_buffer;  // 64-byte aligned (Eigen's alignment with AVX-512)
  if (rows_buffer.size() < row_panels * kGemmTileRows * n) rows_buffer.resize(row_panels * kGemmTileRows * n);
  if (cols_buffer.size() < col_panels * kGemmTileCols * n) cols_buffer.resize(col_panels * kGemmTileCols * n);
  double* A = rows_buffer.data();
  double* B = cols_buffer.data();
  pack_row_panels<kGemmTileRows>(X, ldx, d, n, A);
  pack_row_panels<kGemmTileCols>(X, ldx, d, n, B);
  const bool parallel = static_cast<double>(d) * static_cast<double>(d) * static_cast<double>(n) >= kParallelGram;
  // Column panels outermost, as gemm's loop nest has them: a column panel (8 × n) stays in L1 while
  // the row panels from its diagonal down pass, and G is written down its 8 columns in address order.
  for_each_chunk(col_panels, parallel, [&](Index t) {  // the longest (t = 0) first
    const Index c0 = t * kGemmTileCols, cols = std::min(kGemmTileCols, d - c0);
    alignas(64) double sums[kGemmTileRows * kGemmTileCols];  // sums[(3j + v)·8 + l]: row r0 + 8v + l, column j
    for (Index q = c0 / kGemmTileRows; q < row_panels; ++q) {  // the row panels that reach the diagonal or below
      const Index r0 = q * kGemmTileRows, rows = std::min(kGemmTileRows, d - r0);
      gemm_tile(n, A + r0 * n, B + c0 * n, sums);
      if (c0 + kGemmTileCols <= r0 && rows == kGemmTileRows && cols == kGemmTileCols) {  // wholly below the diagonal
        for (Index j = 0; j < kGemmTileCols; ++j)
          for (Index v = 0; v < 3; ++v) {
            double* g = G + (c0 + j) * ldg + r0 + v * 8;
            simd::store(g, simd::load(g) + simd::load(sums + (3 * j + v) * 8));
          }
        continue;
      }
      for (Index j = 0; j < cols; ++j)
        for (Index i = std::max<Index>(0, c0 + j - r0); i < rows; ++i)  // r0 + i ≥ c0 + j
          G[(c0 + j) * ldg + r0 + i] += sums[(3 * j + i / 8) * 8 + i % 8];
    }
  });
}
#endif

}  // namespace

GramTiles preferred_gram_tiles() {
  static const GramTiles tiles = [] {
#if defined(__x86_64__)
    unsigned a = 0, b = 0, c = 0, dx = 0;
    const bool vendor = __get_cpuid(0, &a, &b, &c, &dx);
    if (vendor && b == 0x756e6547) return GramTiles::kRowsOf16Fused;  // "Genu" of GenuineIntel
    const bool amd = vendor && b == 0x68747541;                        // "Auth" of AuthenticAMD
    if (amd && __get_cpuid(1, &a, &b, &c, &dx)) {
      const unsigned family = ((a >> 8) & 0xF) + ((a >> 20) & 0xFF);  // base + extended family
      if (family == 25) return GramTiles::kRowsOf8;                    // Zen 3 (no AVX-512) and Zen 4
      if (family == 26) return GramTiles::kRowsOf16FusedPanels;        // Zen 5
    }
#endif
    return GramTiles::kRowsOf16;
  }();
  return tiles;
}

bool gram_fuses_multiply_add(GramTiles tiles) {
  return kGramFusedMultiplyAdd ||
         (kLanes == 8 && (tiles == GramTiles::kRowsOf16Fused || tiles == GramTiles::kRowsOf16FusedPanels));
}

void add_gram_lower(const double* X, Index ldx, Index d, Index n, double* G, Index ldg) {
  add_gram_lower(X, ldx, d, n, G, ldg, preferred_gram_tiles());
}

void add_gram_lower(const double* X, Index ldx, Index d, Index n, double* G, Index ldg, GramTiles tiles) {
  if (kLanes < 4 || d < kTileRows || (kLanes == 4 && d > kAvx2TilesUpTo)) {
    // Without AVX (two lanes), AVX2 above kAvx2TilesUpTo, and too few rows for one tile: a symmetric
    // rank update, which Eigen hands to the BLAS's dsyrk.
    using Strided = Eigen::OuterStride<>;
    Eigen::Map<Mat, 0, Strided> Gm(G, d, d, Strided(ldg));
    Gm.selfadjointView<Eigen::Lower>().rankUpdate(Eigen::Map<const Mat, 0, Strided>(X, d, n, Strided(ldx)));
    return;
  }
  if constexpr (kLanes == 8)
    if (tiles != GramTiles::kRowsOf8 && d >= RowsOf16::kTileRows) {
      const bool fused = gram_fuses_multiply_add(tiles);
      const bool panels = d % kPanelRows == 0 && d >= kPanelsFrom && d * n <= kPanelsAtMost;
#if defined(__AVX512F__)
      const bool gemm_tiles = fused && (tiles == GramTiles::kRowsOf16Fused || !panels);
      if (gemm_tiles && d >= kGemmTilesFrom && d * n <= kGemmTilesAtMost)
        return gemm_tile_gram_lower(X, ldx, d, n, G, ldg);
#endif
      if (panels) {
        const double* P = pack_panels(X, ldx, d, n);
        return fused ? sixteen_row_gram_lower<true, true>(P, 0, d, n, G, ldg)
                     : sixteen_row_gram_lower<false, true>(P, 0, d, n, G, ldg);
      }
      return fused ? sixteen_row_gram_lower<true, false>(X, ldx, d, n, G, ldg)
                   : sixteen_row_gram_lower<false, false>(X, ldx, d, n, G, ldg);
    }
  // 8-row tiles: kRowsOf8, AVX2 (fused by kGramFusedMultiplyAdd), and d < 16 in the 16-row kinds
  if (gram_fuses_multiply_add(tiles))
    eight_row_gram_lower<true>(X, ldx, d, n, G, ldg);
  else
    eight_row_gram_lower<false>(X, ldx, d, n, G, ldg);
}

}  // namespace ufm
