#pragma once
/// Class counts and the label vector of a UFM data set.
#include <span>
#include <vector>

#include "ufm/linalg.hpp"

namespace ufm {

/// Labels in class blocks: the first counts[0] samples are class 0, and so on.
std::vector<int> block_labels(std::span<const Index> counts);

/// Number of samples of each class c in [0, K); throws if a label is outside [0, K).
std::vector<Index> class_counts(std::span<const int> labels, Index K);

/// Balanced counts: K classes of n samples.
std::vector<Index> balanced_counts(Index K, Index n);

}  // namespace ufm
