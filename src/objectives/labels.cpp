#include "ufm/objectives/labels.hpp"

#include <stdexcept>
#include <string>

namespace ufm {

std::vector<int> block_labels(std::span<const Index> counts) {
  std::vector<int> labels;
  for (std::size_t c = 0; c < counts.size(); ++c) labels.insert(labels.end(), counts[c], static_cast<int>(c));
  return labels;
}

std::vector<Index> class_counts(std::span<const int> labels, Index K) {
  std::vector<Index> counts(K, 0);
  for (int y : labels) {
    if (y < 0 || y >= K)
      throw std::invalid_argument("class_counts(): label " + std::to_string(y) + " outside [0, " +
                                  std::to_string(K) + ")");
    ++counts[y];
  }
  return counts;
}

std::vector<Index> balanced_counts(Index K, Index n) { return std::vector<Index>(K, n); }

}  // namespace ufm
