#pragma once
/// A labelled data set as every reader returns it: one plain value, no class hierarchy.
///
/// Representation (one, for every source): the features are ONE fp64 column-major matrix X,
/// input_dim × N, one column per sample, the project's H (d×N) convention, so a minibatch is a
/// block of columns (`X.middleCols(start, size)`, no copy). Image readers (IDX, CIFAR-10) store the
/// raw byte values 0..255 exactly as doubles and set `raw_bytes`; `scale_pixels` (transforms.hpp)
/// maps them to [0, 1] in place. Memory is 8 bytes per feature per sample: Fashion-MNIST's
/// 70,000 × 784 take 440 MB, CIFAR-10's 60,000 × 3072 take 1.47 GB (balanced_subset for less).
///
/// The test split is a second Dataset in a DataSplit (a struct cannot hold itself by value; the
/// pair keeps both splits as values that move without copying).
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ufm/linalg.hpp"

namespace ufm::data {

struct Dataset {
  Mat X;                                 ///< input_dim × N features, one column per sample
  std::vector<int> labels;               ///< N labels in 0..K−1
  Index K = 0;                           ///< number of classes
  std::string name;                      ///< source, e.g. "fashion-mnist (train)", "csv:iris.csv"
  std::vector<std::string> class_names;  ///< class c's name (CSV string labels); empty otherwise
  bool raw_bytes = false;                ///< X holds byte values 0..255 (IDX, CIFAR) until scale_pixels

  Index input_dim() const { return X.rows(); }
  Index size() const { return X.cols(); }
};

/// A training set and, when the source has one, its test set (same input_dim and K).
struct DataSplit {
  Dataset train;
  std::optional<Dataset> test;
};

/// counts[c] = number of samples with label c, c = 0..K−1. Labels outside 0..K−1 are not counted.
std::vector<Index> class_counts(std::span<const int> labels, Index K);

/// Throws DataError(file, "class c", …) when some class in 0..K−1 has no sample: every class of a
/// training set must occur, or its class mean (and every NC metric) is undefined.
void require_every_class(const Dataset& ds, const std::string& file);

}  // namespace ufm::data
