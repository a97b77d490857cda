#pragma once
/// SIGINT / SIGTERM / SIGHUP during a run: the first one asks the run to stop after its current step (it
/// then writes its final checkpoint, output and --save-state with status "stopped" and exits
/// 128 + signal); a second one ends the process at once (the default action, re-raised).
///
/// | call                         | meaning                                                         |
/// |------------------------------|-----------------------------------------------------------------|
/// | install_interrupt_handlers() | sigaction for SIGINT, SIGTERM and SIGHUP, unless ignored on      |
/// |                              | entry (as a shell's `cmd &` ignores SIGINT, `nohup` SIGHUP);     |
/// |                              | idempotent                                                      |
/// | interrupt_flag()             | the flag the handlers set: pass it as the dynamics' stop_request |
/// | interrupt_requested()        | whether a first signal arrived                                  |
/// | interrupt_signal()           | its number (0 if none)                                          |
///
/// The handlers only store into lock-free atomics (async-signal-safe); on a second signal they
/// restore SIG_DFL for it and raise it again.
#include <atomic>

#include "ufm/dynamics/run_summary.hpp"

namespace ufm {

void install_interrupt_handlers();
const std::atomic<bool>* interrupt_flag();
bool interrupt_requested();
int interrupt_signal();
/// "SIGINT", "SIGTERM", "SIGHUP", or "a signal".
const char* signal_name(int signal);
/// A run the caught signal stopped says which: "stopped by SIGHUP at step k (t = …)" in place of
/// the dynamics' "stopped on request at step k …". Any other summary is left as it is.
void name_the_signal(RunSummary& summary);

}  // namespace ufm
