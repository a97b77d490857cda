#pragma once
/// Exit statuses of ufm-sim (documented in the README).
namespace ufm {
enum ExitStatus : int {
  kExitOk = 0,           ///< ran to converged / max_steps / max_time
  kExitInternal = 1,     ///< a bug or an unexpected system error
  kExitBadInput = 2,     ///< invalid option, config, state directory or output path; nothing was written
  kExitDiverged = 3,     ///< NaN/Inf during the run; the trajectory so far and --save-state were written
  kExitTheoryFailed = 4, ///< --check-theory found a mismatch
  kExitOutputFailed = 5, ///< the work ran, but writing an output failed (disk full, I/O error): stderr names it
  kExitInterruptedBase = 128,  ///< + the signal: a run stopped by SIGINT / SIGTERM (outputs written, "stopped")
  kExitSigint = 130,     ///< 128 + SIGINT (2)
  kExitSigterm = 143,    ///< 128 + SIGTERM (15)
};

/// The exit status of a run stopped by `signal` (the shell's 128 + n convention).
constexpr int exit_status_for_signal(int signal) { return kExitInterruptedBase + signal; }
}  // namespace ufm
