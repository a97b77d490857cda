#pragma once
/// SIGINT / SIGTERM during a run: the first one asks the run to stop after its current step (it
/// then writes its final checkpoint, output and --save-state with status "stopped" and exits
/// 128 + signal); a second one ends the process at once (the default action, re-raised).
///
/// | call                         | meaning                                                         |
/// |------------------------------|-----------------------------------------------------------------|
/// | install_interrupt_handlers() | sigaction for SIGINT and SIGTERM, unless ignored on entry (as a  |
/// |                              | shell's `cmd &` ignores SIGINT); idempotent                     |
/// | interrupt_flag()             | the flag the handlers set: pass it as the dynamics' stop_request |
/// | interrupt_requested()        | whether a first signal arrived                                  |
/// | interrupt_signal()           | its number (0 if none)                                          |
///
/// The handlers only store into lock-free atomics (async-signal-safe); on a second signal they
/// restore SIG_DFL for it and raise it again.
#include <atomic>

namespace ufm {

void install_interrupt_handlers();
const std::atomic<bool>* interrupt_flag();
bool interrupt_requested();
int interrupt_signal();
/// "SIGINT", "SIGTERM", or "a signal".
const char* signal_name(int signal);

}  // namespace ufm
