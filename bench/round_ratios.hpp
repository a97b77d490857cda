#pragma once
/// How `ufm-bench flow` sums up its interleaved rounds: each round's ratio is a loop's time over the
/// same round's evaluation, and the figure reported is the median of those ratios (not the ratio of
/// two medians, which pairs a stage with an evaluation timed in another round, when the VM's speed
/// may have drifted by 10-20%).
#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <vector>

namespace ufm::bench {

/// The median of `v` (the mean of the middle two for an even count).
inline double median_of(std::vector<double> v) {
  if (v.empty()) throw std::invalid_argument("median_of: no values");
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

/// Round r's `loop[r] / reference[r]`, for every round.
inline std::vector<double> ratios_by_round(const std::vector<double>& loop, const std::vector<double>& reference) {
  if (loop.size() != reference.size()) throw std::invalid_argument("ratios_by_round: rounds differ in number");
  std::vector<double> v;
  v.reserve(loop.size());
  for (std::size_t r = 0; r < loop.size(); ++r) v.push_back(loop[r] / reference[r]);
  return v;
}

}  // namespace ufm::bench
