#pragma once
/// The lexical part of the CSV reader: one line into cells, one cell into a number.
#include <string>
#include <string_view>
#include <vector>

namespace ufm::data {

/// Splits one line (without its line terminator) at commas into cells, each trimmed of
/// surrounding spaces and tabs. A cell may be double-quoted ("a, b" keeps its comma; "" inside
/// quotes is one "); the quotes are removed. Throws DataError(file, "line L, column C", …) on an
/// unterminated quote or text after a closing quote. Quoted newlines are not supported.
std::vector<std::string> split_csv_line(std::string_view line, const std::string& file, long line_no);

/// The whole of s as a double (decimal or exponent form, optional sign; "nan" and "inf" parse,
/// the caller rejects them); false if s is not entirely a number.
bool parse_csv_number(std::string_view s, double& out);

/// The whole of s as an integer (optional sign); false otherwise or out of range.
bool parse_csv_integer(std::string_view s, long long& out);

/// "line 7, column 3" (1-based line and column numbers; a column is a cell, not a character).
std::string csv_position(long line_no, long column);

}  // namespace ufm::data
