#pragma once
/// Helpers shared by the ufm::data tests: gzip and IDX/CIFAR files built by hand, DataError checks.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "test_io_util.hpp"  // TempDir, write_bytes, read_bytes
#include "ufm/data/data_error.hpp"

namespace ufm::test {

/// Writes `bytes` gzip-compressed with zlib's gzopen/gzwrite.
inline void write_gzip(const std::filesystem::path& path, std::string_view bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  }
  ASSERT_EQ(gzclose(f), Z_OK);
}

inline void append_be32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

/// An IDX image file: magic 0x00000803, n, rows, cols, then `pixels` (not checked against the dims).
inline std::string idx_images(std::uint32_t n, std::uint32_t rows, std::uint32_t cols, const std::vector<int>& pixels) {
  std::string out;
  append_be32(out, 0x00000803);
  append_be32(out, n);
  append_be32(out, rows);
  append_be32(out, cols);
  for (int p : pixels) out.push_back(static_cast<char>(p));
  return out;
}

/// An IDX label file: magic 0x00000801, labels.size() (or `count`), then the label bytes.
inline std::string idx_labels(const std::vector<int>& labels, long count = -1) {
  std::string out;
  append_be32(out, 0x00000801);
  append_be32(out, static_cast<std::uint32_t>(count < 0 ? static_cast<long>(labels.size()) : count));
  for (int y : labels) out.push_back(static_cast<char>(y));
  return out;
}

/// Expects fn() to throw data::DataError whose message contains every one of `parts`, on one line.
inline void expect_data_error(const std::function<void()>& fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "no DataError thrown; expected one containing '" << *parts.begin() << "'";
  } catch (const data::DataError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    for (const auto& p : parts) EXPECT_NE(what.find(p), std::string::npos) << "'" << p << "' not in: " << what;
  }
}

}  // namespace ufm::test
