#include "ufm/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "ufm/config/config_error.hpp"

namespace ufm::io {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kBufferLimit = 64 * 1024;
constexpr int kMaxSymlinks = 40;        // Linux's own limit (MAXSYMLINKS)
constexpr int kMaxTempAttempts = 1000;  // names tried when a temp name is taken

[[noreturn]] void fail(const fs::path& path, const std::string& reason) {
  throw IoError("cannot write '" + abbreviate(path.string()) + "': " + reason);
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

/// Writes the concatenation of `parts`: small ones gathered into writes of about 1 MiB (merge hands
/// two parts per results line, a million lines for a large grid), large ones as they are.
std::optional<std::string> write_parts(int fd, std::span<const std::string_view> parts) {
  constexpr std::size_t kGather = 1u << 20;
  std::string gathered;
  for (const std::string_view part : parts) {
    if (gathered.size() + part.size() > kGather && !gathered.empty()) {
      if (auto error = write_all(fd, gathered)) return error;
      gathered.clear();
    }
    if (part.size() >= kGather) {
      if (auto error = write_all(fd, part)) return error;
    } else {
      if (gathered.capacity() < kGather) gathered.reserve(kGather);
      gathered.append(part);
    }
  }
  return write_all(fd, gathered);
}

fs::path directory_of(const fs::path& path) {
  const fs::path dir = path.parent_path();
  return dir.empty() ? fs::path(".") : dir;
}

bool all_digits(const std::string& s) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

/// If `link` is an entry of a /proc/<pid>/fd (or /proc/<pid>/task/<tid>/fd) directory, e.g.
/// /dev/stdout's target /proc/self/fd/1 or /dev/fd/1: the pid and the descriptor number. Such
/// "magic" links do not name a path (a pipe's reads "pipe:[1234]"); the kernel opens the descriptor's
/// file directly, so they must not be resolved by readlink.
std::optional<std::pair<long, int>> proc_fd_entry(const fs::path& link) {
  const std::string name = link.filename().string();
  if (!all_digits(name)) return std::nullopt;
  std::error_code ec;
  const fs::path dir = fs::canonical(directory_of(link), ec);
  if (ec) return std::nullopt;
  std::vector<std::string> parts;
  for (const auto& part : dir) parts.push_back(part.string());
  // "/", "proc", pid, "fd"  or  "/", "proc", pid, "task", tid, "fd"
  const bool plain = parts.size() == 4 && parts[3] == "fd";
  const bool task = parts.size() == 6 && parts[3] == "task" && all_digits(parts[4]) && parts[5] == "fd";
  if (parts.size() < 4 || parts[0] != "/" || parts[1] != "proc" || !all_digits(parts[2]) || !(plain || task))
    return std::nullopt;
  return std::make_pair(std::stol(parts[2]), std::stoi(name));
}

/// The end of `path`'s symlink chain.
struct Resolved {
  fs::path path;                   ///< the final target
  int lstat_errno = 0;             ///< 0: `st` describes `path`
  struct stat st {};
  std::optional<int> own_fd;       ///< the chain ended at one of our descriptors (/proc/self/fd/N)
  bool foreign_fd = false;         ///< it ended at another process's descriptor: open it directly
  bool loop = false;               ///< more than kMaxSymlinks links: `path` is where it gave up
};

Resolved resolve(const fs::path& path) {
  fs::path p = path;
  for (int hops = 0; hops <= kMaxSymlinks; ++hops) {
    Resolved r;
    r.path = p;
    if (const auto entry = proc_fd_entry(p)) {
      if (entry->first == static_cast<long>(::getpid()))
        r.own_fd = entry->second;
      else
        r.foreign_fd = true;
      if (::stat(p.c_str(), &r.st) != 0) r.lstat_errno = errno;
      return r;
    }
    if (::lstat(p.c_str(), &r.st) != 0) {
      r.lstat_errno = errno;
      return r;
    }
    if (!S_ISLNK(r.st.st_mode)) return r;
    std::error_code ec;
    const fs::path target = fs::read_symlink(p, ec);
    if (ec) {  // vanished or changed under us: report it as it is now
      r.lstat_errno = ec.value();
      return r;
    }
    p = target.is_absolute() ? target : p.parent_path() / target;
  }
  Resolved r;
  r.path = p;
  r.loop = true;
  return r;
}

/// " ('<final>')" when a symlink led from `path` to `final`, else "".
std::string via(const fs::path& path, const fs::path& final) {
  return final == path ? std::string() : " (the symbolic link leads to '" + final.string() + "')";
}

/// Creates a fresh temp file beside `target` (O_CREAT|O_EXCL|O_NOFOLLOW: an existing name, even a
/// planted symlink, is never opened; the next name is tried). Returns 0 and sets fd and tmp, or errno.
int try_create_temp(const fs::path& target, int& fd, fs::path& tmp) {
  for (int attempt = 0; attempt < kMaxTempAttempts; ++attempt) {
    tmp = temp_path_for(target);
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) return 0;
    if (errno != EEXIST) return errno;
  }
  return EEXIST;
}

/// The same, throwing IoError naming `path` on failure.
std::pair<int, fs::path> create_temp(const fs::path& path, const fs::path& target) {
  int fd = -1;
  fs::path tmp;
  if (const int err = try_create_temp(target, fd, tmp))
    fail(path, "cannot create '" + tmp.string() + "': " + errno_text(err));
  return {fd, std::move(tmp)};
}

/// Opens a device or FIFO (blocking until a FIFO has a reader) for writing; never creates or
/// truncates it. A regular file reached through another process's /proc/<pid>/fd link is truncated.
int open_direct(const fs::path& path, const fs::path& target, bool truncate) {
  for (;;) {
    const int fd = ::open(target.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC | (truncate ? O_TRUNC : 0));
    if (fd >= 0) return fd;
    if (errno != EINTR) fail(path, "cannot open '" + target.string() + "' for writing: " + errno_text(errno));
  }
}

/// A new descriptor for `target`'s direct output (kSpecial or kDescriptor).
int open_target_directly(const fs::path& path, const OutputTarget& target) {
  if (target.kind == OutputTarget::Kind::kDescriptor) {
    const int fd = ::fcntl(target.fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) fail(path, "cannot duplicate file descriptor " + std::to_string(target.fd) + ": " + errno_text(errno));
    return fd;
  }
  struct stat st {};
  const bool regular = ::stat(target.path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  return open_direct(path, target.path, regular);
}

/// Makes a finished rename durable; best effort (some file systems refuse fsync on directories).
void sync_directory(const fs::path& path) {
  const int dfd = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  ::fsync(dfd);
  ::close(dfd);
}

/// fsync + close `fd`, then rename `tmp` over `target`; the error text on failure (fd is closed).
std::optional<std::string> sync_close_rename(int fd, const fs::path& tmp, const fs::path& target) {
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return "fsync failed: " + errno_text(err);
  }
  if (::close(fd) != 0) return "close failed: " + errno_text(errno);
  if (::rename(tmp.c_str(), target.c_str()) != 0)
    return "rename from '" + tmp.string() + "' to '" + target.string() + "' failed: " + errno_text(errno);
  sync_directory(target);
  return std::nullopt;
}

/// Gives the staged file the permission bits of the file it replaces (a private file stays private).
void keep_mode(int fd, const OutputTarget& target) {
  struct stat st {};
  if (target.exists && ::stat(target.path.c_str(), &st) == 0) ::fchmod(fd, st.st_mode & 07777);
}

}  // namespace

OutputTarget resolve_output_target(const fs::path& path) {
  if (path.empty()) fail(path, "empty path");
  if (!path.has_filename()) fail(path, "it names a directory (it ends with '/')");
  const Resolved r = resolve(path);
  if (r.loop) fail(path, "too many levels of symbolic links");
  OutputTarget t;
  t.path = r.path;
  if (r.own_fd) {
    const int flags = ::fcntl(*r.own_fd, F_GETFL);
    if (flags < 0) fail(path, "file descriptor " + std::to_string(*r.own_fd) + " is not open");
    if ((flags & O_ACCMODE) != O_WRONLY && (flags & O_ACCMODE) != O_RDWR)
      fail(path, "file descriptor " + std::to_string(*r.own_fd) + " is not open for writing");
    t.kind = OutputTarget::Kind::kDescriptor;
    t.fd = *r.own_fd;
    t.exists = true;
    return t;
  }
  if (r.lstat_errno != 0) {
    if (r.foreign_fd) fail(path, "'" + r.path.string() + "': " + errno_text(r.lstat_errno));
    return t;  // nothing there yet (or an unusable directory, which creating the temp file reports)
  }
  t.exists = true;
  const mode_t mode = r.st.st_mode;
  if (S_ISDIR(mode)) fail(path, "it is a directory" + via(path, r.path));
  if (S_ISSOCK(mode)) fail(path, "it is a socket" + via(path, r.path));
  if (S_ISREG(mode) && !r.foreign_fd) return t;
  t.kind = OutputTarget::Kind::kSpecial;  // char/block device, FIFO, another process's descriptor
  return t;
}

fs::path follow_symlinks(const fs::path& path) {
  const Resolved r = resolve(path);
  if (r.loop) throw IoError("'" + path.string() + "': too many levels of symbolic links");
  return r.path;
}

bool is_special_file(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  return !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

fs::path temp_path_for(const fs::path& target) {
  static std::atomic<unsigned long> counter{0};
  fs::path tmp = target;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
  return tmp;
}

void write_file_atomic(const fs::path& path, std::string_view content) {
  write_file_atomic(path, std::span<const std::string_view>(&content, 1));
}

void write_file_atomic(const fs::path& path, std::span<const std::string_view> parts) {
  const OutputTarget target = resolve_output_target(path);
  if (target.kind != OutputTarget::Kind::kRegular) {
    const int fd = open_target_directly(path, target);
    std::optional<std::string> error = write_parts(fd, parts);
    if (::close(fd) != 0 && !error) error = "close failed: " + errno_text(errno);
    if (error) fail(path, *error);
    return;
  }
  const auto [fd, tmp] = create_temp(path, target.path);
  keep_mode(fd, target);
  std::optional<std::string> error = write_parts(fd, parts);
  if (error) {
    ::close(fd);
  } else {
    error = sync_close_rename(fd, tmp, target.path);
  }
  if (error) {
    ::unlink(tmp.c_str());
    fail(path, *error);
  }
}

void check_writable(const fs::path& path) {
  const OutputTarget target = resolve_output_target(path);
  switch (target.kind) {
    case OutputTarget::Kind::kDescriptor:
      return;  // checked open for writing by resolve_output_target
    case OutputTarget::Kind::kSpecial:
      if (::access(target.path.c_str(), W_OK) != 0)
        fail(path, "'" + abbreviate(target.path.string()) + "' is not writable: " + errno_text(errno));
      return;
    case OutputTarget::Kind::kRegular:
      break;
  }
  const fs::path dir = directory_of(target.path);
  std::error_code ec;
  const std::string named = target.path == path ? "" : " (the directory of the symbolic link's target)";
  if (!fs::exists(dir, ec)) fail(path, "directory '" + abbreviate(dir.string()) + "' does not exist" + named);
  if (!fs::is_directory(dir, ec)) fail(path, "'" + abbreviate(dir.string()) + "' is not a directory" + named);
  int fd = -1;
  fs::path probe;
  if (const int err = try_create_temp(target.path, fd, probe))
    fail(path, "cannot create a file in '" + abbreviate(dir.string()) + "': " + errno_text(err));
  ::close(fd);
  ::unlink(probe.c_str());
}

AtomicWriter::AtomicWriter(fs::path path) : path_(std::move(path)) {
  const OutputTarget target = resolve_output_target(path_);
  target_path_ = target.path;
  if (target.kind == OutputTarget::Kind::kRegular) {
    std::tie(fd_, temp_path_) = create_temp(path_, target_path_);
    keep_mode(fd_, target);
  } else {
    fd_ = open_target_directly(path_, target);
  }
}

AtomicWriter::AtomicWriter(AtomicWriter&& other) noexcept
    : path_(std::move(other.path_)),
      target_path_(std::move(other.target_path_)),
      temp_path_(std::move(other.temp_path_)),
      buffer_(std::move(other.buffer_)),
      fd_(std::exchange(other.fd_, -1)),
      committed_(other.committed_) {}

AtomicWriter& AtomicWriter::operator=(AtomicWriter&& other) noexcept {
  if (this != &other) {
    close_quietly();
    path_ = std::move(other.path_);
    target_path_ = std::move(other.target_path_);
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
  if (auto error = write_all(fd_, buffer_))
    fail(path_, *error + (direct() ? std::string() : " (temp file '" + temp_path_.string() + "')"));
  buffer_.clear();
}

void AtomicWriter::commit() {
  if (fd_ < 0) fail(path_, committed_ ? "commit() called twice" : "writer was moved from");
  write_out();
  const int fd = std::exchange(fd_, -1);
  if (direct()) {
    if (::close(fd) != 0) fail(path_, "close failed: " + errno_text(errno));
  } else if (auto error = sync_close_rename(fd, temp_path_, target_path_)) {
    fail(path_, *error + "; the output is left in '" + temp_path_.string() + "'");
  }
  committed_ = true;
}

}  // namespace ufm::io
