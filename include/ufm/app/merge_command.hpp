#pragma once
/// `ufm-sim merge a.jsonl b.jsonl ... --out all.jsonl`: joins the outputs of sweep shards.
#include <string>
#include <vector>

namespace ufm {

/// Checks that every file comes from one grid, joins their points sorted by index under an
/// unsharded header (the same header as `ufm-sim sweep` without --shard writes), and reports
/// duplicated and missing points. Exit status: 0 complete; 3 written but points are missing (listed;
/// `ufm-sim sweep GRID --out all.jsonl` fills them in); 2 mixed grids, a point recorded twice with
/// different results, or a bad file (listed; nothing written).
int merge_command(const std::vector<std::string>& args);

}  // namespace ufm
