#pragma once
/// Helpers shared by the ufm::io tests: a per-test temporary directory, file bytes, hand-built .npy.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ufm/io/atomic_file.hpp"

namespace ufm::test {

/// A fresh directory under the system temp dir, /tmp/ufm-<pid>-<n> (short: Slurm and munge put
/// Unix sockets, whose paths are limited to 107 bytes, inside); removed at the end.
class TempDir {
 public:
  TempDir() {
    static int count = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("ufm-" + std::to_string(::getpid()) + "-" + std::to_string(count++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Appends the little-endian bytes of v (the tests run on little-endian hosts; checked here).
template <class T>
void append_le(std::string& out, T v) {
  static_assert(std::endian::native == std::endian::little, "hand-built test files assume a little-endian host");
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

/// A version 1.0 .npy file: magic, version, header length, `dict` padded with spaces to a
/// 64-byte boundary and ended by '\n', then `data`, all assembled by hand from the spec.
inline std::string npy_file(const std::string& dict, std::string_view data) {
  std::string header = dict;
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  append_le<std::uint16_t>(out, static_cast<std::uint16_t>(header.size()));
  return out + header + std::string(data);
}

/// Runs `script` (no double quotes or $ in it) with /usr/bin/python3; its stderr goes to ours unless
/// quiet. Returns the exit status, 0 on success.
inline int run_python(const std::string& script, bool quiet = false) {
  const std::string cmd = "/usr/bin/python3 -c \"" + script + "\"" + (quiet ? " > /dev/null 2>&1" : "");
  return std::system(cmd.c_str());
}

inline bool python_has_numpy() {
  static const bool ok = std::filesystem::exists("/usr/bin/python3") && run_python("import numpy", true) == 0;
  return ok;
}

/// Lowers this process's file size limit (RLIMIT_FSIZE) while alive: a write past it fails with
/// EFBIG (SIGXFSZ is ignored meanwhile), the way a full disk would.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lower = saved_;
    lower.rlim_cur = bytes;
    EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &lower), 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  void (*old_handler_)(int) = SIG_DFL;
};

/// Reads everything a writer sends into the FIFO at `path` on a thread of its own (opening it blocks
/// until a writer comes).
class FifoReader {
 public:
  explicit FifoReader(std::filesystem::path path) : path_(std::move(path)), thread_([this] { received_ = read_bytes(path_); }) {}
  FifoReader(const FifoReader&) = delete;
  FifoReader& operator=(const FifoReader&) = delete;
  /// Call once the writer is done: what it sent. If it never opened the FIFO, the reader would wait
  /// for ever; a writer of our own that opens and closes at once gives it end-of-file.
  std::string received() {
    const int fd = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) ::close(fd);
    if (thread_.joinable()) thread_.join();
    return received_;
  }
  ~FifoReader() { received(); }

 private:
  std::filesystem::path path_;
  std::string received_;
  std::thread thread_;
};

/// The message of the IoError `fn` throws, or "<no IoError>".
inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const io::IoError& e) {
    return e.what();
  }
  return "<no IoError>";
}

/// Files in dir, by name.
inline std::vector<std::string> listing(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace ufm::test
