#pragma once
/// Crash-safe file output: write a temporary file beside the target, fsync it, rename it over the
/// target. A reader (or a later run) sees either the old content or the new one, never a mix.
///
/// What happens depends on what the path names (see resolve_output_target):
///
/// | the path names                              | output                                                    |
/// |---------------------------------------------|-----------------------------------------------------------|
/// | nothing, or a regular file                  | temp file `<path>.tmp.<pid>.<n>` beside it, renamed over it |
/// | a symlink (chain) to a regular file / nothing | the same at the link's final target: the link stays a link |
/// | a char/block device or a FIFO (or a link to one) | opened O_WRONLY and written directly: no temp file, no rename, never replaced |
/// | one of our open descriptors (/dev/stdout, /dev/fd/N, /proc/self/fd/N) | written to that descriptor |
/// | a directory, a socket, a symlink loop       | IoError                                                   |
///
/// The temporary file is created with O_CREAT|O_EXCL|O_NOFOLLOW under a name no other writer uses
/// (pid and a per-process counter; on a clash the next counter value is tried), so a symlink planted
/// at a temp name is never followed and concurrent writers to one path do not share a temp file.
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ufm::io {

/// Every I/O failure of ufm::io; the message names the file and what is wrong.
class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What an output path leads to, after following every symlink of its last component.
struct OutputTarget {
  enum class Kind {
    kRegular,     ///< a regular file, or nothing yet: replace `path` atomically
    kSpecial,     ///< a char/block device or FIFO: open `path` O_WRONLY and write directly
    kDescriptor,  ///< one of this process's open descriptors (`fd`), e.g. /dev/stdout
  };
  Kind kind = Kind::kRegular;
  std::filesystem::path path;  ///< the final target (relative links resolved against their directory)
  bool exists = false;         ///< kRegular: whether the file exists already
  int fd = -1;                 ///< kDescriptor: the descriptor
};

/// Follows `path`'s symlink chain (at most 40 links) and classifies the final target. Throws IoError
/// "cannot write '<path>': <reason>" for a directory, a socket, a symlink loop or a /dev/fd/N that is
/// not open. Creates nothing.
OutputTarget resolve_output_target(const std::filesystem::path& path);

/// Follows `path`'s symlink chain (its last component; at most 40 links) and returns the final
/// target, which may not exist. Relative links are resolved against the link's directory. Throws
/// IoError "'<path>': too many levels of symbolic links" on a loop.
std::filesystem::path follow_symlinks(const std::filesystem::path& path);

/// True if `path` (following symlinks) exists and is neither a regular file nor a directory: a
/// device, a FIFO or a socket. Output to such a path is written directly, never replaced.
bool is_special_file(const std::filesystem::path& path);

/// A fresh temp name beside `target`: `<target>.tmp.<pid>.<n>`, n from a per-process counter.
/// Each call gives another name.
std::filesystem::path temp_path_for(const std::filesystem::path& target);

/// Writes `content` to `path` as in the table above. For a regular target: on failure the temp file
/// is removed and the target keeps its old content. Throws IoError "cannot write '<path>': <reason>".
void write_file_atomic(const std::filesystem::path& path, std::string_view content);
/// Same, writing the concatenation of `parts` (no copy of large buffers, e.g. matrix data).
void write_file_atomic(const std::filesystem::path& path, std::span<const std::string_view> parts);

/// Throws IoError "cannot write '<path>': <reason>" unless output to `path` can be expected to work:
/// for a regular (or new) target, its directory exists and a file can be created in it (a probe
/// file is created with O_EXCL and removed at once); for a device or FIFO, access(W_OK) (it is not
/// opened, so a FIFO without a reader does not block); for a descriptor, that it is open for
/// writing. Never creates directories and never leaves anything behind. Call it before long work so
/// that a bad --out fails at once.
void check_writable(const std::filesystem::path& path);

/// Streaming atomic output (JSON lines): lines go to the temp file, commit() renames it over the
/// final path.
///
/// | call        | effect                                                                       |
/// |-------------|------------------------------------------------------------------------------|
/// | constructor | creates the temp file; throws IoError if it cannot (bad --out, up front)     |
/// | write(s)    | appends s to an in-memory buffer (written out when it grows past 64 KiB)     |
/// | flush()     | hands the buffer to the OS: a killed run keeps every line written so far     |
/// | commit()    | flush, fsync, close, rename over the final path; later writes throw         |
///
/// For a device, FIFO or descriptor target (direct() is true) the constructor opens the target itself
/// (O_WRONLY; a FIFO blocks until it has a reader), there is no temp file (temp_path() is empty),
/// flushed lines go straight to the target and commit() just flushes and closes.
///
/// Destroying a writer without commit() (an exception, a stopped run) flushes what it holds, closes
/// the temp file and leaves it in place, silently, for post-mortem; the final path is untouched.
class AtomicWriter {
 public:
  explicit AtomicWriter(std::filesystem::path path);
  AtomicWriter(AtomicWriter&& other) noexcept;
  AtomicWriter& operator=(AtomicWriter&& other) noexcept;
  AtomicWriter(const AtomicWriter&) = delete;
  AtomicWriter& operator=(const AtomicWriter&) = delete;
  ~AtomicWriter();

  void write(std::string_view text);
  void flush();
  void commit();

  const std::filesystem::path& path() const { return path_; }
  /// Where a regular target is staged; empty when direct().
  const std::filesystem::path& temp_path() const { return temp_path_; }
  /// Where commit() renames to: the symlink-resolved target (== path() unless path() is a link).
  const std::filesystem::path& target_path() const { return target_path_; }
  bool direct() const { return temp_path_.empty(); }
  bool committed() const { return committed_; }

 private:
  void write_out();            // buffer_ -> fd_, throws IoError
  void close_quietly() noexcept;

  std::filesystem::path path_;
  std::filesystem::path target_path_;
  std::filesystem::path temp_path_;
  std::string buffer_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace ufm::io
