#include "ufm/config/config_error.hpp"

namespace ufm {

std::string abbreviate(const std::string& text, std::size_t max_chars) {
  if (text.size() <= max_chars) return text;
  return text.substr(0, max_chars) + "...(" + std::to_string(text.size()) + " characters)";
}

}  // namespace ufm
