#include "ufm/app/merge_command.hpp"

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "ufm/app/exit_status.hpp"
#include "ufm/config/config_error.hpp"
#include "ufm/io/atomic_file.hpp"
#include "ufm/sweep/results_file.hpp"

namespace ufm {
namespace {

using Json = nlohmann::ordered_json;
using namespace sweep;

constexpr const char* kMergeHelp =
    "ufm-sim merge: join the outputs of sweep shards (ufm-sim sweep --shard i/m)\n"
    "\n"
    "usage: ufm-sim merge A.jsonl B.jsonl ... --out ALL.jsonl\n"
    "\n"
    "Every file must come from the same grid (grid_hash). The output has the header of an unsharded\n"
    "sweep and every point once, sorted by index, each line as written by its shard. A point found in\n"
    "two files with the same result (up to wall_seconds) is kept once and reported as duplicated; with\n"
    "different results it is a conflict. A last line cut by a kill is dropped (its point is missing).\n"
    "Missing points are listed; `ufm-sim sweep GRID.json --out ALL.jsonl` then runs just those.\n"
    "\n"
    "exit status: 0 complete, 3 written with points missing, 2 mixed grids, conflicts, a bad file or a\n"
    "bad --out (listed; nothing written; --out is checked first, and refused while a sweep is writing it),\n"
    "5 --out not written (disk full, I/O error).\n";

/// "3-7, 12, 40" (at most `max_items` items, then "…").
std::string ranges(const std::vector<long>& xs, std::size_t max_items = 30) {
  std::string s;
  std::size_t items = 0;
  for (std::size_t i = 0; i < xs.size();) {
    std::size_t j = i;
    while (j + 1 < xs.size() && xs[j + 1] == xs[j] + 1) ++j;
    if (items++ == max_items) {
      s += ", …";
      break;
    }
    s += (s.empty() ? "" : ", ") + std::to_string(xs[i]) + (j > i ? "-" + std::to_string(xs[j]) : "");
    i = j + 1;
  }
  return s;
}

}  // namespace

int merge_command(const std::vector<std::string>& args) {
  std::vector<std::string> files;
  std::string out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kMergeHelp;
      return kExitOk;
    }
    if (arg == "--out" || arg.rfind("--out=", 0) == 0) {
      if (!out.empty()) {
        std::cerr << "ufm-sim merge: error: --out: given twice\n";
        return kExitBadInput;
      }
      out = arg == "--out" ? (i + 1 < args.size() ? args[++i] : "") : arg.substr(6);
      if (out.empty()) {
        std::cerr << "ufm-sim merge: error: --out: missing value (a path)\n";
        return kExitBadInput;
      }
      continue;
    }
    if (arg.rfind("--", 0) == 0) {
      std::cerr << "ufm-sim merge: error: unknown option " << abbreviate(arg, 40) << "; see ufm-sim merge --help\n";
      return kExitBadInput;
    }
    files.push_back(arg);
  }
  if (files.empty() || out.empty()) {
    std::cerr << "ufm-sim merge: error: usage: ufm-sim merge A.jsonl B.jsonl ... --out ALL.jsonl\n";
    return kExitBadInput;
  }
  // --out before anything is read (2, as for every command's bad output path), and held against a
  // sweep appending to it until the merged file has replaced it; a failed write later is 5.
  std::optional<ReplacementLock> hold;
  try {
    io::check_writable(out);
    hold.emplace(out);
  } catch (const io::IoError& e) {
    std::cerr << "ufm-sim merge: error: --out: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const ResultsError& e) {
    std::cerr << "ufm-sim merge: error: " << e.what() << "\n";
    return kExitBadInput;
  }
  std::vector<ResultsFile> read;
  std::vector<std::string> problems;
  for (const std::string& f : files) {
    try {
      read.push_back(read_results(f));
      if (!read.back().header) problems.push_back(abbreviate(f) + ": empty (no header line)");
      else if (read.back().cut_tail)
        std::cerr << "ufm-sim merge: " << abbreviate(f) << ": its last line is cut (a killed sweep); dropped\n";
    } catch (const ResultsError& e) {
      problems.push_back(e.what());
      read.emplace_back();
    }
  }
  // One grid: the same grid_hash (and so the same points, ids and command).
  std::map<std::string, std::vector<std::string>> by_hash;
  for (std::size_t i = 0; i < files.size(); ++i)
    if (read[i].header) by_hash[(*read[i].header).value("grid_hash", Json()).dump()].push_back(files[i]);
  if (by_hash.size() > 1) {
    std::string list;
    for (const auto& [hash, names] : by_hash) {
      list += "\n  grid_hash " + hash + ":";
      for (const std::string& n : names) list += " " + abbreviate(n);
    }
    problems.push_back("the files come from different grids:" + list);
  }
  if (!problems.empty()) {
    std::cerr << "ufm-sim merge: error: nothing written:\n";
    for (const std::string& p : problems) std::cerr << "  " << p << "\n";
    return kExitBadInput;
  }
  Json header = *read.front().header;
  header["shard"] = nullptr;
  const long total = header.value("points", 0L);
  struct Kept {
    const PointLine* line;
    std::string file;
  };
  std::map<long, Kept> points;
  std::vector<long> duplicated;
  std::vector<std::string> conflicts;
  for (std::size_t i = 0; i < files.size(); ++i) {
    for (const PointLine& p : read[i].points) {
      if (p.index < 0 || p.index >= total) {
        conflicts.push_back("point " + std::to_string(p.index) + " in " + abbreviate(files[i]) +
                            ": the grid has points 0-" + std::to_string(total - 1));
        continue;
      }
      const auto [it, fresh] = points.emplace(p.index, Kept{&p, files[i]});
      if (fresh) continue;
      if (it->second.line->id == p.id &&
          without_wall_time(Json::parse(it->second.line->text)) == without_wall_time(Json::parse(p.text))) {
        duplicated.push_back(p.index);
      } else {
        conflicts.push_back("point " + std::to_string(p.index) + ": different results in " +
                            abbreviate(it->second.file) + " and " + abbreviate(files[i]));
      }
    }
  }
  if (!conflicts.empty()) {
    std::cerr << "ufm-sim merge: error: " << conflicts.size() << " conflict(s), nothing written:\n";
    for (std::size_t i = 0; i < conflicts.size() && i < 50; ++i) std::cerr << "  " << conflicts[i] << "\n";
    if (conflicts.size() > 50) std::cerr << "  …\n";
    return kExitBadInput;
  }
  // The lines are written from where they were read, not copied into one text: shards of a large
  // grid hold gigabytes.
  const std::string header_line = header.dump() + "\n";
  std::vector<std::string_view> parts{header_line};
  std::vector<long> missing;
  for (long k = 0; k < total; ++k) {
    const auto it = points.find(k);
    if (it == points.end()) {
      missing.push_back(k);
      continue;
    }
    parts.push_back(it->second.line->text);
    parts.push_back("\n");
  }
  try {
    io::write_file_atomic(out, parts);
  } catch (const io::IoError& e) {
    std::cerr << "ufm-sim merge: error: --out: " << e.what() << "\n";
    return kExitOutputFailed;
  }
  std::sort(duplicated.begin(), duplicated.end());
  duplicated.erase(std::unique(duplicated.begin(), duplicated.end()), duplicated.end());
  std::cerr << "ufm-sim merge: " << points.size() << "/" << total << " points from " << files.size() << " file(s) in " << out;
  if (!duplicated.empty()) std::cerr << "; " << duplicated.size() << " duplicated (same result, kept once): " << ranges(duplicated);
  std::cerr << "\n";
  if (!missing.empty()) {
    std::cerr << "ufm-sim merge: " << missing.size() << " point(s) missing: " << ranges(missing)
              << "\n  run them with: ufm-sim sweep GRID.json --out " << out << "\n";
    return kExitDiverged;  // 3: written, incomplete
  }
  return kExitOk;
}

}  // namespace ufm
