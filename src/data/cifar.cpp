#include "ufm/data/cifar.hpp"

#include <array>
#include <fstream>
#include <vector>

#include "ufm/data/data_error.hpp"
#include "ufm/io/whole_file.hpp"

namespace ufm::data {
namespace {

namespace fs = std::filesystem;

/// Number of records in `file`, from its size on disk.
Index record_count(const fs::path& file) {
  std::error_code ec;
  if (const io::FileKind kind = io::file_kind(file); kind != io::FileKind::kRegularFile)
    throw DataError(file.string(), "",
                    kind == io::FileKind::kNothing ? std::string("no such file")
                                                   : std::string("is ") + io::describe(kind) + ", not a regular file");
  const std::uintmax_t size = fs::file_size(file, ec);
  if (ec) throw DataError(file.string(), "", "cannot read its size (" + ec.message() + ")");
  if (size == 0) throw DataError(file.string(), "", "empty file (no records)");
  const auto record = static_cast<std::uintmax_t>(kCifarRecord);
  if (size % record != 0)
    throw DataError(file.string(), record_position(size / record, size / record * record),
                    "truncated: the file has " + std::to_string(size) + " bytes, not a multiple of the 3073-byte record; "
                    "its last record has only " + std::to_string(size % record) + " bytes");
  return static_cast<Index>(size / record);
}

}  // namespace

Dataset read_cifar10_batches(std::span<const fs::path> files, const std::string& name) {
  std::vector<Index> counts;
  Index total = 0;
  for (const fs::path& f : files) total += counts.emplace_back(record_count(f));  // before allocating
  Dataset ds;
  ds.name = name;
  ds.K = kCifarClasses;
  ds.raw_bytes = true;
  ds.X.resize(kCifarPixels, total);
  ds.labels.reserve(static_cast<std::size_t>(total));
  std::array<unsigned char, kCifarRecord> record;
  Index column = 0;
  for (std::size_t k = 0; k < files.size(); ++k) {
    std::ifstream in(files[k], std::ios::binary);
    if (!in) throw DataError(files[k].string(), "", "cannot open for reading");
    for (Index r = 0; r < counts[k]; ++r, ++column) {
      const auto offset = static_cast<unsigned long long>(r * kCifarRecord);
      in.read(reinterpret_cast<char*>(record.data()), kCifarRecord);
      if (in.gcount() != kCifarRecord)
        throw DataError(files[k].string(), record_position(r, offset), "truncated while reading (the file changed?)");
      if (record[0] >= kCifarClasses)
        throw DataError(files[k].string(), record_position(r, offset),
                        "label " + std::to_string(record[0]) + " out of range 0..9");
      ds.labels.push_back(record[0]);
      for (Index p = 0; p < kCifarPixels; ++p) ds.X(p, column) = record[1 + p];
    }
  }
  return ds;
}

DataSplit load_cifar10_dir(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw DataError(dir.string(), "", "no such directory");
  std::vector<fs::path> train_files;
  for (int b = 1; b <= 5; ++b) train_files.push_back(dir / ("data_batch_" + std::to_string(b) + ".bin"));
  const std::string base = "cifar10:" + dir.string();
  DataSplit split;
  split.train = read_cifar10_batches(train_files, base + " (train)");
  require_every_class(split.train, dir.string());
  const fs::path test_file = dir / "test_batch.bin";
  if (fs::exists(test_file)) split.test = read_cifar10_batches(std::span(&test_file, 1), base + " (test)");
  return split;
}

}  // namespace ufm::data
