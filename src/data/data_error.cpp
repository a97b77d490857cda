#include "ufm/data/data_error.hpp"

#include <utility>

#include "ufm/config/config_error.hpp"

namespace ufm::data {
namespace {

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

std::string join(const std::string& file, const std::string& position, const std::string& problem) {
  return one_line(abbreviate(file) + ": " + (position.empty() ? "" : position + ": ") + problem);
}

}  // namespace

DataError::DataError(std::string file, std::string position, std::string problem)
    : std::runtime_error(join(file, position, problem)),
      file_(std::move(file)),
      position_(std::move(position)),
      problem_(std::move(problem)) {}

std::string byte_position(unsigned long long offset) { return "byte " + std::to_string(offset); }

std::string record_position(unsigned long long record, unsigned long long offset) {
  return "record " + std::to_string(record) + " (" + byte_position(offset) + ")";
}

}  // namespace ufm::data
