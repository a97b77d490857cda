#include <algorithm>
#include <optional>
#include <string>

#include "ufm/data/data_error.hpp"
#include "ufm/data/idx.hpp"
#include "ufm/io/whole_file.hpp"

namespace ufm::data {
namespace {

namespace fs = std::filesystem;

/// DIR/name or DIR/name.gz, whichever exists (plain first); nullopt if neither. One that exists but is
/// not a regular file (a device never ends, a pipe would be read again for the test split) is named.
std::optional<fs::path> find_idx(const fs::path& dir, const std::string& name) {
  for (const fs::path& p : {dir / name, dir / (name + ".gz")}) {
    const io::FileKind kind = io::file_kind(p);
    if (kind == io::FileKind::kRegularFile) return p;
    if (kind != io::FileKind::kNothing)
      throw DataError(p.string(), "", std::string("is ") + io::describe(kind) + ", not a regular file");
  }
  return std::nullopt;
}

fs::path require_idx(const fs::path& dir, const std::string& name) {
  if (auto p = find_idx(dir, name)) return *p;
  throw DataError((dir / name).string(), "", "missing (neither " + name + " nor " + name + ".gz exists)");
}

/// One split: images + labels, counts checked; K left to the caller.
Dataset read_split(const fs::path& images_path, const fs::path& labels_path, const std::string& name, Index* rows,
                   Index* cols) {
  IdxImages images = read_idx_images(images_path);
  std::vector<int> labels = read_idx_labels(labels_path);
  if (static_cast<Index>(labels.size()) != images.X.cols())
    throw DataError(labels_path.string(), byte_position(4),
                    std::to_string(labels.size()) + " labels, but " + images_path.filename().string() + " has " +
                        std::to_string(images.X.cols()) + " images");
  *rows = images.rows;
  *cols = images.cols;
  Dataset ds;
  ds.X = std::move(images.X);
  ds.labels = std::move(labels);
  ds.name = name;
  ds.raw_bytes = true;
  return ds;
}

}  // namespace

DataSplit load_idx_dir(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw DataError(dir.string(), "", "no such directory");
  const std::string base = "idx:" + dir.string();
  const fs::path train_labels = require_idx(dir, "train-labels-idx1-ubyte");
  DataSplit split;
  Index rows = 0, cols = 0;
  split.train = read_split(require_idx(dir, "train-images-idx3-ubyte"), train_labels, base + " (train)", &rows, &cols);
  Dataset& train = split.train;
  const int max_label = *std::max_element(train.labels.begin(), train.labels.end());
  train.K = max_label + 1;
  if (train.K < 2)
    throw DataError(train_labels.string(), "", "every label is 0: K = 1, at least 2 classes are needed");
  require_every_class(train, train_labels.string());

  const auto test_images = find_idx(dir, "t10k-images-idx3-ubyte");
  const auto test_labels = find_idx(dir, "t10k-labels-idx1-ubyte");
  if (!test_images && !test_labels) return split;  // no test split
  if (!test_images) require_idx(dir, "t10k-images-idx3-ubyte");  // throws: one of the pair is missing
  if (!test_labels) require_idx(dir, "t10k-labels-idx1-ubyte");
  Index test_rows = 0, test_cols = 0;
  Dataset test = read_split(*test_images, *test_labels, base + " (test)", &test_rows, &test_cols);
  if (test_rows != rows || test_cols != cols)
    throw DataError(test_images->string(), byte_position(8),
                    "images of " + std::to_string(test_rows) + "x" + std::to_string(test_cols) +
                        ", but the training images are " + std::to_string(rows) + "x" + std::to_string(cols));
  test.K = train.K;
  for (std::size_t i = 0; i < test.labels.size(); ++i)
    if (test.labels[i] >= test.K)
      throw DataError(test_labels->string(), record_position(i, 8 + i),
                      "label " + std::to_string(test.labels[i]) + " out of range: the training labels give K = " +
                          std::to_string(test.K));
  split.test = std::move(test);
  return split;
}

DataSplit load_fashion_mnist(const fs::path& dir) {
  if (!fs::is_directory(dir))
    throw DataError(dir.string(), "",
                    "Fashion-MNIST not found; install it with `apt-get install dataset-fashion-mnist` "
                    "(Debian package; or pass idx:DIR for a copy elsewhere)");
  DataSplit split = load_idx_dir(dir);
  split.train.name = "fashion-mnist (train)";
  if (split.test) split.test->name = "fashion-mnist (test)";
  return split;
}

}  // namespace ufm::data
