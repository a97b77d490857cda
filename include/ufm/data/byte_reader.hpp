#pragma once
/// Sequential reading of a plain or gzip-compressed file through zlib (gzopen/gzread).
///
/// Compression is detected by the gzip magic bytes 1f 8b at the start of the file, not by the
/// name: "x.gz" holding plain bytes and "x" holding gzip data both read correctly. Offsets are
/// in the decompressed stream. Every failure throws DataError naming the file:
/// missing or unreadable file, corrupt or truncated gzip data (with the decompressed offset).
#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace ufm::data {

/// The largest ratio of decompressed to compressed size DEFLATE can reach (258 bytes from one
/// 2-bit code at best): a gzip file of S bytes decompresses to at most ~kMaxDeflateRatio·S bytes.
inline constexpr std::uint64_t kMaxDeflateRatio = 1032;

class ByteReader {
 public:
  explicit ByteReader(const std::filesystem::path& path);
  ~ByteReader();
  ByteReader(const ByteReader&) = delete;
  ByteReader& operator=(const ByteReader&) = delete;

  const std::filesystem::path& path() const { return path_; }
  bool gzip() const { return gzip_; }
  /// Size on disk (compressed size for a gzip file).
  std::uint64_t file_size() const { return file_size_; }
  /// An upper bound on the number of bytes the stream can deliver: file_size for a plain file,
  /// kMaxDeflateRatio·file_size + 1 KiB for gzip. Lets a reader refuse an absurd header before
  /// allocating anything.
  std::uint64_t max_stream_size() const;
  /// Bytes delivered so far.
  std::uint64_t offset() const { return offset_; }

  /// Reads up to n bytes into dst; returns fewer only at the end of the stream.
  std::size_t read(void* dst, std::size_t n);
  /// True when no byte is left (reads ahead one byte, which is then lost: call it last).
  bool at_end();

 private:
  std::filesystem::path path_;
  void* gz_ = nullptr;  // gzFile, kept opaque so that zlib.h stays out of the header
  bool gzip_ = false;
  std::uint64_t file_size_ = 0;
  std::uint64_t offset_ = 0;
};

}  // namespace ufm::data
