#pragma once
/// `ufm-sim sweep --table`: a pivot of the final metrics of a results file, grouped by options.
#include <string>
#include <vector>

#include "ufm/sweep/results_file.hpp"

namespace ufm::sweep {

struct TableRow {
  std::vector<nlohmann::ordered_json> keys;  ///< the --by values of the group
  long points = 0;                           ///< lines in the group
  long failed = 0;                           ///< of which exit_status != 0 (left out of the statistics)
  std::vector<double> mean, spread;          ///< per metric; NaN when no point has a number
  std::vector<long> counts;                  ///< per metric: the points averaged
};

struct Table {
  std::vector<std::string> by, metrics;
  std::vector<TableRow> rows;  ///< groups in order of their first point (grid order)
};

/// Groups the points of `file` by the `by` options (read from each line's config, else its values)
/// and takes mean and sample standard deviation (n − 1; 0 for one point) of each metric of the
/// final checkpoint (`final`, or `prediction` for theory sweeps) over the points with exit_status 0.
/// An empty `by` means the grid's axes except seed. Throws ResultsError for an unknown --by, and
/// ConfigError for a metric that no finished point's final checkpoint has (a null value counts as had).
Table make_table(const ResultsFile& file, std::vector<std::string> by, const std::vector<std::string>& metrics);

/// Aligned text: one row per group, `metric` (mean) and `metric_sd` columns, 4 significant digits.
std::string format_table(const Table& table);
/// CSV with a header row; numbers at full precision, empty cells for missing values.
std::string format_csv(const Table& table);

}  // namespace ufm::sweep
