#include "ufm/io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>
#include <utility>

namespace ufm::io {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kBufferLimit = 64 * 1024;

[[noreturn]] void fail(const fs::path& path, const std::string& reason) {
  throw IoError("cannot write '" + path.string() + "': " + reason);
}

std::string errno_text(int err) { return std::strerror(err); }

/// Writes all of `text` to `fd`, retrying short writes and EINTR; the error text on failure.
std::optional<std::string> write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return "write failed: " + errno_text(errno);
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return std::nullopt;
}

int open_temp(const fs::path& tmp) { return ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644); }

fs::path directory_of(const fs::path& path) {
  const fs::path dir = path.parent_path();
  return dir.empty() ? fs::path(".") : dir;
}

/// Makes a finished rename durable; best effort (some file systems refuse fsync on directories).
void sync_directory(const fs::path& path) {
  const int dfd = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  ::fsync(dfd);
  ::close(dfd);
}

/// fsync + close `fd`, then rename `tmp` over `path`; the error text on failure (fd is closed).
std::optional<std::string> sync_close_rename(int fd, const fs::path& tmp, const fs::path& path) {
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return "fsync failed: " + errno_text(err);
  }
  if (::close(fd) != 0) return "close failed: " + errno_text(errno);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return "rename from '" + tmp.string() + "' failed: " + ec.message();
  sync_directory(path);
  return std::nullopt;
}

}  // namespace

fs::path temp_path_for(const fs::path& path) {
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  return tmp;
}

void write_file_atomic(const fs::path& path, std::string_view content) {
  write_file_atomic(path, std::span<const std::string_view>(&content, 1));
}

void write_file_atomic(const fs::path& path, std::span<const std::string_view> parts) {
  if (path.empty()) fail(path, "empty path");
  const fs::path tmp = temp_path_for(path);
  const int fd = open_temp(tmp);
  if (fd < 0) fail(path, "cannot create '" + tmp.string() + "': " + errno_text(errno));
  std::optional<std::string> error;
  for (std::size_t i = 0; i < parts.size() && !error; ++i) error = write_all(fd, parts[i]);
  if (error) {
    ::close(fd);
  } else {
    error = sync_close_rename(fd, tmp, path);
  }
  if (error) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    fail(path, *error);
  }
}

void check_writable(const fs::path& path) {
  if (path.empty()) fail(path, "empty path");
  const fs::path dir = directory_of(path);
  std::error_code ec;
  if (!fs::exists(dir, ec)) fail(path, "directory '" + dir.string() + "' does not exist");
  if (!fs::is_directory(dir, ec)) fail(path, "'" + dir.string() + "' is not a directory");
  if (fs::is_directory(path, ec)) fail(path, "it is a directory");
  fs::path probe = temp_path_for(path);
  probe += ".probe";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) fail(path, "cannot create a file in '" + dir.string() + "': " + errno_text(errno));
  ::close(fd);
  fs::remove(probe, ec);
}

AtomicWriter::AtomicWriter(fs::path path) : path_(std::move(path)), temp_path_(temp_path_for(path_)) {
  if (path_.empty()) fail(path_, "empty path");
  std::error_code ec;
  if (fs::is_directory(path_, ec)) fail(path_, "it is a directory");
  fd_ = open_temp(temp_path_);
  if (fd_ < 0) fail(path_, "cannot create '" + temp_path_.string() + "': " + errno_text(errno));
}

AtomicWriter::AtomicWriter(AtomicWriter&& other) noexcept
    : path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      buffer_(std::move(other.buffer_)),
      fd_(std::exchange(other.fd_, -1)),
      committed_(other.committed_) {}

AtomicWriter& AtomicWriter::operator=(AtomicWriter&& other) noexcept {
  if (this != &other) {
    close_quietly();
    path_ = std::move(other.path_);
    temp_path_ = std::move(other.temp_path_);
    buffer_ = std::move(other.buffer_);
    fd_ = std::exchange(other.fd_, -1);
    committed_ = other.committed_;
  }
  return *this;
}

AtomicWriter::~AtomicWriter() { close_quietly(); }

void AtomicWriter::close_quietly() noexcept {
  if (fd_ < 0) return;
  (void)write_all(fd_, buffer_);  // keep what we hold for post-mortem; nothing to report to
  buffer_.clear();
  ::close(fd_);
  fd_ = -1;
}

void AtomicWriter::write(std::string_view text) {
  if (fd_ < 0) fail(path_, committed_ ? "write after commit()" : "writer was moved from");
  buffer_.append(text);
  if (buffer_.size() >= kBufferLimit) write_out();
}

void AtomicWriter::flush() {
  if (fd_ < 0) fail(path_, committed_ ? "flush after commit()" : "writer was moved from");
  write_out();
}

void AtomicWriter::write_out() {
  if (auto error = write_all(fd_, buffer_)) fail(path_, *error + " (temp file '" + temp_path_.string() + "')");
  buffer_.clear();
}

void AtomicWriter::commit() {
  if (fd_ < 0) fail(path_, committed_ ? "commit() called twice" : "writer was moved from");
  write_out();
  const int fd = std::exchange(fd_, -1);
  if (auto error = sync_close_rename(fd, temp_path_, path_))
    fail(path_, *error + "; the output is left in '" + temp_path_.string() + "'");
  committed_ = true;
}

}  // namespace ufm::io
