#include "ufm/app/run_timing.hpp"

#include <algorithm>

namespace ufm {

double RunTiming::dynamics_seconds() const { return std::max(0.0, run_seconds_ - checkpoint_seconds_); }

nlohmann::ordered_json to_json(const RunTiming& timing) {
  return {{"dynamics_seconds", timing.dynamics_seconds()},
          {"checkpoint_seconds", timing.checkpoint_seconds()},
          {"checkpoints", timing.checkpoints()}};
}

}  // namespace ufm
