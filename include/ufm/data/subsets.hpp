#pragma once
/// Seeded, stratified subsets: the same seed gives the same samples in the same order.
///
/// Selection (exactly): rng = std::mt19937_64(seed); for c = 0, 1, …, K−1 in turn, take the
/// indices of class c in increasing order, a_0 … a_{m−1}, and run per_class steps of Fisher–Yates,
/// for j = 0 … per_class−1: swap a_j with a_{j+r}, r = uniform_below(rng, m − j); keep a_0 …
/// a_{per_class−1}, sorted increasingly. The result is class 0's indices, then class 1's, …
/// (class blocks, the project's label convention). uniform_below(rng, m) = rng() % m after
/// rejecting draws below 2^64 mod m (unbiased, and unlike std::uniform_int_distribution the same
/// in every standard library).
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "ufm/data/dataset.hpp"

namespace ufm::data {

/// A draw uniform in 0..m−1 (m ≥ 1), as defined above.
std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t m);

/// per_class indices of each class 0..K−1 (K = largest label + 1), selected as above.
/// Throws DataError(source, "class c", "has n samples, fewer than the p per class asked") and
/// std::invalid_argument when per_class < 1 or a label is negative.
std::vector<Index> stratified_indices(std::span<const int> labels, Index per_class, std::uint64_t seed,
                                      const std::string& source = "labels");

/// The samples ds.X.col(i), ds.labels[i] for i in `indices`, in that order; K, name (with a
/// suffix), class_names and raw_bytes carried over.
Dataset select_samples(const Dataset& ds, std::span<const Index> indices, const std::string& name_suffix);

/// select_samples(ds, stratified_indices(ds.labels, per_class, seed, ds.name)): per_class samples of
/// every class, in class blocks.
Dataset balanced_subset(const Dataset& ds, Index per_class, std::uint64_t seed);

}  // namespace ufm::data
