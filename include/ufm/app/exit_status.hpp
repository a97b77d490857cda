#pragma once
/// Exit statuses of ufm-sim (documented in the README).
namespace ufm {
enum ExitStatus : int {
  kExitOk = 0,           ///< ran to converged / max_steps / max_time
  kExitInternal = 1,     ///< a bug or an unexpected system error
  kExitBadInput = 2,     ///< invalid option, config, state directory or output path; no work done
  kExitDiverged = 3,     ///< NaN/Inf during the run; the trajectory so far was written
  kExitTheoryFailed = 4, ///< --check-theory found a mismatch
};
}  // namespace ufm
