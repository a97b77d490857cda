#include "ufm/dynamics/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace ufm {
namespace {

void check_count(int count, const char* function) {
  if (count < 2)
    throw std::invalid_argument(std::string(function) + "(): 'count' must be at least 2, got " + std::to_string(count));
}

/// m points from a to b (a, b > 0), geometric; exactly b at the end; {b} when m == 1.
std::vector<double> geomspace(double a, double b, int m) {
  if (m == 1) return {b};
  std::vector<double> out(static_cast<std::size_t>(m));
  const double ratio = b / a;
  if (std::isfinite(ratio)) {
    const double log_ratio = std::log(ratio);
    for (int i = 0; i < m; ++i) out[static_cast<std::size_t>(i)] = a * std::exp(log_ratio * i / (m - 1));
  } else {  // b / a overflows (toy --time 1e308): the same points through the logarithms, each finite
    const double log_a = std::log(a), log_ratio = std::log(b) - log_a;
    for (int i = 0; i < m; ++i) out[static_cast<std::size_t>(i)] = std::exp(log_a + log_ratio * i / (m - 1));
  }
  out.front() = a;
  out.back() = b;
  return out;
}

template <class T>
void sort_unique(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

std::vector<long> checkpoint_steps(long total_steps, int count, Spacing spacing) {
  if (total_steps < 0)
    throw std::invalid_argument("checkpoint_steps(): 'total_steps' must be >= 0, got " + std::to_string(total_steps));
  check_count(count, "checkpoint_steps");
  std::vector<long> steps{0, total_steps};
  if (total_steps >= 1) {
    if (spacing == Spacing::kLog) {
      for (double s : geomspace(1.0, static_cast<double>(total_steps), count - 1))
        steps.push_back(std::clamp(std::lround(s), 1L, total_steps));
    } else {
      for (int i = 1; i < count - 1; ++i)
        steps.push_back(std::lround(static_cast<double>(total_steps) * i / (count - 1)));
    }
  }
  sort_unique(steps);
  return steps;
}

std::vector<double> checkpoint_times(double total_time, double first_time, int count, Spacing spacing) {
  if (!(total_time >= 0.0) || !std::isfinite(total_time))
    throw std::invalid_argument("checkpoint_times(): 'total_time' must be finite and >= 0");
  check_count(count, "checkpoint_times");
  if (spacing == Spacing::kLog && !(first_time > 0.0))
    throw std::invalid_argument("checkpoint_times(): 'first_time' must be positive for log spacing");
  std::vector<double> times{0.0, total_time};
  if (total_time > 0.0) {
    if (spacing == Spacing::kLog) {
      if (first_time < total_time)
        for (double t : geomspace(first_time, total_time, count - 1)) times.push_back(t);
    } else {
      for (int i = 1; i < count - 1; ++i) times.push_back(total_time * i / (count - 1));
    }
  }
  sort_unique(times);
  return times;
}

std::vector<double> flow_checkpoint_times(bool fixed_step, double total_time, double dt, int count, Spacing spacing) {
  if (!fixed_step) return checkpoint_times(total_time, std::min(dt, total_time), count, spacing);
  const long total = static_cast<long>(std::ceil(total_time / dt - 1e-9));
  std::vector<double> times;
  for (long k : checkpoint_steps(total, count, spacing)) times.push_back(std::min(static_cast<double>(k) * dt, total_time));
  return times;
}

}  // namespace ufm

namespace ufm::detail {
namespace {
template <class T>
void check_schedule_impl(std::span<const T> schedule, const char* function) {
  for (std::size_t i = 0; i < schedule.size(); ++i) {
    const T v = schedule[i];
    if (!(v >= T{0}) || !std::isfinite(static_cast<double>(v)))
      throw std::invalid_argument(std::string(function) + ": checkpoints must be finite and >= 0 (entry " +
                                  std::to_string(i) + ")");
    if (i > 0 && v < schedule[i - 1])
      throw std::invalid_argument(std::string(function) + ": checkpoints must be sorted ascending (entry " +
                                  std::to_string(i) + ")");
  }
}
}  // namespace

void check_schedule(std::span<const long> schedule, const char* function) { check_schedule_impl(schedule, function); }
void check_schedule(std::span<const double> schedule, const char* function) { check_schedule_impl(schedule, function); }
}  // namespace ufm::detail
