#pragma once
/// The one error type of the data readers (ufm/data/*): a bad, missing or truncated input file.
///
/// The message is one line, "<file>: <position>: <problem>", for example
///   "data/train-images-idx3-ubyte: byte 16: truncated: the header's 60000 images of 28×28 need
///    47040000 bytes after the 16-byte header, the file has 1000"
///   "iris.csv: line 7, column 3: cell 'abc' is not a number"
///   "cifar/data_batch_2.bin: record 17 (byte 52241): label 12 out of range 0..9"
/// and "<file>: <problem>" when no position applies (a missing file). The front end prints it
/// and exits with status 2 (kExitBadInput).
#include <stdexcept>
#include <string>

namespace ufm::data {

class DataError : public std::runtime_error {
 public:
  /// \param file     the file (or directory, or data set name) the problem is in
  /// \param position "byte 16", "record 5 (byte 21)", "line 3, column 2", …; empty if none applies
  /// \param problem  what is wrong, in plain words
  DataError(std::string file, std::string position, std::string problem);

  const std::string& file() const { return file_; }
  const std::string& position() const { return position_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string file_;
  std::string position_;
  std::string problem_;
};

/// "byte 16"
std::string byte_position(unsigned long long offset);
/// "record 5 (byte 21)"
std::string record_position(unsigned long long record, unsigned long long offset);

}  // namespace ufm::data
