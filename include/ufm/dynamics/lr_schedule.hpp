#pragma once
/// Learning-rate schedules of minibatch SGD (`--lr-schedule`):
///
/// | text                | η at step k of epoch e (K steps in all)                |
/// |---------------------|--------------------------------------------------------|
/// | `constant`          | η₀                                                     |
/// | `step:E1,E2:gamma`  | η₀ γ^m, m = how many of E1 < E2 < … are <= e           |
/// | `cosine`            | η₀ (1 + cos(π k / K)) / 2                              |
#include <string>
#include <vector>

namespace ufm {

struct LrSchedule {
  enum class Kind { kConstant, kStep, kCosine } kind = Kind::kConstant;
  std::vector<long> milestones;  ///< kStep: epochs, increasing, >= 1
  double gamma = 0.1;            ///< kStep: factor per milestone, in (0, 1]

  /// η at step `step` (0-based) of `total_steps`, in epoch `epoch` (0-based).
  double at(double lr0, long step, long total_steps, long epoch) const;
  /// The text form above.
  std::string to_string() const;
};

/// Parses the text form; throws ConfigError naming `option` and the allowed forms.
LrSchedule parse_lr_schedule(const std::string& option, const std::string& text);

}  // namespace ufm
