#include "ufm/data/csv.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <tuple>
#include <stdexcept>

#include "ufm/config/config_error.hpp"
#include "ufm/data/csv_row.hpp"
#include "ufm/data/data_error.hpp"
#include "ufm/io/whole_file.hpp"

namespace ufm::data {
namespace {

namespace fs = std::filesystem;

bool is_blank_line(const std::string& line) {
  return line.find_first_not_of(" \t") == std::string::npos;
}

std::string column_list(const std::vector<std::string>& cells) {
  std::string out;
  for (std::size_t c = 0; c < cells.size() && c < 12; ++c) out += (c ? ", '" : "'") + abbreviate(cells[c]) + "'";
  if (cells.size() > 12) out += ", …";
  return out;
}

/// The label column's index for a first row of cells, and whether that row is a header.
std::pair<Index, bool> resolve_label_column(const std::string& label_column, const std::vector<std::string>& first,
                                            const std::string& file, long line_no) {
  const auto ncols = static_cast<long long>(first.size());
  long long index = 0;
  if (parse_csv_integer(label_column, index)) {
    if (index < -ncols || index >= ncols)
      throw DataError(file, "line " + std::to_string(line_no),
                      "label column " + abbreviate(label_column) + " out of range for " + std::to_string(ncols) +
                          " columns (0.." + std::to_string(ncols - 1) + ", or -1..-" + std::to_string(ncols) +
                          " from the end)");
    const Index label = static_cast<Index>(index < 0 ? index + ncols : index);
    double value = 0;
    bool header = false;
    for (Index c = 0; c < ncols; ++c)
      if (c != label && !parse_csv_number(first[static_cast<std::size_t>(c)], value)) header = true;
    return {label, header};
  }
  const auto it = std::find(first.begin(), first.end(), label_column);
  if (it == first.end())
    throw DataError(file, "line " + std::to_string(line_no),
                    "no column named '" + abbreviate(label_column) + "' in the header row (" + column_list(first) +
                        ")");
  return {static_cast<Index>(it - first.begin()), true};
}

/// Turns the label cells into classes 0..K−1 (see csv.hpp) and checks them.
void assign_labels(Dataset& ds, const std::vector<std::string>& texts, const std::vector<long>& lines, Index label_col,
                   const std::string& file) {
  const std::size_t n = texts.size();
  std::vector<long long> ints(n);
  bool all_integers = true;
  for (std::size_t i = 0; i < n && all_integers; ++i) all_integers = parse_csv_integer(texts[i], ints[i]);
  ds.labels.resize(n);
  if (all_integers) {
    std::size_t arg_max = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (ints[i] < 0)
        throw DataError(file, csv_position(lines[i], label_col + 1),
                        "label " + abbreviate(texts[i]) + " is negative (integer labels are the classes 0..K-1)");
      if (ints[i] > ints[arg_max]) arg_max = i;
    }
    if (ints[arg_max] >= static_cast<long long>(n))
      throw DataError(file, csv_position(lines[arg_max], label_col + 1),
                      "label " + abbreviate(texts[arg_max]) + " needs K = " + abbreviate(texts[arg_max]) +
                          " + 1 classes, but there are only " + std::to_string(n) +
                          " samples (every class 0..K-1 must occur)");
    for (std::size_t i = 0; i < n; ++i) ds.labels[i] = static_cast<int>(ints[i]);
    ds.K = static_cast<Index>(ints[arg_max] + 1);
  } else {
    std::map<std::string, int> classes;  // sorted byte-wise
    for (const std::string& t : texts) classes.emplace(t, 0);
    int next = 0;
    for (auto& [name, c] : classes) {
      c = next++;
      ds.class_names.push_back(name);
    }
    for (std::size_t i = 0; i < n; ++i) ds.labels[i] = classes.at(texts[i]);
    ds.K = static_cast<Index>(classes.size());
  }
  if (ds.K < 2)
    throw DataError(file, "",
                    "every sample has the label '" + abbreviate(texts.front()) + "': at least 2 classes are needed");
  require_every_class(ds, file);
}

}  // namespace

Dataset read_csv(const fs::path& path, const std::string& label_column) {
  if (label_column.empty()) throw std::invalid_argument("read_csv(): 'label_column' must not be empty");
  const std::string file = path.string();
  // A device never ends (/dev/zero) or waits for typing (a terminal); a pipe ends with its writer.
  const io::FileKind kind = io::file_kind(path);
  if (kind == io::FileKind::kNothing) throw DataError(file, "", "no such file");
  if (kind == io::FileKind::kDirectory) throw DataError(file, "", "is a directory, expected a CSV file");
  if (kind != io::FileKind::kRegularFile && kind != io::FileKind::kPipe)
    throw DataError(file, "", std::string("is ") + io::describe(kind) + ", not a regular file or a pipe");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(file, "", "cannot open for reading");

  std::size_t ncols = 0;
  Index label_col = -1;
  long header_line = 0;  // the line that set the column count
  std::vector<double> features;  // sample after sample: X's column-major data
  std::vector<std::string> label_texts;
  std::vector<long> label_lines;
  std::string line;
  long line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line_no == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (is_blank_line(line)) continue;
    std::vector<std::string> cells = split_csv_line(line, file, line_no);
    if (ncols == 0) {
      ncols = cells.size();
      header_line = line_no;
      if (ncols < 2)
        throw DataError(file, "line " + std::to_string(line_no),
                        "1 column; at least 2 are needed (features and a label)");
      bool header = false;
      std::tie(label_col, header) = resolve_label_column(label_column, cells, file, line_no);
      if (header) continue;
    }
    if (cells.size() != ncols)
      throw DataError(file, "line " + std::to_string(line_no),
                      "ragged row: " + std::to_string(cells.size()) + " columns, expected " + std::to_string(ncols) +
                          " (as on line " + std::to_string(header_line) + ")");
    for (std::size_t c = 0; c < ncols; ++c) {
      const long column = static_cast<long>(c) + 1;
      if (static_cast<Index>(c) == label_col) {
        if (cells[c].empty()) throw DataError(file, csv_position(line_no, column), "empty label");
        label_texts.push_back(std::move(cells[c]));
        label_lines.push_back(line_no);
        continue;
      }
      double value = 0;
      if (!parse_csv_number(cells[c], value))
        throw DataError(file, csv_position(line_no, column),
                        cells[c].empty() ? "empty cell, expected a number"
                                         : "cell '" + abbreviate(cells[c]) + "' is not a number");
      if (!std::isfinite(value))
        throw DataError(file, csv_position(line_no, column),
                        "cell '" + abbreviate(cells[c]) + "' is not finite (NaN or Inf)");
      features.push_back(value);
    }
  }
  if (in.bad()) throw DataError(file, "line " + std::to_string(line_no + 1), "read error");
  if (ncols == 0) throw DataError(file, "", "empty file (no rows)");
  if (label_texts.empty()) throw DataError(file, "line " + std::to_string(header_line), "a header row but no data rows");

  Dataset ds;
  ds.name = "csv:" + file;
  const auto n = static_cast<Index>(label_texts.size());
  ds.X = ConstMatMap(features.data(), static_cast<Index>(ncols) - 1, n);
  assign_labels(ds, label_texts, label_lines, label_col, file);
  return ds;
}

DataSplit load_csv(const fs::path& path, const std::string& label_column) {
  return DataSplit{read_csv(path, label_column), std::nullopt};
}

}  // namespace ufm::data
