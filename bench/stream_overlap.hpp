#pragma once
/// How much of a stream of reads one core hides under the gradient's arithmetic, for `ufm-bench
/// limits`. A flow stage reads its point's sources (θ-sized vectors: at the medium size from L3,
/// at the paper size from memory) on top of its gradient evaluation; the stage can cost less than
/// the two one after the other only as far as the core overlaps them. Measured here, with nothing
/// of ufm-sim in between:
///   - the FMA loop: the backward kernel's inner loop (one packet of h_i, ten broadcast residuals,
///     two chains for Σ_k G_ki w_k and ten W-gradient accumulators, one store) over a block of 256
///     samples and d = 64, its data in L1;
///   - the stream: three sources read a packet each per iteration, summed in registers, rotating
///     over a pool of twelve source-sized vectors (beyond the cache the size names);
///   - both in one loop, the stream's reads interleaved with the arithmetic, which is the best
///     placement a stage could give them.
/// hidden = (fma + stream − both) / stream: 1 when the reads cost nothing beside the arithmetic,
/// 0 when they add their whole time.
#include <algorithm>
#include <chrono>
#include <vector>

#include <Eigen/Core>

#include "round_ratios.hpp"
#include "ufm/linalg.hpp"

namespace ufm::bench {

/// The loops' data: the block the FMA loop works on and the pool of sources the stream reads.
class OverlapLoops {
 public:
  static constexpr int kClasses = 10;         ///< G: broadcast residuals per sample
  static constexpr Index kSamples = 256;      ///< nb: a block of the medium size
  static constexpr Index kRows = 64;          ///< d
  static constexpr int kSources = 3;          ///< read per iteration (an RK4 stage point has 2.75 on average)
  static constexpr int kPool = 12;            ///< source-sized vectors the stream rotates over

  /// Sources of `source_entries` entries (a multiple of the packet size, at least one packet).
  explicit OverlapLoops(Index source_entries)
      : n_(std::max(source_entries / kLanes, Index{1}) * kLanes),
        X_(kSamples * kRows),
        out_(kSamples * kRows),
        Wt_(kClasses * kRows),
        Gs_(kSamples * kClasses) {
    for (Index i = 0; i < X_.size(); ++i) X_[i] = 1e-3 * static_cast<double>(i % 5);
    for (Index i = 0; i < Wt_.size(); ++i) Wt_[i] = 1e-3 * static_cast<double>(i % 11);
    for (Index i = 0; i < Gs_.size(); ++i) Gs_[i] = 1e-3 * static_cast<double>(i % 3);
    pool_.resize(kPool);
    for (Vec& s : pool_) s = Vec::Constant(n_, 1.0);
  }

  Index source_entries() const { return n_; }
  /// Iterations of the FMA loop per block: one per sample and row packet.
  static constexpr Index iterations() { return kSamples * (kRows / kLanes); }
  /// Bytes the stream reads per block.
  static constexpr double stream_bytes() { return 8.0 * kLanes * kSources * iterations(); }
  /// The pool's vectors, for a test to fill.
  Vec& source(int s) { return pool_[static_cast<std::size_t>(s)]; }
  /// The FMA loop's output (the H-gradient of the block after the last block run).
  const Vec& out() const { return out_; }
  /// Its inputs, for a test's reference: h_i = X[i·d ..], w_k = Wt[k·d ..], G_ki = Gs[i·G + k].
  const Vec& X() const { return X_; }
  const Vec& Wt() const { return Wt_; }
  const Vec& Gs() const { return Gs_; }
  static constexpr double kLambda = 5e-4;

  /// `blocks` blocks with the FMA loop, the stream, or both. Returns the sum of everything the stream
  /// read plus the W-gradient accumulators' sum, so that neither loop is optimized away. The stream
  /// continues where the last call left it.
  double run(long blocks, bool fma, bool stream) {
    namespace ei = Eigen::internal;
    using P = ei::packet_traits<double>::type;
    P sum = ei::pset1<P>(0.0), wsum = ei::pset1<P>(0.0);
    const double* src[kSources];
    auto aim = [&] {
      for (int t = 0; t < kSources; ++t) src[t] = pool_[static_cast<std::size_t>((first_ + t) % kPool)].data();
    };
    aim();
    const P lam = ei::pset1<P>(kLambda);
    for (long b = 0; b < blocks; ++b) {
      for (Index r = 0; r < kRows; r += kLanes) {
        P w[kClasses], acc[kClasses];
        for (int k = 0; k < kClasses; ++k) {
          w[k] = ei::ploadu<P>(Wt_.data() + k * kRows + r);
          acc[k] = ei::pset1<P>(0.0);
        }
        for (Index i = 0; i < kSamples; ++i) {
          if (stream) {
            // One accumulator: AVX2's 16 registers already hold the FMA loop's w and acc (spilled in part).
            P in = ei::ploadu<P>(src[0] + pos_);
            for (int t = 1; t < kSources; ++t) in = ei::padd(in, ei::ploadu<P>(src[t] + pos_));
            sum = ei::padd(sum, in);
            pos_ += kLanes;
            if (pos_ == n_) {
              pos_ = 0;
              first_ = (first_ + kSources) % kPool;
              aim();
            }
          }
          if (fma) {
            const P x = ei::ploadu<P>(X_.data() + i * kRows + r);
            P g0 = ei::pmul(lam, x), g1 = ei::pset1<P>(0.0);
            for (int k = 0; k < kClasses; ++k) {
              const P g = ei::pset1<P>(Gs_[i * kClasses + k]);
              if (k % 2) g1 = ei::pmadd(g, w[k], g1);
              else g0 = ei::pmadd(g, w[k], g0);
              acc[k] = ei::pmadd(g, x, acc[k]);
            }
            ei::pstoreu(out_.data() + i * kRows + r, ei::padd(g0, g1));
          }
        }
        if (fma)
          for (int k = 0; k < kClasses; ++k) wsum = ei::padd(wsum, acc[k]);
      }
    }
    return ei::predux(ei::padd(sum, wsum));
  }

 private:
  static constexpr Index kLanes = Eigen::internal::packet_traits<double>::size;
  Index n_;
  Vec X_, out_, Wt_, Gs_;
  std::vector<Vec> pool_;
  Index pos_ = 0;
  int first_ = 0;
};

/// One size's measurement: microseconds per block of each loop (medians over interleaved rounds).
struct StreamOverlap {
  Index source_entries = 0;
  double fma_us = 0.0, stream_us = 0.0, both_us = 0.0;
  double stream_gbs() const { return OverlapLoops::stream_bytes() / stream_us / 1e3; }
  double hidden() const { return (fma_us + stream_us - both_us) / stream_us; }
};

/// Times the three loops in `rounds` interleaved rounds of about `seconds_each` each.
inline StreamOverlap measure_stream_overlap(Index source_entries, int rounds, double seconds_each) {
  using Clock = std::chrono::steady_clock;
  OverlapLoops loops(source_entries);
  volatile double keep = loops.run(64, true, true);  // warm-up: first touch, clocks up
  auto time = [&](bool fma, bool stream) {
    long blocks = 16;
    for (;;) {
      const auto t0 = Clock::now();
      keep = keep + loops.run(blocks, fma, stream);
      const double s = std::chrono::duration<double>(Clock::now() - t0).count();
      if (s >= seconds_each || blocks > (1L << 30)) return 1e6 * s / static_cast<double>(blocks);
      blocks *= 2;
    }
  };
  std::vector<double> fma, stream, both;
  for (int r = 0; r < rounds; ++r) {
    fma.push_back(time(true, false));
    stream.push_back(time(false, true));
    both.push_back(time(true, true));
  }
  return {loops.source_entries(), median_of(fma), median_of(stream), median_of(both)};
}

}  // namespace ufm::bench
