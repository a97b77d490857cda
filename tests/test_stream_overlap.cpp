// The loops `ufm-bench limits` times to measure how much of a stream of reads the FMA work hides
// (bench/stream_overlap.hpp): each does the work it is named for. No timing here.
#include <gtest/gtest.h>

#include <cmath>

#include "../bench/stream_overlap.hpp"

namespace ufm {
namespace {

using bench::OverlapLoops;

/// Entry e of pool vector s: distinct small integers, so that sums of them are exact.
double entry(int s, Index e) { return static_cast<double>((s + 1) * 100000 + e); }

TEST(StreamOverlap, TheStreamReadsItsSourcesInTurnEveryEntryOncePerPass) {
  // Sources of 96 entries: a block's iterations cover several passes, the last one partly, and a
  // second block continues where the first ended.
  OverlapLoops loops(96);
  const Index n = loops.source_entries();
  ASSERT_EQ(n, 96);
  for (int s = 0; s < OverlapLoops::kPool; ++s)
    for (Index e = 0; e < n; ++e) loops.source(s)[e] = entry(s, e);
  const Index lanes = Eigen::internal::packet_traits<double>::size;
  // What the two calls read, entry by entry: three sources at a time, pass after pass, the triple
  // moving on by three vectors of the pool after each pass.
  Index pos = 0;
  int first = 0;
  for (long blocks : {1L, 2L}) {
    double expected = 0.0;
    Index entries_read = 0;
    for (Index it = 0; it < blocks * OverlapLoops::iterations(); ++it) {
      for (int t = 0; t < OverlapLoops::kSources; ++t)
        for (Index l = 0; l < lanes; ++l, ++entries_read) expected += entry((first + t) % OverlapLoops::kPool, pos + l);
      pos += lanes;
      if (pos == n) pos = 0, first = (first + OverlapLoops::kSources) % OverlapLoops::kPool;
    }
    EXPECT_EQ(loops.run(blocks, false, true), expected) << blocks << " block(s)";
    // the bytes the stream's rate is counted from
    EXPECT_EQ(8.0 * static_cast<double>(entries_read), static_cast<double>(blocks) * OverlapLoops::stream_bytes());
  }
}

TEST(StreamOverlap, TheFmaLoopWritesTheBackwardKernelsHGradientOfItsBlock) {
  OverlapLoops loops(64);
  loops.run(1, true, false);
  const Index d = OverlapLoops::kRows;
  const int G = OverlapLoops::kClasses;
  for (Index i = 0; i < OverlapLoops::kSamples; ++i)
    for (Index r = 0; r < d; ++r) {
      // gH[:, i] = λ h_i + Σ_k G_ki w_k
      double want = OverlapLoops::kLambda * loops.X()[i * d + r];
      for (int k = 0; k < G; ++k) want += loops.Gs()[i * G + k] * loops.Wt()[k * d + r];
      ASSERT_NEAR(loops.out()[i * d + r], want, 1e-15 + 1e-13 * std::abs(want)) << "sample " << i << ", row " << r;
    }
}

TEST(StreamOverlap, TheHiddenShareIsTheStreamTimeTheFmaLoopAbsorbs) {
  bench::StreamOverlap o;
  o.fma_us = 6.0, o.stream_us = 4.0;
  o.both_us = 6.0;  // the reads cost nothing beside the arithmetic
  EXPECT_DOUBLE_EQ(o.hidden(), 1.0);
  o.both_us = 10.0;  // one after the other
  EXPECT_DOUBLE_EQ(o.hidden(), 0.0);
  o.both_us = 8.0;
  EXPECT_DOUBLE_EQ(o.hidden(), 0.5);
}

}  // namespace
}  // namespace ufm
