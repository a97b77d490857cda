#pragma once
/// CIFAR-10, binary version (cifar-10-binary.tar.gz, unpacked).
///
/// Each file is a sequence of 3073-byte records: 1 label byte (0..9), then 3072 pixel bytes,
/// the 1024 red, then 1024 green, then 1024 blue values of a 32×32 image, each channel
/// row-major. Column i of X is record i's 3072 pixel bytes in that file order, raw 0..255.
///
/// Checks (DataError naming the file, the record and its byte offset): missing or empty file, a
/// size that is not a multiple of 3073 (truncated: the incomplete record's index), label > 9.
/// Sizes are checked against the files on disk before X is allocated.
#include <filesystem>
#include <span>

#include "ufm/data/dataset.hpp"

namespace ufm::data {

inline constexpr Index kCifarPixels = 3072;
inline constexpr Index kCifarRecord = 1 + kCifarPixels;
inline constexpr Index kCifarClasses = 10;

/// The records of `files`, concatenated in order; K = 10; raw_bytes = true.
Dataset read_cifar10_batches(std::span<const std::filesystem::path> files, const std::string& name);

/// DIR/data_batch_1.bin … data_batch_5.bin (train, all five required) and DIR/test_batch.bin
/// (test; optional, no test split when absent). Every class must occur in the training set.
DataSplit load_cifar10_dir(const std::filesystem::path& dir);

}  // namespace ufm::data
