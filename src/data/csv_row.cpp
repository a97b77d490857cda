#include "ufm/data/csv_row.hpp"

#include <charconv>
#include <limits>

#include "ufm/data/data_error.hpp"

namespace ufm::data {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

/// from_chars takes no leading '+'; accept one (and not "+-1").
std::string_view drop_plus(std::string_view s) {
  if (s.size() > 1 && s[0] == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  return s;
}

}  // namespace

std::string csv_position(long line_no, long column) {
  return "line " + std::to_string(line_no) + ", column " + std::to_string(column);
}

std::vector<std::string> split_csv_line(std::string_view line, const std::string& file, long line_no) {
  std::vector<std::string> cells;
  std::size_t i = 0;
  for (;;) {
    const long column = static_cast<long>(cells.size()) + 1;
    while (i < line.size() && is_blank(line[i])) ++i;
    std::string cell;
    if (i < line.size() && line[i] == '"') {
      ++i;
      for (;;) {
        if (i >= line.size())
          throw DataError(file, csv_position(line_no, column), "unterminated quote (quoted line breaks are not supported)");
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            cell.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        cell.push_back(line[i++]);
      }
      while (i < line.size() && is_blank(line[i])) ++i;
      if (i < line.size() && line[i] != ',')
        throw DataError(file, csv_position(line_no, column), "unexpected text after a closing quote");
    } else {
      const std::size_t end = std::min(line.find(',', i), line.size());
      cell = std::string(trim(line.substr(i, end - i)));
      i = end;
    }
    cells.push_back(std::move(cell));
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return cells;
}

bool parse_csv_number(std::string_view s, double& out) {
  s = drop_plus(s);
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, std::chars_format::general);
  if (end != s.data() + s.size()) return false;
  if (ec == std::errc::result_out_of_range) {  // "1e999": a number, but not a finite double
    out = std::numeric_limits<double>::infinity();
    return true;
  }
  return ec == std::errc();
}

bool parse_csv_integer(std::string_view s, long long& out) {
  s = drop_plus(s);
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace ufm::data
