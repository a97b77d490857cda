#pragma once
/// Labelled data from a CSV file: one sample per row, one label column, every other column a
/// numeric feature (in file order).
///
/// - label_column: a 0-based index, negative from the end ("-1" = the last column), or, when the
///   first row is a header, a column name. A string that parses as an integer is an index.
/// - Header: the first row is a header when it has a non-numeric cell in a feature column (or
///   when label_column is a name, which is looked up in the first row).
/// - Labels: when every label cell is an integer, the integers are the classes (≥ 0,
///   K = largest + 1, every class 0..K−1 must occur); otherwise every label cell is a class name
///   and the classes are the distinct names in sorted (byte-wise) order, kept in class_names.
/// - Lexis: ',' separates cells; "\n" or "\r\n" ends a line; blank lines are skipped; a UTF-8
///   byte order mark is skipped; cells are trimmed of spaces and tabs; "double-quoted" cells may
///   hold commas and "" for a quote (no line breaks).
///
/// Errors (DataError "<file>: line L, column C: <problem>"): missing or empty file, fewer than
/// two columns, label column out of range or not in the header, ragged row (its column count and
/// the expected one), a feature cell that is not a number or is NaN/Inf, an empty or negative
/// label, a single class, a class 0..K−1 without samples.
#include <filesystem>
#include <string>

#include "ufm/data/dataset.hpp"

namespace ufm::data {

/// The samples of a CSV file; named "csv:<path>".
Dataset read_csv(const std::filesystem::path& path, const std::string& label_column);

/// read_csv as the training split, with no test split.
DataSplit load_csv(const std::filesystem::path& path, const std::string& label_column);

}  // namespace ufm::data
