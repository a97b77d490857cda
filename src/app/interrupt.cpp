#include "ufm/app/interrupt.hpp"

#include <csignal>
#include <string>

namespace ufm {
namespace {

static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "the signal handler may only touch lock-free atomics");

std::atomic<bool> g_requested{false};
std::atomic<int> g_signal{0};
std::atomic<int> g_count{0};  // signals caught so far (handlers may run on any thread)

extern "C" void on_interrupt(int sig) {
  if (g_count.fetch_add(1) > 0) {  // the second signal: end at once, as if never caught
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, nullptr);
    raise(sig);  // blocked until this handler returns, then the default action ends the process
    return;
  }
  g_signal.store(sig);  // before the flag: whoever sees the flag sees the signal
  g_requested.store(true);
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGINT);  // one handler at a time: the first signal is recorded whole
  sigaddset(&sa.sa_mask, SIGTERM);
  sigaddset(&sa.sa_mask, SIGHUP);
  sa.sa_flags = SA_RESTART;  // a signal during a write does not make it fail with EINTR
  // SIGHUP too: a terminal closed under a run (an ssh session dropped) killed it with nothing written.
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    // A signal ignored on entry stays ignored (the shell's `ufm-sim ... &` ignores SIGINT, nohup SIGHUP).
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    sigaction(sig, &sa, nullptr);
  }
}

const std::atomic<bool>* interrupt_flag() { return &g_requested; }
bool interrupt_requested() { return g_requested.load(); }
int interrupt_signal() { return g_signal.load(); }

void name_the_signal(RunSummary& summary) {
  if (summary.status != RunStatus::kStopped || interrupt_signal() == 0) return;
  summary.message = detail::at_step_message(std::string("stopped by ") + signal_name(interrupt_signal()),
                                            summary.steps, summary.time);
}

const char* signal_name(int signal) {
  switch (signal) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "a signal";
  }
}

}  // namespace ufm
