#pragma once
/// Sweep grids: a JSON file naming a command, a `base` of options and `axes` to vary, expanded
/// into a fixed, documented list of points, each resolved and validated exactly as `ufm-sim run`
/// (or `theory`, `toy`) would resolve its options.
///
/// | key     | meaning                                                                          |
/// |---------|----------------------------------------------------------------------------------|
/// | command | "run" (default), "theory" or "toy"                                               |
/// | base    | options shared by every point, as in a --config file (long names, '_' for '-')   |
/// | axes    | {"name": values, ...} in file order; values: a non-empty list, or               |
/// |         | {"logspace": [a, b, n]} (10^a … 10^b), {"linspace": [a, b, n]},                  |
/// |         | {"range": [a, b]} / {"range": [a, b, step]} (integers, b excluded, as Python's)   |
/// | seeds   | s >= 1: a last axis "seed" = 0 … s−1                                              |
/// | zip     | [["lambda_w", "lambda_h"], ...]: axes of equal length that vary together          |
/// | description | free text, ignored                                                           |
///
/// Order: the product of the axes (a zip group stands at the place of its first axis), the first
/// axis slowest, the seed axis fastest. Generated numbers are rounded to 15 significant digits, so
/// {"logspace": [-4, -2, 3]} is exactly [0.0001, 0.001, 0.01].
///
/// Identity: a point's id is FNV-1a 64 of the UTF-8 text of its resolved `config` as nlohmann::json
/// dumps it compactly (the same text as Python's json.dumps(config, separators=(",", ":"),
/// ensure_ascii=False) for the values ufm-sim writes), as 16 lowercase hex digits. The grid hash is
/// FNV-1a 64 of the command, a newline, then every point id followed by a newline, in point order.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ufm/config/run_config.hpp"
#include "ufm/theory/toy_flow.hpp"

namespace ufm::sweep {

enum class SweepCommand { kRun, kTheory, kToy };
std::string_view to_string(SweepCommand command);

/// FNV-1a 64 of `bytes` as 16 lowercase hex digits.
std::string fnv1a64_hex(std::string_view bytes);
/// The id of a resolved config: fnv1a64_hex(config.dump()).
std::string point_id(const nlohmann::ordered_json& config);

/// One axis (or the seed axis) after expansion of its range.
struct Axis {
  std::string name;  ///< option name as a config key ('_' for '-')
  std::vector<nlohmann::ordered_json> values;
};

/// What a point resolves to: the command's own input, and the `config` its output records.
struct ResolvedPoint {
  nlohmann::ordered_json config;  ///< the resolved config (the output document's `config`)
  ResolvedConfig run;             ///< command run / theory
  ToyFlowInput toy;               ///< command toy
};

/// One point of the grid, resolved and validated.
struct SweepPoint {
  long index = 0;
  std::string id;
  nlohmann::ordered_json values;  ///< {"axis": value, ...} of this point, axis order
  /// Kept for the points parse_grid was asked to keep (a shard's own); null for the others, of which
  /// a sweep needs the id alone. About 5 KB a point where kept, 0.6 KB where not (id, values and
  /// their share of the sweep's maps), so a task of a job array over 10^6 points holds 0.6 GB, not 5 GB.
  std::shared_ptr<const ResolvedPoint> resolved;
};

struct Grid {
  SweepCommand command = SweepCommand::kRun;
  nlohmann::ordered_json source;  ///< the grid file's object, as read
  std::vector<Axis> axes;         ///< seed last when `seeds` is given
  std::vector<SweepPoint> points;
  std::string hash;               ///< see above
};

/// Raised for a bad grid (exit 2); the message names the file, the key or axis, the value and why.
class GridError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Parses, expands and validates every point of a grid (`name` labels messages, e.g. the path).
/// Throws GridError on the first problem: unknown key, empty axis, unknown option, bad zip, a
/// point that the command would reject, or two points with the same resolved config.
/// `keep(index)`: whether point `index` keeps its ResolvedPoint (every point when keep is empty).
/// Every point is resolved and validated either way: its id is the hash of its resolved config.
/// `threads`: OpenMP threads that resolve the points (at least 64 points each); the grid, and the
/// first problem reported, are the same for any number.
Grid parse_grid(const nlohmann::ordered_json& grid, const std::string& name,
                const std::function<bool(long)>& keep = {}, int threads = 1);
/// Reads the file (at most 16 MiB), then parse_grid. Throws GridError.
Grid load_grid(const std::string& path, const std::function<bool(long)>& keep = {}, int threads = 1);

/// "lambda=0.001 classes=4 seed=2": a point's axis values, for messages and --list.
std::string describe(const nlohmann::ordered_json& values);

}  // namespace ufm::sweep
