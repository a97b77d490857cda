#include "ufm/app/progress_bar.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace ufm {

bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

ProgressBar::ProgressBar(bool enabled) : enabled_(enabled) {}

ProgressBar::~ProgressBar() { done(); }

void ProgressBar::update(double fraction, const std::string& label) {
  if (!enabled_) return;
  constexpr int kWidth = 30;
  const double f = std::clamp(fraction, 0.0, 1.0);
  const int filled = static_cast<int>(f * kWidth);
  std::string bar(filled, '#');
  bar.resize(kWidth, ' ');
  std::fprintf(stderr, "\r[%s] %5.1f%% %s\033[K", bar.c_str(), 100.0 * f, label.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::done() {
  if (drawn_) std::fputc('\n', stderr);
  drawn_ = false;
}

}  // namespace ufm
