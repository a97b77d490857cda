#pragma once
/// Bad user input: names the option, the value given and what is allowed. Exit status 2.
#include <stdexcept>
#include <string>

namespace ufm {

class ConfigError : public std::invalid_argument {
 public:
  /// "--lambda-w: got '-1', allowed: a finite number >= 0"
  ConfigError(const std::string& option, const std::string& value, const std::string& allowed)
      : std::invalid_argument(option + ": got '" + value + "', allowed: " + allowed), option_(option) {}
  /// \param option the option the message is about, when there is one (e.g. "--lambda-b").
  explicit ConfigError(const std::string& message, std::string option = "")
      : std::invalid_argument(message), option_(std::move(option)) {}
  /// The offending option ("--lambda"), or empty.
  const std::string& option() const { return option_; }

 private:
  std::string option_;
};

}  // namespace ufm
