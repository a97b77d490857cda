#pragma once
/// The `--data` sources of `ufm-sim net`, one string each, dispatched to the readers:
///
/// | spec            | reader                                                         |
/// |-----------------|----------------------------------------------------------------|
/// | `fashion-mnist` | load_fashion_mnist() (Debian package dataset-fashion-mnist)    |
/// | `idx:DIR`       | load_idx_dir(DIR)  (MNIST layout, plain or .gz)                |
/// | `cifar10:DIR`   | load_cifar10_dir(DIR) (CIFAR-10 binary batches)                |
/// | `csv:FILE`      | load_csv(FILE, options.label_column)                           |
/// | `synthetic`     | make_gaussian_mixture(options.synthetic…)                      |
///
/// No transform is applied: image sources hold raw bytes (scale_pixels), nothing is standardized.
#include <cstdint>
#include <string>

#include "ufm/data/dataset.hpp"

namespace ufm::data {

struct DataSourceOptions {
  std::string label_column = "-1";  ///< csv: index (negative from the end) or header name
  struct Synthetic {
    Index classes = 4;
    Index per_class = 10;
    Index input_dim = 16;
    double separation = 3.0;
    std::uint64_t seed = 0;
    Index test_per_class = 10;  ///< 0: no test split
  } synthetic;
};

/// Loads `spec` (table above). An unknown spec, or an empty DIR/FILE, is a DataError naming the
/// spec and listing the valid forms; the readers' own errors pass through unchanged.
DataSplit load_data(const std::string& spec, const DataSourceOptions& options = {});

}  // namespace ufm::data
