#pragma once
/// Crash-safe file output: write a temporary file beside the target, fsync it, rename it over the
/// target. A reader (or a later run) sees either the old content or the new one, never a mix.
///
/// The temporary file is `<path>.tmp.<pid>` in the target's directory (rename is atomic only
/// within one file system). Two writers to the same path in one process would share that name:
/// write each path from one thread at a time.
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

/// `<path>.tmp.<pid>`: where write_file_atomic and AtomicWriter stage their output.
std::filesystem::path temp_path_for(const std::filesystem::path& path);

/// Writes `content` to `path` atomically (temp file, fsync, rename).
/// On failure the temp file is removed, `path` keeps its old content, and IoError
/// "cannot write '<path>': <reason>" is thrown.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);
/// Same, writing the concatenation of `parts` (no copy of large buffers, e.g. matrix data).
void write_file_atomic(const std::filesystem::path& path, std::span<const std::string_view> parts);

/// Throws IoError "cannot write '<path>': <reason>" unless `path`'s directory exists and a file can
/// be created in it (a probe temp file is created and removed) and `path` is not a directory.
/// Call it before long work so that a bad --out fails at once.
void check_writable(const std::filesystem::path& path);

/// Streaming atomic output (JSON lines): lines go to the temp file, commit() renames it over the
/// final path.
///
/// | call        | effect                                                                       |
/// |-------------|------------------------------------------------------------------------------|
/// | constructor | creates `<path>.tmp.<pid>`; throws IoError if it cannot (bad --out, up front) |
/// | write(s)    | appends s to an in-memory buffer (written out when it grows past 64 KiB)     |
/// | flush()     | hands the buffer to the OS: a killed run keeps every line written so far     |
/// | commit()    | flush, fsync, close, rename over the final path; later writes throw         |
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
  const std::filesystem::path& temp_path() const { return temp_path_; }
  bool committed() const { return committed_; }

 private:
  void write_out();            // buffer_ -> fd_, throws IoError
  void close_quietly() noexcept;

  std::filesystem::path path_;
  std::filesystem::path temp_path_;
  std::string buffer_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace ufm::io
