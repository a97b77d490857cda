#include "ufm/config/number_parse.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "ufm/config/config_error.hpp"

namespace ufm {
namespace {

std::string range(long long lo, long long hi) {
  return "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
}

/// text without one leading '+' (from_chars accepts only '-').
std::string_view unsigned_body(const std::string& text) {
  std::string_view v(text);
  if (!v.empty() && v[0] == '+') v.remove_prefix(1);
  return v;
}

}  // namespace

std::string format_number(double x) {
  std::array<char, 64> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), x);
  return ec == std::errc() ? std::string(buf.data(), end) : std::to_string(x);
}

double parse_real(const std::string& option, const std::string& text, const std::string& allowed) {
  const std::string_view v = unsigned_body(text);
  double x = 0;
  const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || ptr != v.data() + v.size() || (ec != std::errc() && ec != std::errc::result_out_of_range))
    throw ConfigError(option, text, allowed);
  if (ec == std::errc::result_out_of_range || (x != 0 && std::abs(x) < std::numeric_limits<double>::min())) {
    // from_chars does not say which way; strtod does: ±HUGE_VAL on overflow, 0 or subnormal on underflow.
    const bool underflow = std::abs(std::strtod(std::string(v).c_str(), nullptr)) < 1.0;
    const std::string shown = abbreviate(text);
    throw ConfigError(option, text,
                      allowed + (underflow ? " (" + shown + " underflows a double: its magnitude must be 0 or at least 2.2e-308)"
                                           : " (" + shown + " overflows a double: its magnitude must be at most 1.8e308)"));
  }
  if (!std::isfinite(x)) throw ConfigError(option, text, allowed);
  return x;
}

long long parse_integer_in(const std::string& option, const std::string& text, long long lo, long long hi) {
  long long x = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), x);
  if (!text.empty() && ec == std::errc() && ptr == text.data() + text.size()) {
    if (x < lo || x > hi) throw ConfigError(option, text, range(lo, hi));
    return x;
  }
  // "1e6", "2.0", or an integer beyond long long: read it as a real, then require an exact integer.
  double r = 0;
  const std::string_view v = unsigned_body(text);
  const auto [rptr, rec] = std::from_chars(v.data(), v.data() + v.size(), r);
  const bool real = !v.empty() && rptr == v.data() + v.size() && (rec == std::errc() || rec == std::errc::result_out_of_range);
  if (!real || !std::isfinite(r) || rec == std::errc::result_out_of_range) {
    throw ConfigError(option, text, range(lo, hi));
  }
  if (r != std::floor(r)) throw ConfigError(option, text, range(lo, hi) + " (not a whole number)");
  if (r < static_cast<double>(lo) || r > static_cast<double>(hi)) throw ConfigError(option, text, range(lo, hi));
  return static_cast<long long>(r);
}

std::uint64_t parse_unsigned(const std::string& option, const std::string& text) {
  const std::string allowed = "an integer in [0, " + std::to_string(std::numeric_limits<std::uint64_t>::max()) + "]";
  const std::string_view v = unsigned_body(text);
  std::uint64_t x = 0;
  const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size()) throw ConfigError(option, text, allowed);
  return x;
}

void throw_bad_value(const std::string& option, const std::string& text, const std::string& allowed) {
  throw ConfigError(option, text, allowed);
}

void check_flow_step_count(double time, double dt) {
  const double most = static_cast<double>(kMaxRunSteps);
  if (time / dt <= most) return;  // also false for an infinite quotient
  throw ConfigError("--dt", format_number(dt),
                    "a step of at least --time / 2^62 = " + format_number(time / most) +
                        " (rk4 takes at most 2^62 steps, as --steps)");
}

void check_rel_tol(const std::string& option, double rel_tol) {
  if (rel_tol >= kMinRelTol && std::isfinite(rel_tol)) return;
  throw ConfigError(option, format_number(rel_tol),
                    "a finite number >= 2.22e-14 (100 x machine epsilon: below it the error estimate is rounding "
                    "noise and the step size shrinks to nothing)");
}

}  // namespace ufm
