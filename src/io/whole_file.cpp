#include "ufm/io/whole_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

namespace ufm::io {
namespace {

/// Closes a descriptor when it goes out of scope.
class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

FileKind kind_of(mode_t mode) {
  if (S_ISREG(mode)) return FileKind::kRegularFile;
  if (S_ISDIR(mode)) return FileKind::kDirectory;
  if (S_ISCHR(mode) || S_ISBLK(mode)) return FileKind::kDevice;
  if (S_ISFIFO(mode)) return FileKind::kPipe;
  if (S_ISSOCK(mode)) return FileKind::kSocket;
  return FileKind::kOther;
}

std::string in_mebibytes(std::size_t bytes) {
  return bytes > 0 && bytes % (1u << 20) == 0 ? std::to_string(bytes >> 20) + " MiB" : std::to_string(bytes) + " bytes";
}

}  // namespace

FileKind file_kind(const std::filesystem::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? kind_of(st.st_mode) : FileKind::kNothing;
}

const char* describe(FileKind kind) {
  switch (kind) {
    case FileKind::kNothing: return "nothing";
    case FileKind::kRegularFile: return "a regular file";
    case FileKind::kDirectory: return "a directory";
    case FileKind::kDevice: return "a device";
    case FileKind::kPipe: return "a pipe";
    case FileKind::kSocket: return "a socket";
    case FileKind::kOther: break;
  }
  return "neither a file nor a directory";
}

namespace {

/// Reads the file at path (see read_whole_file) in pieces of 64 KiB, each handed to `piece`; `size`
/// first gets the size of a regular file (nothing for a pipe).
void read_pieces(const std::filesystem::path& path, Readable readable,
                 const std::function<void(unsigned long long)>& size,
                 const std::function<void(std::string_view)>& piece) {
  using Reason = ReadRefused::Reason;
  const bool pipe_ok = readable == Readable::kRegularFileOrPipe;
  const auto check_kind = [&](const struct stat& st) {
    if (!S_ISREG(st.st_mode) && !(pipe_ok && S_ISFIFO(st.st_mode)))
      throw ReadRefused(Reason::kWrongKind, std::string("is ") + describe(kind_of(st.st_mode)) + ", not a regular file" +
                                                (pipe_ok ? " or a pipe" : ""));
  };
  // The kind before opening: opening a named pipe waits for its writer, so one that is refused is
  // never opened. What is read is the kind of the open descriptor, checked again after.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) check_kind(st);
  const int blocking = S_ISFIFO(st.st_mode) ? 0 : O_NONBLOCK;  // for a pipe, reads wait for its writer
  const Descriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | blocking));
  if (fd.get() < 0) throw ReadRefused(Reason::kCannotOpen, std::string("cannot open: ") + std::strerror(errno));
  if (::fstat(fd.get(), &st) != 0)
    throw ReadRefused(Reason::kCannotOpen, std::string("cannot stat: ") + std::strerror(errno));
  check_kind(st);
  if (S_ISREG(st.st_mode)) size(static_cast<unsigned long long>(st.st_size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ReadRefused(Reason::kReadFailed, std::string("cannot read: ") + std::strerror(errno));
    }
    piece(std::string_view(buffer, static_cast<std::size_t>(n)));
  }
}

}  // namespace

std::string read_whole_file(const std::filesystem::path& path, Readable readable, std::size_t max_bytes) {
  using Reason = ReadRefused::Reason;
  const std::string too_large = "is larger than " + in_mebibytes(max_bytes);
  std::string bytes;
  try {
    read_pieces(
        path, readable,
        [&](unsigned long long size) {
          if (size > max_bytes) throw ReadRefused(Reason::kTooLarge, too_large);
          bytes.reserve(static_cast<std::size_t>(size));
        },
        [&](std::string_view piece) {
          if (piece.size() > max_bytes - bytes.size()) throw ReadRefused(Reason::kTooLarge, too_large);
          bytes.append(piece);
        });
  } catch (const std::bad_alloc&) {
    throw ReadRefused(Reason::kTooLarge, "is too large to read into memory");
  }
  return bytes;
}

void read_file_in_chunks(const std::filesystem::path& path, Readable readable,
                         const std::function<void(std::string_view)>& chunk) {
  read_pieces(path, readable, [](unsigned long long) {}, chunk);
}

}  // namespace ufm::io
