#pragma once
/// The part shared by the binary readers (IDX, CIFAR-10): checking a size a header declares
/// against what the file can hold, before allocating, then reading exactly that many bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "ufm/data/byte_reader.hpp"

namespace ufm::data {

/// a·b·c, or a DataError(in.path(), byte_position(at), "<claim> … overflow") on 64-bit overflow.
std::uint64_t checked_product(const ByteReader& in, std::uint64_t at, const std::string& claim,
                              std::uint64_t a, std::uint64_t b, std::uint64_t c = 1);

/// Throws DataError unless the `payload` bytes that follow a `header`-byte header (already read)
/// can be in the file: for a plain file, exactly file_size − header (fewer: truncated, more:
/// trailing bytes); for gzip, at most in.max_stream_size() − header. `claim` says what the
/// header declares ("60000 images of 28×28"). Allocates nothing.
void check_payload_fits(const ByteReader& in, std::uint64_t header, std::uint64_t payload, const std::string& claim);

/// Reads the `payload` bytes after the header, growing the buffer only as data arrive (so a
/// gzip file that lies within the DEFLATE bound costs no more than its actual content), then
/// requires the stream to end there. Truncation and trailing bytes are DataErrors.
std::vector<std::uint8_t> read_payload(ByteReader& in, std::uint64_t payload, const std::string& claim);

}  // namespace ufm::data
