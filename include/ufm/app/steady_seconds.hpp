#pragma once
/// The one clock every command's wall_seconds and timing read: seconds on the steady clock, as a
/// double (from an arbitrary start: only differences mean anything). A difference of two readings is
/// exact to well under a microsecond for any uptime a machine reaches.
#include <chrono>

namespace ufm {

inline double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace ufm
