#pragma once
/// A run-time count turned into a template argument, for kernels whose register arrays need their
/// size at compile time.

namespace ufm {

/// Calls f.template operator()<N>() for the run-time n in [1, kMax] (nothing for any other n).
template <int kMax, int N = 1, class F>
void with_constant(int n, F&& f) {
  if constexpr (N <= kMax) {
    if (n == N) return f.template operator()<N>();
    with_constant<kMax, N + 1>(n, f);
  }
}

}  // namespace ufm
