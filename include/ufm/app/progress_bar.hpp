#pragma once
/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
#include <string>

namespace ufm {

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled);
  ~ProgressBar();
  /// fraction in [0, 1]; label is shown after the bar (e.g. "t=12.5 nc1=3e-4").
  void update(double fraction, const std::string& label);
  void done();

 private:
  bool enabled_;
  bool drawn_ = false;
};

/// True when stderr is an interactive terminal.
bool stderr_is_terminal();

}  // namespace ufm
