#pragma once
/// The one clock every command's wall_seconds and timing read: seconds on the steady clock, as a
/// double (from an arbitrary start, the boot on Linux: only differences mean anything). A double
/// resolves 15 ns even after 10⁸ s (three years) from that start.
#include <chrono>

namespace ufm {

inline double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace ufm
