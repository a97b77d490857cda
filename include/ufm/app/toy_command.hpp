#pragma once
/// `ufm-sim toy`: the Wojtowytsch–E three-parameter gradient flow (theory.md §5 (g)).
#include <string>
#include <vector>

namespace ufm {

/// Parses --p p1,p2,p3 --a0 a1,a2,a3 --time T [--num-checkpoints M] [--abs-tol --rel-tol] [--out FILE]
/// [--config FILE], integrates the flow and writes JSON. Returns the exit status (2 on bad input).
int toy_command(const std::vector<std::string>& args);

}  // namespace ufm
