#include "ufm/data/dataset.hpp"

#include "ufm/data/data_error.hpp"

namespace ufm::data {

std::vector<Index> class_counts(std::span<const int> labels, Index K) {
  std::vector<Index> counts(static_cast<std::size_t>(K), 0);
  for (int y : labels)
    if (y >= 0 && y < K) ++counts[static_cast<std::size_t>(y)];
  return counts;
}

void require_every_class(const Dataset& ds, const std::string& file) {
  const std::vector<Index> counts = class_counts(ds.labels, ds.K);
  for (Index c = 0; c < ds.K; ++c)
    if (counts[static_cast<std::size_t>(c)] == 0)
      throw DataError(file, "class " + std::to_string(c),
                      "no sample has this label, but the labels give K = " + std::to_string(ds.K) +
                          " (every class 0..K-1 must occur in the training set)");
}

}  // namespace ufm::data
