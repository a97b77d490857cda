#pragma once
/// Bad user input: names the option, the value given and what is allowed. Exit status 2.
#include <cstddef>
#include <stdexcept>
#include <string>

namespace ufm {

/// `text` cut to at most `max_chars` characters, with "...(N characters)" appended when cut; for
/// echoing user values in one-line messages. Not idempotent: cut a value once, where it is echoed.
std::string abbreviate(const std::string& text, std::size_t max_chars = 80);

class ConfigError : public std::invalid_argument {
 public:
  /// "--lambda-w: got '-1', allowed: a finite number >= 0". `value` is echoed cut to 80 characters
  /// (abbreviate), so callers pass the user's text as given; `allowed` is ours and is not cut.
  ConfigError(const std::string& option, const std::string& value, const std::string& allowed)
      : std::invalid_argument(option + ": got '" + abbreviate(value) + "', allowed: " + allowed), option_(option) {}
  /// \param option the option the message is about, when there is one (e.g. "--lambda-b").
  explicit ConfigError(const std::string& message, std::string option = "")
      : std::invalid_argument(message), option_(std::move(option)) {}
  /// The offending option ("--lambda"), or empty.
  const std::string& option() const { return option_; }

 private:
  std::string option_;
};

}  // namespace ufm
