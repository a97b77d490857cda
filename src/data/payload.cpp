#include "ufm/data/payload.hpp"

#include <algorithm>

#include "ufm/data/data_error.hpp"

namespace ufm::data {
namespace {

std::string where(const ByteReader& in, std::uint64_t offset) {
  return byte_position(offset) + (in.gzip() ? " (decompressed)" : "");
}

}  // namespace

std::uint64_t checked_product(const ByteReader& in, std::uint64_t at, const std::string& claim,
                              std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  std::uint64_t ab = 0, abc = 0;
  if (__builtin_mul_overflow(a, b, &ab) || __builtin_mul_overflow(ab, c, &abc))
    throw DataError(in.path().string(), byte_position(at), "absurd header: " + claim + " overflow a 64-bit size");
  return abc;
}

void check_payload_fits(const ByteReader& in, std::uint64_t header, std::uint64_t payload, const std::string& claim) {
  const std::string file = in.path().string();
  if (!in.gzip()) {
    const std::uint64_t available = in.file_size() - std::min(in.file_size(), header);
    if (payload > available)
      throw DataError(file, byte_position(header + available),
                      "truncated: " + claim + " need " + std::to_string(payload) + " bytes after the " +
                          std::to_string(header) + "-byte header, the file has " + std::to_string(available));
    if (payload < available)
      throw DataError(file, byte_position(header + payload),
                      std::to_string(available - payload) + " unexpected bytes after the " + claim +
                          " the header declares");
    return;
  }
  const std::uint64_t bound = in.max_stream_size() - std::min(in.max_stream_size(), header);
  if (payload > bound)
    throw DataError(file, byte_position(4),
                    "absurd header: " + claim + " need " + std::to_string(payload) + " bytes, more than a " +
                        std::to_string(in.file_size()) + "-byte gzip file can hold (at most " + std::to_string(bound) +
                        ")");
}

std::vector<std::uint8_t> read_payload(ByteReader& in, std::uint64_t payload, const std::string& claim) {
  constexpr std::uint64_t kChunk = std::uint64_t{16} << 20;
  constexpr std::uint64_t kFirstGzipStep = std::uint64_t{64} << 10;
  const std::uint64_t start = in.offset();
  std::vector<std::uint8_t> bytes;
  if (!in.gzip()) bytes.reserve(payload);  // checked against the file size already
  while (bytes.size() < payload) {
    const std::size_t have = bytes.size();
    // Plain: the size is checked against the file, take big steps. Gzip: grow with the data
    // that actually arrived (at most doubling), so a lying header costs nothing extra.
    const std::uint64_t step = in.gzip() ? std::clamp<std::uint64_t>(have, kFirstGzipStep, kChunk) : kChunk;
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(step, payload - have));
    bytes.resize(have + want);
    const std::size_t got = in.read(bytes.data() + have, want);
    if (got < want)
      throw DataError(in.path().string(), where(in, start + have + got),
                      "truncated: " + claim + " need " + std::to_string(payload) + " bytes after the " +
                          std::to_string(start) + "-byte header, the data end after " + std::to_string(have + got));
  }
  if (!in.at_end())
    throw DataError(in.path().string(), where(in, start + payload),
                    "unexpected bytes after the " + claim + " the header declares");
  return bytes;
}

}  // namespace ufm::data
