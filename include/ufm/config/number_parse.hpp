#pragma once
/// Numbers from the command line and config files, with messages that say what went wrong:
/// "--lambda: got '1e-400', allowed: a finite number (1e-400 underflows a double: its magnitude must
/// be 0 or at least 2.2e-308)".
#include <cstdint>
#include <limits>
#include <map>
#include <string>

namespace ufm {

/// A finite double; `allowed` describes the option's range for the message (e.g. "a number >= 0").
/// Accepts a leading '+'. Rejects overflow, underflow to a subnormal or zero, nan, inf, trailing text.
double parse_real(const std::string& option, const std::string& text, const std::string& allowed = "a finite number");

/// An integer in [lo, hi]. Integral scientific notation is accepted ("1e6"); the message states the
/// range: "--classes: got '1e30', allowed: an integer in [2, 2147483647]".
long long parse_integer_in(const std::string& option, const std::string& text, long long lo, long long hi);

/// An unsigned 64-bit integer (seeds): "an integer in [0, 18446744073709551615]".
std::uint64_t parse_unsigned(const std::string& option, const std::string& text);

/// The shortest text that reads back as x ("0.1", not "0.10000000000000001").
std::string format_number(double x);

/// The most steps a run may be given: --steps and --max-steps, and a gradient flow's --time / --dt.
inline constexpr long long kMaxRunSteps = 1LL << 62;

/// An rk4 flow's --time and --dt (both positive): --time / --dt, its step count, at most kMaxRunSteps.
/// Otherwise ConfigError naming --dt and the least step allowed.
void check_flow_step_count(double time, double dt);

/// The least relative tolerance dopri5 is given: 100 machine epsilons (2.2204e-14) rounded to the
/// 2.22e-14 the message states, where scipy's solve_ivp and MATLAB's ode45 floor theirs. Below it the
/// error estimate is rounding noise, no step passes and the step size shrinks to nothing (1e-30 ran
/// forever).
inline constexpr double kMinRelTol = 2.22e-14;
static_assert(kMinRelTol > 99.9 * std::numeric_limits<double>::epsilon());

/// A relative tolerance (--rel-tol) of at least kMinRelTol; otherwise ConfigError naming `option`.
void check_rel_tol(const std::string& option, double rel_tol);

/// Throws ConfigError(option, text, allowed).
[[noreturn]] void throw_bad_value(const std::string& option, const std::string& text, const std::string& allowed);

/// One of `choices` by name; otherwise ConfigError "--loss: got 'hinge', allowed: ce | mse".
template <class E>
E parse_choice(const std::string& option, const std::string& text, const std::map<std::string, E>& choices) {
  const auto it = choices.find(text);
  if (it != choices.end()) return it->second;
  std::string allowed;
  for (const auto& [name, _] : choices) allowed += (allowed.empty() ? "" : " | ") + name;
  throw_bad_value(option, text, allowed);
}

}  // namespace ufm
