#pragma once
/// `ufm-sim sweep`: run every point of a grid (sweep/grid.hpp) on OpenMP threads in this process,
/// appending one JSONL line per finished point; resumable, shardable; `--list` and `--table`.
#include <string>
#include <vector>

namespace ufm {

/// args exclude the program name and "sweep". Returns the exit status: 0 every point of the shard is
/// in the output (whatever each one's status), 2 bad grid or options (nothing run or written),
/// 5 an output not written (disk full, I/O error; finished points kept), 1 internal error, 130 / 143
/// stopped by SIGINT / SIGTERM (finished points kept; rerun to resume).
int sweep_command(const std::vector<std::string>& args);

}  // namespace ufm
