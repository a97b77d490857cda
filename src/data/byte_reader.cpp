#include "ufm/data/byte_reader.hpp"

#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <system_error>

#include "ufm/data/data_error.hpp"

namespace ufm::data {
namespace {

gzFile as_gz(void* p) { return static_cast<gzFile>(p); }

}  // namespace

ByteReader::ByteReader(const std::filesystem::path& path) : path_(path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) throw DataError(path.string(), "", "no such file");
  if (std::filesystem::is_directory(status)) throw DataError(path.string(), "", "is a directory, expected a file");
  file_size_ = std::filesystem::file_size(path, ec);
  if (ec) throw DataError(path.string(), "", "cannot read its size (" + ec.message() + ")");
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) throw DataError(path.string(), "", "cannot open for reading");
    unsigned char magic[2] = {0, 0};
    probe.read(reinterpret_cast<char*>(magic), 2);
    gzip_ = probe.gcount() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  }
  gz_ = gzopen(path.c_str(), "rb");  // reads a plain file as is ("transparent" mode)
  if (gz_ == nullptr) throw DataError(path.string(), "", "cannot open for reading");
  gzbuffer(as_gz(gz_), 1 << 17);
}

ByteReader::~ByteReader() {
  if (gz_ != nullptr) gzclose(as_gz(gz_));
}

std::uint64_t ByteReader::max_stream_size() const {
  return gzip_ ? kMaxDeflateRatio * file_size_ + 1024 : file_size_;
}

std::size_t ByteReader::read(void* dst, std::size_t n) {
  auto* out = static_cast<unsigned char*>(dst);
  std::size_t done = 0;
  while (done < n) {
    const auto chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, 1u << 30));
    const int got = gzread(as_gz(gz_), out + done, chunk);
    int errnum = Z_OK;
    const char* msg = gzerror(as_gz(gz_), &errnum);
    if (got < 0 || (errnum != Z_OK && errnum != Z_BUF_ERROR)) {
      throw DataError(path_.string(), byte_position(offset_ + done) + " (decompressed)",
                      std::string("corrupt gzip data (") + (msg ? msg : "zlib error") + ")");
    }
    if (errnum == Z_BUF_ERROR) {  // zlib: the compressed stream ended in the middle
      throw DataError(path_.string(), byte_position(offset_ + done + static_cast<unsigned>(got)) + " (decompressed)",
                      "truncated gzip file (the compressed stream ends early)");
    }
    done += static_cast<std::size_t>(got);
    if (static_cast<unsigned>(got) < chunk) break;  // end of stream
  }
  offset_ += done;
  return done;
}

bool ByteReader::at_end() {
  unsigned char byte;
  return read(&byte, 1) == 0;
}

}  // namespace ufm::data
