#pragma once
/// In-place feature transforms of a data set (X is held once; nothing is copied).
#include "ufm/data/dataset.hpp"

namespace ufm::data {

/// Maps raw byte pixels to [0, 1]: X ← X / 255 (an exact division per entry), raw_bytes ← false.
/// Throws std::invalid_argument unless ds.raw_bytes (scaling twice would be a silent error).
void scale_pixels(Dataset& ds);
/// scale_pixels on the training split and, if present, the test split.
void scale_pixels(DataSplit& split);

/// Per-feature statistics of a training set: x' = (x − mean) / scale.
struct Standardization {
  Vec mean;   ///< per-feature mean over the training samples
  Vec scale;  ///< per-feature population standard deviation (÷N), 1 for a constant feature
};

/// Per-feature mean and population standard deviation (÷N) of the TRAINING set only, applied to
/// train and test alike. A feature that is constant on the training set (max = min) gets
/// mean = that value exactly and scale = 1: it becomes exactly 0 on train, centered on test, and
/// is never divided by 0. Clears raw_bytes. Throws std::invalid_argument on an empty training set
/// or a test set with another input_dim.
Standardization standardize(Dataset& train);
Standardization standardize(Dataset& train, Dataset& test);
/// Both splits of `split` (the test split, if present, with the training statistics).
Standardization standardize(DataSplit& split);

}  // namespace ufm::data
