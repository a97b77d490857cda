#include "ufm/app/sweep_command.hpp"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ufm/app/exit_status.hpp"
#include "ufm/app/interrupt.hpp"
#include "ufm/app/progress_bar.hpp"
#include "ufm/app/standard_streams.hpp"
#include "ufm/app/steady_seconds.hpp"
#include "ufm/config/argument_check.hpp"
#include "ufm/config/config_error.hpp"
#include "ufm/config/number_parse.hpp"
#include "ufm/io/atomic_file.hpp"
#include "ufm/io/whole_file.hpp"
#include "ufm/parallel.hpp"
#include "ufm/sweep/grid.hpp"
#include "ufm/sweep/results_file.hpp"
#include "ufm/sweep/run_point.hpp"
#include "ufm/sweep/table.hpp"
#include "ufm/version.hpp"

namespace ufm {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using namespace sweep;

constexpr const char* kSweepHelp =
    "ufm-sim sweep: run every point of a grid on OpenMP threads, one JSONL line per finished point\n"
    "\n"
    "usage: ufm-sim sweep GRID.json --out RESULTS.jsonl [--threads N] [--shard i/m] [--trajectories DIR] [--quiet]\n"
    "       ufm-sim sweep GRID.json --list [--shard i/m]      print the points (index, id, values), run nothing\n"
    "       ufm-sim sweep --table RESULTS.jsonl [--metrics nc1,nc3,objective] [--by lambda,classes] [--csv FILE]\n"
    "\n"
    "GRID.json: {\"command\": \"run\" | \"theory\" | \"toy\", \"base\": {options as in --config files},\n"
    "            \"axes\": {\"lambda\": {\"logspace\": [-4, -2, 3]}, \"classes\": [3, 4, 5], ...},\n"
    "            \"seeds\": 3, \"zip\": [[\"lambda_w\", \"lambda_h\"]]}\n"
    "  axis values: a list, {\"logspace\": [a, b, n]} (10^a .. 10^b), {\"linspace\": [a, b, n]},\n"
    "  {\"range\": [a, b, step]} (integers, b excluded). Points: the first axis slowest, seed fastest; a zip\n"
    "  group varies together at the place of its first axis. Every point is validated as `run` would\n"
    "  before anything runs.\n"
    "\n"
    "options:\n"
    "  --out FILE           results (JSONL); rerunning the same command resumes: points already there are\n"
    "                       skipped, a line cut by a kill is dropped; a file of another grid is refused\n"
    "  --threads N          points run at once, each on one thread (default: OMP_NUM_THREADS or all cores)\n"
    "  --shard i/m          only the points with index = i (mod m); join shards with ufm-sim merge\n"
    "  --trajectories DIR   also keep each point's whole output document as DIR/<id>.json\n"
    "  --list               print the points of the grid (or shard) as JSON lines and exit\n"
    "  --quiet              no progress line (it is drawn only when stderr is a terminal)\n"
    "  --table FILE         print mean and sample sd over seeds of final metrics, one row per group\n"
    "  --metrics LIST       with --table: metrics of the final checkpoint (default nc1,nc3,objective);\n"
    "                       a name no finished point has exits 2\n"
    "  --by LIST            with --table: options to group by (default: the grid's axes except seed)\n"
    "  --csv FILE           with --table: write CSV to FILE instead of the text table\n"
    "\n"
    "point id: FNV-1a 64 (hex) of the compact JSON of the point's resolved config, e.g. in Python\n"
    "  h = 0xcbf29ce484222325\n"
    "  for b in json.dumps(line[\"config\"], separators=(\",\", \":\"), ensure_ascii=False).encode():\n"
    "      h = ((h ^ b) * 0x100000001b3) % 2**64           # id == f\"{h:016x}\"\n"
    "\n"
    "SIGINT / SIGTERM / SIGHUP: no new points start, running points stop and are not written (they run again on\n"
    "resume); every finished point is in the file. A second signal ends the process at once.\n"
    "\n"
    "exit status: 0 every point of the grid (shard) is in --out, whatever each point's own status;\n"
    "2 bad grid or options (nothing run or written); 5 --out or a trajectory file not written (disk full, I/O\n"
    "error: the points finished before it are in --out; rerun to resume); 130/143/129 stopped by\n"
    "SIGINT/SIGTERM/SIGHUP; 1 internal error.\n";

struct SweepArgs {
  std::string grid, out, trajectories, table, csv, shard = "0/1";
  std::string metrics = "nc1,nc3,objective", by;
  int threads = 0;
  bool list = false, quiet = false, help = false;
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> items;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

SweepArgs parse_sweep_args(const std::vector<std::string>& args) {
  SweepArgs a;
  static const std::vector<std::string> valued = {"out", "threads", "shard", "trajectories", "table", "metrics", "by", "csv"};
  static const std::vector<std::string> flags = {"list", "quiet", "help"};
  std::set<std::string> seen;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "-h") arg = "--help";
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      if (!a.grid.empty()) throw ConfigError("sweep: unexpected argument '" + abbreviate(arg, 40) + "' (one grid file)");
      if (arg.empty()) throw ConfigError("GRID", "", "a grid file path");
      a.grid = arg;
      continue;
    }
    std::string name = arg.substr(2), value;
    bool has_value = false;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const bool is_valued = std::find(valued.begin(), valued.end(), name) != valued.end();
    const bool is_flag = std::find(flags.begin(), flags.end(), name) != flags.end();
    if (!is_valued && !is_flag) {
      std::vector<std::string> all = valued;
      all.insert(all.end(), flags.begin(), flags.end());
      const std::string near = nearest_name(name, all);
      throw ConfigError("sweep: unknown option --" + abbreviate(name, 40) + (near.empty() ? "" : " (did you mean --" + near + "?)") +
                        "; see ufm-sim sweep --help");
    }
    if (!seen.insert(name).second) throw ConfigError("--" + name + ": given twice");
    if (is_flag) {
      if (has_value) throw ConfigError("--" + name + ": takes no value");
      (name == "list" ? a.list : name == "quiet" ? a.quiet : a.help) = true;
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) throw ConfigError("--" + name + ": missing value");
      value = args[++i];
    }
    if (value.empty()) throw ConfigError("--" + name, "", "a non-empty value");
    if (name == "out") a.out = value;
    else if (name == "threads") a.threads = static_cast<int>(parse_integer_in("--threads", value, 1, kMaxThreads));
    else if (name == "shard") a.shard = value;
    else if (name == "trajectories") a.trajectories = value;
    else if (name == "table") a.table = value;
    else if (name == "metrics") a.metrics = value;
    else if (name == "by") a.by = value;
    else if (name == "csv") a.csv = value;
  }
  if (a.help) return a;
  if (!a.table.empty()) {
    if (!a.grid.empty() || !a.out.empty() || a.list || !a.trajectories.empty() || seen.count("shard") || seen.count("threads"))
      throw ConfigError("--table: reads a results file; give it alone with --metrics, --by, --csv");
    return a;
  }
  if (seen.count("metrics") || seen.count("by") || seen.count("csv"))
    throw ConfigError("--metrics, --by and --csv go with --table");
  if (a.grid.empty()) throw ConfigError("sweep: missing the grid file (usage: ufm-sim sweep GRID.json --out RESULTS.jsonl)");
  if (a.list && (!a.out.empty() || !a.trajectories.empty() || seen.count("threads")))
    throw ConfigError("--list: prints the points and runs nothing; give it without --out, --threads, --trajectories");
  if (!a.list && a.out.empty()) throw ConfigError("--out: missing (where the results go: ufm-sim sweep GRID.json --out RESULTS.jsonl)");
  return a;
}

int table_mode(const SweepArgs& a) {
  if (!a.csv.empty()) {  // refused before anything is read (status 2); a failed write below is status 5
    try {
      io::check_writable(a.csv);
    } catch (const io::IoError& e) {
      throw ConfigError(std::string("--csv: ") + e.what());
    }
    std::error_code ec;  // false when either does not exist
    if (std::filesystem::equivalent(a.csv, a.table, ec))
      throw ConfigError("--csv", a.csv,
                        "a file other than the results file --table reads (it would replace them)");
  }
  const ResultsFile file = read_results(a.table);
  if (!file.header) throw ResultsError(a.table + ": empty (no header line)");
  const std::vector<std::string> metrics = split_list(a.metrics);
  if (metrics.empty()) throw ConfigError("--metrics", a.metrics, "a comma-separated list of metric names");
  const Table t = make_table(file, split_list(a.by), metrics);
  try {
    write_document(a.csv, a.csv.empty() ? format_table(t) : format_csv(t), "--csv");
  } catch (const io::IoError& e) {
    std::cerr << "ufm-sim sweep: error: " << e.what() << "\n";
    return kExitOutputFailed;
  }
  return kExitOk;
}

std::string seconds_text(double s) {
  char buffer[32];
  if (s < 100) std::snprintf(buffer, sizeof buffer, "%.0f s", s);
  else if (s < 6000) std::snprintf(buffer, sizeof buffer, "%.0f min", s / 60);
  else std::snprintf(buffer, sizeof buffer, "%.1f h", s / 3600);
  return buffer;
}

std::string short_rate(double r) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, r < 10 ? "%.2f" : "%.0f", r);
  return buffer;
}

}  // namespace

int sweep_command(const std::vector<std::string>& args) {
  SweepArgs a;
  Grid grid;
  Shard shard;
  std::unique_ptr<ResultsAppender> out;
  std::vector<const SweepPoint*> pending;
  long done_before = 0, shard_total = 0;
  try {
    a = parse_sweep_args(args);
    if (a.help) {
      std::cout << kSweepHelp;
      return kExitOk;
    }
    if (!a.table.empty()) return table_mode(a);
    shard = parse_shard(a.shard);
    // The points resolve on the sweep's threads, and only this shard's keep their resolved config (a
    // listing keeps none): each task of a job array over a large grid holds its own points, and the
    // ids of the others.
    grid = load_grid(a.grid, [&](long index) { return !a.list && shard.owns(index); },
                     a.threads > 0 ? a.threads : max_threads());
    if (a.list) {
      std::string listing;
      for (const SweepPoint& p : grid.points)
        if (shard.owns(p.index)) listing += Json{{"index", p.index}, {"id", p.id}, {"values", p.values}}.dump() + "\n";
      write_stdout(listing);
      return kExitOk;
    }
    // Everything is checked before the output is touched: a refused output changes nothing.
    std::error_code ec;
    const bool out_exists = fs::exists(a.out, ec);
    if (out_exists) {
      if (!fs::is_regular_file(a.out, ec))
        throw ConfigError("--out", a.out, "a regular file (a sweep appends to and resumes from it) or a new path");
      // not ours / another grid: refused below, unchanged
      const ResultsFile old = read_results(a.out, LineDetail::kIdOnly);
      if (old.header && (*old.header).value("grid_hash", Json()) != grid.hash)
        throw ResultsError("--out: '" + abbreviate(a.out) + "' holds the results of another grid (grid_hash " +
                           (*old.header).value("grid_hash", Json()).dump() + ", this grid \"" + grid.hash + "\"); give another --out");
      // Each point's id must be this grid's at its index. A line edited by hand, or written by an
      // ufm-sim whose resolved config differs (another version), would not be recognised as done:
      // its point would run again and the file would hold two lines for that index.
      for (const PointLine& p : old.points) {
        const auto at = static_cast<std::size_t>(p.index);
        const bool in_grid = p.index >= 0 && at < grid.points.size();
        if (in_grid && grid.points[at].id == p.id) continue;
        const std::string grids = in_grid ? grid.points[at].id : "no such index";
        throw ResultsError("--out: '" + abbreviate(a.out) + "': point " + std::to_string(p.index) + " has id " +
                           abbreviate(p.id, 20) + ", not this grid's (" + grids +
                           "): an edited file, or one written by another ufm-sim version (its header says " +
                           abbreviate((*old.header).value("ufm_sim_version", Json("none")).dump(), 20) + ", this is " +
                           kVersion + "); give another --out");
      }
    } else {
      try {
        io::check_writable(a.out);
      } catch (const io::IoError& e) {
        throw ConfigError(std::string("--out: ") + e.what());
      }
    }
    if (!a.trajectories.empty()) {
      if (const io::FileKind kind = io::file_kind(a.trajectories);
          kind != io::FileKind::kDirectory && kind != io::FileKind::kNothing)
        throw ConfigError("--trajectories", a.trajectories,
                          std::string("a directory or a new path (this is ") + io::describe(kind) + ")");
      try {
        fs::create_directories(a.trajectories);
        io::check_writable(fs::path(a.trajectories) / "probe.json");
      } catch (const std::exception& e) {
        throw ConfigError(std::string("--trajectories: ") + e.what());
      }
    }
    install_interrupt_handlers();
    out = std::make_unique<ResultsAppender>(a.out, make_header(grid, shard));
    std::map<std::string, long> done;  // id -> index, from the file
    for (const PointLine& p : out->existing().points) done.emplace(p.id, p.index);
    for (const SweepPoint& p : grid.points) {
      if (!shard.owns(p.index)) continue;
      ++shard_total;
      if (done.count(p.id)) ++done_before;
      else pending.push_back(&p);
    }
  } catch (const ConfigError& e) {
    std::cerr << "ufm-sim sweep: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const GridError& e) {
    std::cerr << "ufm-sim sweep: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const ResultsError& e) {
    std::cerr << "ufm-sim sweep: error: " << e.what() << "\n";
    return kExitBadInput;
  }

  const int threads = std::max(1, std::min<int>(a.threads > 0 ? a.threads : max_threads(),
                                                static_cast<int>(std::max<std::size_t>(pending.size(), 1))));
  const bool keep = !a.trajectories.empty();
  const double start = steady_seconds();
  ProgressBar bar(!a.quiet && stderr_is_terminal());
  std::mutex progress_mutex;
  long finished = 0, failed = 0, abandoned = 0;
  std::map<std::string, long> statuses;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> fatal{false};
  std::string fatal_message;
  int fatal_status = kExitOutputFailed;
  const auto stop_taking_points = [&](const std::string& message, int status) {  // the first error wins
    std::lock_guard<std::mutex> lock(progress_mutex);
    if (fatal.exchange(true)) return;
    fatal_message = message;
    fatal_status = status;
  };
  const std::atomic<bool>* stop = interrupt_flag();

#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
#endif
  {
#ifdef _OPENMP
    omp_set_num_threads(1);  // a point's own chunk loops stay on this thread: nothing oversubscribes
#endif
    for (;;) {
      if (interrupt_requested() || fatal.load()) break;
      const std::size_t k = next.fetch_add(1);
      if (k >= pending.size()) break;
      const SweepPoint& point = *pending[k];
      try {
        const PointOutcome o = run_point(grid.command, point, keep, stop);
        if (o.stopped) {
          std::lock_guard<std::mutex> lock(progress_mutex);
          ++abandoned;
          continue;
        }
        if (keep && !o.document.is_null())  // before the line: a line in --out means its document exists
          io::write_file_atomic(fs::path(a.trajectories) / (point.id + ".json"), o.document.dump(1) + "\n");
        out->append(o.line.dump() + "\n");
        std::lock_guard<std::mutex> lock(progress_mutex);
        ++finished;
        failed += o.failed;
        ++statuses[o.line["status"].get<std::string>()];
        const double elapsed = steady_seconds() - start;
        const double rate = elapsed > 0 ? finished / elapsed : 0;
        const long remaining = static_cast<long>(pending.size()) - finished;
        bar.update(static_cast<double>(done_before + finished) / static_cast<double>(shard_total),
                   std::to_string(done_before + finished) + "/" + std::to_string(shard_total) + " points, " +
                       std::to_string(failed) + " failed, " + short_rate(rate) + " points/s, ETA " +
                       (rate > 0 ? seconds_text(remaining / rate) : std::string("?")));
      } catch (const io::IoError& e) {  // a trajectory file that cannot be written (disk full, ...)
        stop_taking_points(e.what(), kExitOutputFailed);
      } catch (const ResultsError& e) {  // --out that cannot be appended to (disk full, ...)
        stop_taking_points(e.what(), kExitOutputFailed);
      } catch (const std::exception& e) {  // run_point keeps a point's own errors: this is a bug
        stop_taking_points(std::string("internal error: ") + e.what(), kExitInternal);
      }
    }
  }
  bar.done();
  out->sync();
  const double wall = steady_seconds() - start;
  if (fatal.load()) {
    std::cerr << "ufm-sim sweep: error: " << fatal_message << "\n";
    return fatal_status;
  }
  std::string by_status;
  for (const auto& [status, n] : statuses) by_status += (by_status.empty() ? "" : ", ") + status + " " + std::to_string(n);
  if (!a.quiet || interrupt_requested())
    std::cerr << "ufm-sim sweep: " << done_before + finished << "/" << shard_total << " points in " << a.out << " ("
              << finished << " run now" << (by_status.empty() ? "" : ": " + by_status) << "; " << done_before
              << " already there), " << failed << " failed, " << format_number(std::round(wall * 100) / 100) << " s on "
              << threads << " thread" << (threads > 1 ? "s" : "") << "\n";
  if (interrupt_requested() && finished < static_cast<long>(pending.size())) {
    std::cerr << "ufm-sim sweep: stopped by " << signal_name(interrupt_signal()) << "; " << abandoned
              << " running point(s) abandoned; rerun the same command to resume\n";
    return exit_status_for_signal(interrupt_signal());
  }
  return kExitOk;
}

}  // namespace ufm
