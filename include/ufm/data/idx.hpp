#pragma once
/// IDX files (the MNIST layout) and the data sets stored in them (MNIST, Fashion-MNIST).
///
/// An IDX file is a big-endian header, then the values in row-major order:
///   images: magic 0x00000803 (uint8, 3 dims), N, rows, cols, then N·rows·cols pixel bytes
///   labels: magic 0x00000801 (uint8, 1 dim),  N,             then N label bytes
/// Files may be gzip-compressed (detected by their magic bytes 1f 8b, whatever their name).
///
/// Checks, each a DataError naming the file, the position and the problem: missing file, wrong
/// magic, zero dims, dims whose product overflows or exceeds what the file can hold (refused
/// before anything is allocated: a hostile header never causes a large allocation; for gzip the
/// bound is DEFLATE's maximal ratio, then the data are read as they arrive), truncated data,
/// bytes after the declared data, label 255 (K is at most 255).
#include <filesystem>
#include <vector>

#include "ufm/data/dataset.hpp"
#include "ufm/linalg.hpp"

namespace ufm::data {

/// Images of an IDX file: X is (rows·cols) × N, column i = image i's pixels in row-major order
/// (the order of the file and of numpy's reshape(N, -1)), raw byte values 0..255.
struct IdxImages {
  Mat X;
  Index rows = 0;
  Index cols = 0;
};

/// Reads an IDX image file (magic 0x00000803), plain or gzip.
IdxImages read_idx_images(const std::filesystem::path& path);

/// Reads an IDX label file (magic 0x00000801), plain or gzip; every label in 0..254.
std::vector<int> read_idx_labels(const std::filesystem::path& path);

/// Reads DIR/train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
/// t10k-labels-idx1-ubyte, each with or without ".gz" (the plain name wins when both exist).
/// K = (largest training label) + 1, which must be ≥ 2; every class 0..K−1 must occur in the
/// training set; test labels must be < K; counts and image sizes must agree. The test split is
/// optional: absent when neither t10k file exists, an error when only one does.
/// X holds raw bytes (raw_bytes = true): apply scale_pixels for [0, 1].
DataSplit load_idx_dir(const std::filesystem::path& dir);

/// Where Debian's dataset-fashion-mnist package installs Fashion-MNIST.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// load_idx_dir(dir), named "fashion-mnist"; 60,000 train / 10,000 test images of 28×28, K = 10.
/// A missing directory is a DataError telling to `apt-get install dataset-fashion-mnist`.
DataSplit load_fashion_mnist(const std::filesystem::path& dir = kFashionMnistDir);

}  // namespace ufm::data
