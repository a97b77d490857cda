#include "ufm/metrics/gram_kernel.hpp"

#include <algorithm>

#include "ufm/simd.hpp"

namespace ufm {
namespace {

using simd::Doubles;
using simd::kLanes;

// The tiles run only with AVX-512 (add_gram_lower): 8 rows (one vector) by 16 columns, 16 accumulators
// of the 32 registers, each column's value broadcast into one product only, so that GCC folds the
// broadcast into the multiply's memory operand ({1to8}). A broadcast of its own, shared by two row
// vectors (16×8 tiles), took a slot of the floating-point pipes on the Zen 4: 39 against 55 GFLOP/s of
// its 58 peak in one tile. Where a row block needs only 8 more columns, an 8×8 tile.
constexpr Index kTileRows = kLanes;
constexpr Index kTileCols = 16;

/// Rows r0..r0+kLanes against columns c0..c0+kCols of the Gram, summed over the n samples, then added
/// to G: the entries with row ≥ column, row ≥ row_min and column ≥ col_min (a tile shifted back to end
/// at d overlaps its neighbour, whose entries it leaves alone). Every entry is the same sum in the
/// same order whatever the tile's shape.
template <int kCols>
void tile(const double* X, Index ldx, Index n, Index r0, Index c0, Index row_min, Index col_min, double* G,
          Index ldg) {
  Doubles acc[kCols] = {};
  for (Index i = 0; i < n; ++i) {
    const double* x = X + i * ldx;
    const Doubles rows = simd::load(x + r0);
    for (int j = 0; j < kCols; ++j) acc[j] += rows * simd::broadcast(x[c0 + j]);
  }
  for (int j = 0; j < kCols; ++j) {
    double* g = G + (c0 + j) * ldg + r0;
    if (c0 + kCols <= r0 && row_min <= r0 && col_min <= c0) {  // below the diagonal, no overlap
      simd::store(g, simd::load(g) + acc[j]);
      continue;
    }
    for (int l = 0; l < kLanes; ++l)
      if (const Index r = r0 + l; r >= c0 + j && r >= row_min && c0 + j >= col_min) g[l] += acc[j][l];
  }
}

}  // namespace

void add_gram_lower(const double* X, Index ldx, Index d, Index n, double* G, Index ldg) {
  if (kLanes < 8 || d < kTileRows) {
    // AVX2 and narrower (separate multiplies and adds in 4 lanes do not beat OpenBLAS's FMA kernel:
    // 150 against 128 µs at d = 64, N = 1,000), and too few rows for one tile: a symmetric rank
    // update, which Eigen hands to the BLAS's dsyrk.
    using Strided = Eigen::OuterStride<>;
    Eigen::Map<Mat, 0, Strided> Gm(G, d, d, Strided(ldg));
    Gm.selfadjointView<Eigen::Lower>().rankUpdate(Eigen::Map<const Mat, 0, Strided>(X, d, n, Strided(ldx)));
    return;
  }
  // Row blocks of kTileRows; the last one, if d is not a multiple, shifted back to end at row d. Each
  // block's column tiles up to its last row: 16 columns, or 8 where no more are needed (or d < 16); a
  // tile that would pass column d shifted back to end there.
  for (Index start = 0; start < d; start += kTileRows) {
    const Index r0 = std::min(start, d - kTileRows);
    const Index last_col = std::min(start + kTileRows, d);  // columns below it are needed
    for (Index c = 0; c < last_col;) {
      if (last_col - c > 8 && d >= kTileCols) {
        tile<kTileCols>(X, ldx, n, r0, std::min(c, d - kTileCols), start, c, G, ldg);
        c += kTileCols;
      } else {
        tile<8>(X, ldx, n, r0, std::min<Index>(c, d - 8), start, c, G, ldg);
        c += 8;
      }
    }
  }
}

}  // namespace ufm
