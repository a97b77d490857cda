#include "ufm/metrics/gram_kernel.hpp"

#include <algorithm>

#include "ufm/simd.hpp"

namespace ufm {
namespace {

using simd::Doubles;
using simd::kLanes;

// The tiles run only with AVX-512 (add_gram_lower): 16 rows (two vectors) by 8 columns, 16 accumulators
// of the 32 registers; on the diagonal, the tile right of the first one is 8 rows (one vector) by 8.
constexpr int kRowVectors = 2;
constexpr Index kTileRows = kRowVectors * kLanes;
constexpr Index kTileCols = 8;

/// Rows r0..r0+kRows·kLanes against columns c0..c0+kTileCols of the Gram, summed over the n samples,
/// then added to G: the entries with row ≥ column, row ≥ row_min and column ≥ col_min (a tile shifted
/// back to end at d overlaps its neighbour, whose entries it leaves alone). Every entry is the same sum
/// in the same order whatever the tile's height.
template <int kRows>
void tile(const double* X, Index ldx, Index n, Index r0, Index c0, Index row_min, Index col_min, double* G,
          Index ldg) {
  Doubles acc[kTileCols][kRows] = {};
  for (Index i = 0; i < n; ++i) {
    const double* x = X + i * ldx;
    Doubles rows[kRows];
    for (int q = 0; q < kRows; ++q) rows[q] = simd::load(x + r0 + q * kLanes);
    for (Index j = 0; j < kTileCols; ++j) {
      const Doubles col = simd::broadcast(x[c0 + j]);
      for (int q = 0; q < kRows; ++q) acc[j][q] += rows[q] * col;
    }
  }
  for (Index j = 0; j < kTileCols; ++j) {
    double* g = G + (c0 + j) * ldg + r0;
    if (c0 + kTileCols <= r0 && row_min <= r0 && col_min <= c0) {  // below the diagonal, no overlap
      for (int q = 0; q < kRows; ++q) simd::store(g + q * kLanes, simd::load(g + q * kLanes) + acc[j][q]);
      continue;
    }
    for (int q = 0; q < kRows; ++q)
      for (int l = 0; l < kLanes; ++l)
        if (const Index r = r0 + q * kLanes + l; r >= c0 + j && r >= row_min && c0 + j >= col_min)
          g[q * kLanes + l] += acc[j][q][l];
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
  // block's column tiles up to its last row, the last tile likewise shifted back to end at column d.
  for (Index start = 0; start < d; start += kTileRows) {
    const Index r0 = std::min(start, d - kTileRows);
    const Index last_col = std::min(start + kTileRows, d);  // columns below it are needed
    for (Index c = 0; c < last_col; c += kTileCols) {
      const Index c0 = std::min(c, d - kTileCols);
      if (c0 == r0 + kLanes)  // the diagonal's right half: its upper rows are above the diagonal
        tile<1>(X, ldx, n, r0 + kLanes, c0, start, c, G, ldg);
      else
        tile<kRowVectors>(X, ldx, n, r0, c0, start, c, G, ldg);
    }
  }
}

}  // namespace ufm
