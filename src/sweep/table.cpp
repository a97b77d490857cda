#include "ufm/sweep/table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "ufm/config/argument_check.hpp"
#include "ufm/config/config_error.hpp"
#include "ufm/config/number_parse.hpp"

namespace ufm::sweep {
namespace {

using Json = nlohmann::ordered_json;

std::string column_key(std::string name) {
  for (char& ch : name)
    if (ch == '-') ch = '_';
  return name;
}

std::string cell(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return format_number(v.get<double>());
  if (v.is_null()) return "";
  return v.dump();
}

std::string short_number(double x) {
  if (std::isnan(x)) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", x);
  return buffer;
}

std::string csv_quote(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

}  // namespace

Table make_table(const ResultsFile& file, std::vector<std::string> by, const std::vector<std::string>& metrics) {
  Table t;
  for (std::string& b : by) b = column_key(b);
  if (by.empty() && file.header && (*file.header)["grid"].contains("axes") && (*file.header)["grid"]["axes"].is_object())
    for (const auto& [key, _] : (*file.header)["grid"]["axes"].items())
      if (column_key(key) != "seed") by.push_back(column_key(key));
  t.by = by;
  t.metrics = metrics;
  std::vector<const PointLine*> lines;
  for (const PointLine& p : file.points) lines.push_back(&p);
  std::stable_sort(lines.begin(), lines.end(), [](const PointLine* a, const PointLine* b) { return a->index < b->index; });
  std::map<std::string, std::size_t> row_of;
  std::vector<std::vector<std::vector<double>>> samples;  // row, metric, values
  std::vector<bool> named(metrics.size(), false);  // the metric is in some finished point's final (null too)
  std::vector<std::string> example;                // the names in the first finished point's final
  for (const PointLine* p : lines) {
    const Json j = Json::parse(p->text);  // read_results checked it; parsed one line at a time
    std::vector<Json> keys;
    for (const std::string& b : by) {
      if (j.contains("config") && j["config"].contains(b)) keys.push_back(j["config"][b]);
      else if (j.contains("values") && j["values"].contains(b)) keys.push_back(j["values"][b]);
      else throw ResultsError("--by: '" + b + "' is neither an option in the points' config nor an axis");
    }
    std::string group;
    for (const Json& k : keys) group += k.dump() + "\x1f";
    auto it = row_of.find(group);
    if (it == row_of.end()) {
      it = row_of.emplace(group, t.rows.size()).first;
      t.rows.push_back({keys, 0, 0, {}, {}, {}});
      samples.emplace_back(metrics.size());
    }
    TableRow& row = t.rows[it->second];
    ++row.points;
    const bool ok = j.value("exit_status", 1) == 0;
    if (!ok) {
      ++row.failed;
      continue;
    }
    const Json& final = j.contains("final") && j["final"].is_object() ? j["final"]
                        : j.contains("prediction") && j["prediction"].is_object() ? j["prediction"]
                                                                                   : Json::object();
    if (example.empty())
      for (const auto& [name, _] : final.items()) example.push_back(name);
    for (std::size_t m = 0; m < metrics.size(); ++m) {
      if (!final.contains(metrics[m])) continue;
      named[m] = true;
      if (final[metrics[m]].is_number()) samples[it->second][m].push_back(final[metrics[m]].get<double>());
    }
  }
  // A name in no finished point is a typo or a metric these runs do not report: its column would be
  // empty in every row. Judged only when some point finished (a sweep may still be running).
  for (std::size_t m = 0; m < metrics.size() && !example.empty(); ++m) {
    if (named[m]) continue;
    const std::string near = nearest_name(metrics[m], example);
    throw ConfigError("--metrics", metrics[m],
                      "a metric of the points' final checkpoint" +
                          (near.empty() ? " (e.g. " + example.front() + ")" : " (did you mean " + near + "?)"));
  }
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    for (const std::vector<double>& xs : samples[r]) {
      double mean = std::nan(""), sd = std::nan("");
      if (!xs.empty()) {
        mean = 0;
        for (double x : xs) mean += x;
        mean /= static_cast<double>(xs.size());
        sd = 0;
        for (double x : xs) sd += (x - mean) * (x - mean);
        sd = xs.size() > 1 ? std::sqrt(sd / static_cast<double>(xs.size() - 1)) : 0.0;
      }
      t.rows[r].mean.push_back(mean);
      t.rows[r].spread.push_back(sd);
      t.rows[r].counts.push_back(static_cast<long>(xs.size()));
    }
  }
  return t;
}

std::string format_table(const Table& t) {
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> head = t.by;
  head.push_back("n");
  head.push_back("failed");
  for (const std::string& m : t.metrics) {
    head.push_back(m);
    head.push_back(m + "_sd");
  }
  cells.push_back(head);
  for (const TableRow& r : t.rows) {
    std::vector<std::string> row;
    for (const Json& k : r.keys) row.push_back(cell(k));
    row.push_back(std::to_string(r.points));
    row.push_back(std::to_string(r.failed));
    for (std::size_t m = 0; m < t.metrics.size(); ++m) {
      row.push_back(short_number(r.mean[m]));
      row.push_back(short_number(r.spread[m]));
    }
    cells.push_back(row);
  }
  std::vector<std::size_t> width(head.size(), 0);
  for (const auto& row : cells)
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::ostringstream out;
  for (const auto& row : cells) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      out << (c ? "  " : "") << row[c];
      if (c + 1 < row.size()) out << std::string(width[c] - row[c].size(), ' ');
    }
    out << "\n";
  }
  return out.str();
}

std::string format_csv(const Table& t) {
  std::ostringstream out;
  std::vector<std::string> head = t.by;
  head.insert(head.end(), {"n", "failed"});
  for (const std::string& m : t.metrics) head.insert(head.end(), {m, m + "_sd", m + "_n"});
  for (std::size_t c = 0; c < head.size(); ++c) out << (c ? "," : "") << csv_quote(head[c]);
  out << "\n";
  for (const TableRow& r : t.rows) {
    std::vector<std::string> row;
    for (const Json& k : r.keys) row.push_back(cell(k));
    row.push_back(std::to_string(r.points));
    row.push_back(std::to_string(r.failed));
    for (std::size_t m = 0; m < t.metrics.size(); ++m) {
      row.push_back(std::isnan(r.mean[m]) ? "" : format_number(r.mean[m]));
      row.push_back(std::isnan(r.spread[m]) ? "" : format_number(r.spread[m]));
      row.push_back(std::to_string(r.counts[m]));
    }
    for (std::size_t c = 0; c < row.size(); ++c) out << (c ? "," : "") << csv_quote(row[c]);
    out << "\n";
  }
  return out.str();
}

}  // namespace ufm::sweep
