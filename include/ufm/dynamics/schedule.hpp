#pragma once
/// Checkpoint schedules: at which GD steps / flow times the observer is called.
#include <span>
#include <vector>

namespace ufm {

enum class Spacing { kLog, kLinear };

/// Sorted unique step indices in [0, total_steps], always containing 0 and total_steps; at most
/// `count` of them (fewer after deduplication of small indices).
/// log: 0 plus round(geomspace(1, total_steps, count - 1)); linear: round(linspace(0, total_steps, count)).
/// Throws std::invalid_argument if total_steps < 0 or count < 2.
std::vector<long> checkpoint_steps(long total_steps, int count, Spacing spacing);

/// Sorted unique times in [0, total_time], always containing 0 and total_time; at most `count`.
/// log: 0 plus geomspace(first_time, total_time, count - 1) (just {0, total_time} when
/// first_time >= total_time); linear: linspace(0, total_time, count), first_time unused.
/// Throws std::invalid_argument if total_time < 0 or not finite, count < 2, or (log) first_time <= 0.
std::vector<double> checkpoint_times(double total_time, double first_time, int count, Spacing spacing);

/// Checkpoint times of a gradient flow integrated up to total_time. With fixed steps of dt (rk4) they
/// fall on step boundaries: k·dt for the checkpoint_steps k of its ceil(T/dt) steps, the last one T.
/// With an adaptive integrator (fixed_step false): checkpoint_times(T, min(dt, T), count, spacing).
std::vector<double> flow_checkpoint_times(bool fixed_step, double total_time, double dt, int count, Spacing spacing);

}  // namespace ufm

namespace ufm::detail {
/// Throws std::invalid_argument("<function>: checkpoints must be ...") unless `schedule` is
/// sorted ascending with entries >= 0 (and finite).
void check_schedule(std::span<const long> schedule, const char* function);
void check_schedule(std::span<const double> schedule, const char* function);
}  // namespace ufm::detail
