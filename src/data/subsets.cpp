#include "ufm/data/subsets.hpp"

#include <algorithm>
#include <stdexcept>

#include "ufm/data/data_error.hpp"

namespace ufm::data {

std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t m) {
  const std::uint64_t threshold = (0 - m) % m;  // 2^64 mod m
  for (;;) {
    const std::uint64_t r = rng();
    if (r >= threshold) return r % m;
  }
}

std::vector<Index> stratified_indices(std::span<const int> labels, Index per_class, std::uint64_t seed,
                                      const std::string& source) {
  if (per_class < 1) throw std::invalid_argument("stratified_indices(): 'per_class' must be at least 1");
  if (labels.empty()) throw std::invalid_argument("stratified_indices(): no labels");
  const int max_label = *std::max_element(labels.begin(), labels.end());
  if (*std::min_element(labels.begin(), labels.end()) < 0)
    throw std::invalid_argument("stratified_indices(): a negative label");
  std::vector<std::vector<Index>> by_class(static_cast<std::size_t>(max_label) + 1);
  for (std::size_t i = 0; i < labels.size(); ++i)
    by_class[static_cast<std::size_t>(labels[i])].push_back(static_cast<Index>(i));
  for (std::size_t c = 0; c < by_class.size(); ++c)
    if (static_cast<Index>(by_class[c].size()) < per_class)
      throw DataError(source, "class " + std::to_string(c),
                      "has " + std::to_string(by_class[c].size()) + " samples, fewer than the " +
                          std::to_string(per_class) + " per class asked");
  std::mt19937_64 rng(seed);
  std::vector<Index> out;
  out.reserve(by_class.size() * static_cast<std::size_t>(per_class));
  for (std::vector<Index>& a : by_class) {
    const auto m = static_cast<std::uint64_t>(a.size());
    for (std::uint64_t j = 0; j < static_cast<std::uint64_t>(per_class); ++j)
      std::swap(a[j], a[j + uniform_below(rng, m - j)]);
    std::sort(a.begin(), a.begin() + per_class);
    out.insert(out.end(), a.begin(), a.begin() + per_class);
  }
  return out;
}

Dataset select_samples(const Dataset& ds, std::span<const Index> indices, const std::string& name_suffix) {
  Dataset out;
  out.K = ds.K;
  out.name = ds.name + name_suffix;
  out.class_names = ds.class_names;
  out.raw_bytes = ds.raw_bytes;
  out.X.resize(ds.input_dim(), static_cast<Index>(indices.size()));
  out.labels.reserve(indices.size());
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const Index i = indices[k];
    if (i < 0 || i >= ds.size())
      throw std::invalid_argument("select_samples(): index " + std::to_string(i) + " out of range for " +
                                  std::to_string(ds.size()) + " samples");
    out.X.col(static_cast<Index>(k)) = ds.X.col(i);
    out.labels.push_back(ds.labels[static_cast<std::size_t>(i)]);
  }
  return out;
}

Dataset balanced_subset(const Dataset& ds, Index per_class, std::uint64_t seed) {
  const std::vector<Index> counts = class_counts(ds.labels, ds.K);  // also the classes above the largest label
  for (Index c = 0; c < ds.K; ++c)
    if (per_class >= 1 && counts[static_cast<std::size_t>(c)] < per_class)
      throw DataError(ds.name, "class " + std::to_string(c),
                      "has " + std::to_string(counts[static_cast<std::size_t>(c)]) + " samples, fewer than the " +
                          std::to_string(per_class) + " per class asked");
  const std::vector<Index> indices = stratified_indices(ds.labels, per_class, seed, ds.name);
  return select_samples(ds, indices,
                        " [balanced " + std::to_string(per_class) + " per class, seed " + std::to_string(seed) + "]");
}

}  // namespace ufm::data
