#include <cstdint>
#include <cstdio>
#include <string>

#include "ufm/data/byte_reader.hpp"
#include "ufm/data/data_error.hpp"
#include "ufm/data/idx.hpp"
#include "ufm/data/payload.hpp"

namespace ufm::data {
namespace {

constexpr std::uint32_t kImagesMagic = 0x00000803;
constexpr std::uint32_t kLabelsMagic = 0x00000801;

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", static_cast<unsigned>(v));
  return buf;
}

std::string kind_of(std::uint32_t magic) {
  if (magic == kImagesMagic) return "an IDX image file";
  if (magic == kLabelsMagic) return "an IDX label file";
  return "not an IDX uint8 file";
}

/// Reads the magic and `ndims` big-endian sizes; checks the magic and that no size is 0.
std::vector<std::uint32_t> read_header(ByteReader& in, std::uint32_t magic, int ndims, const char* expected) {
  const std::string file = in.path().string();
  unsigned char head[16];
  const std::size_t size = 4 + 4 * static_cast<std::size_t>(ndims);
  const std::size_t got = in.read(head, size);
  if (got < 4)
    throw DataError(file, byte_position(got), "truncated: " + std::to_string(got) + " bytes, too short for an IDX header");
  const std::uint32_t found = be32(head);
  if (found != magic)
    throw DataError(file, byte_position(0),
                    "wrong magic " + hex32(found) + " (" + kind_of(found) + "), expected " + hex32(magic) + " (" +
                        expected + ")");
  if (got < size)
    throw DataError(file, byte_position(got),
                    "truncated header: " + std::to_string(size) + " bytes expected, the file has " + std::to_string(got));
  std::vector<std::uint32_t> dims;
  for (int k = 0; k < ndims; ++k) {
    dims.push_back(be32(head + 4 + 4 * k));
    if (dims.back() == 0)
      throw DataError(file, byte_position(4 + 4 * static_cast<unsigned>(k)), "header declares a dimension of size 0");
  }
  return dims;
}

}  // namespace

IdxImages read_idx_images(const std::filesystem::path& path) {
  ByteReader in(path);
  const std::vector<std::uint32_t> dims = read_header(in, kImagesMagic, 3, "IDX uint8 images, 3 dims");
  const std::uint64_t n = dims[0], rows = dims[1], cols = dims[2];
  const std::string claim =
      std::to_string(n) + " images of " + std::to_string(rows) + "x" + std::to_string(cols);
  const std::uint64_t payload = checked_product(in, 4, claim, n, rows, cols);
  check_payload_fits(in, 16, payload, claim);  // before any allocation
  const std::vector<std::uint8_t> bytes = read_payload(in, payload, claim);
  IdxImages images;
  images.rows = static_cast<Index>(rows);
  images.cols = static_cast<Index>(cols);
  images.X = Eigen::Map<const Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>>(
                 bytes.data(), static_cast<Index>(rows * cols), static_cast<Index>(n))
                 .cast<double>();
  return images;
}

std::vector<int> read_idx_labels(const std::filesystem::path& path) {
  ByteReader in(path);
  const std::uint64_t n = read_header(in, kLabelsMagic, 1, "IDX uint8 labels, 1 dim")[0];
  const std::string claim = std::to_string(n) + " labels";
  check_payload_fits(in, 8, n, claim);
  const std::vector<std::uint8_t> bytes = read_payload(in, n, claim);
  std::vector<int> labels(bytes.begin(), bytes.end());
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] == 255)
      throw DataError(path.string(), record_position(i, 8 + i), "label 255 out of range (labels are 0..254, K at most 255)");
  return labels;
}

}  // namespace ufm::data
