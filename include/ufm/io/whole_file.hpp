#pragma once
/// Reading an input file whole (a config, a grid, a results file, a state's arrays and its
/// state.json), through one descriptor: the kind checked is the kind read, and a device is refused
/// before a byte is read. A device never ends (/dev/zero read whole took every byte of memory), a
/// terminal waits for typing, and a directory has no bytes; a pipe ends with its writer, so the
/// formats a user may pass as `<(…)` accept one.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ufm::io {

/// The kinds of file read_whole_file reads.
enum class Readable {
  kRegularFile,        ///< a regular file (after symlinks)
  kRegularFileOrPipe,  ///< that, or a FIFO or pipe such as bash's `<(…)`
};

/// Why read_whole_file refused or failed. what() is the reason without the path, a clause such as
/// "is a device, not a regular file or a pipe"; callers put it in their own error, with the path.
class ReadRefused : public std::runtime_error {
 public:
  enum class Reason {
    kCannotOpen,   ///< open(2) failed: "cannot open: " and errno's text
    kWrongKind,    ///< a directory, a device, a socket, or a pipe where only a regular file is read
    kTooLarge,     ///< more than max_bytes, or more than memory holds
    kReadFailed,   ///< read(2) failed
  };
  ReadRefused(Reason reason, const std::string& what) : std::runtime_error(what), reason_(reason) {}
  Reason reason() const { return reason_; }

 private:
  Reason reason_;
};

/// What a path names, after symlinks.
enum class FileKind { kNothing, kRegularFile, kDirectory, kDevice, kPipe, kSocket, kOther };

/// The kind of what path names; kNothing when it does not exist or cannot be examined.
FileKind file_kind(const std::filesystem::path& path);

/// "a regular file", "a directory", "a device", "a pipe", "a socket", "nothing", or "neither a file nor
/// a directory": for messages about a file of the wrong kind.
const char* describe(FileKind kind);

/// The bytes of the file at path, if it is of a kind `readable` allows and holds at most max_bytes
/// (a regular file larger than that is refused from its size, before reading). Throws ReadRefused.
std::string read_whole_file(const std::filesystem::path& path, Readable readable,
                            std::size_t max_bytes = std::numeric_limits<std::size_t>::max());

/// The same file, opened and checked the same way, handed to `chunk` in pieces of at most 64 KiB as
/// they are read, so that a reader that keeps only what it needs of a large file (a sweep's results:
/// gigabytes) never holds it whole. Throws ReadRefused, and whatever `chunk` throws.
void read_file_in_chunks(const std::filesystem::path& path, Readable readable,
                         const std::function<void(std::string_view)>& chunk);

}  // namespace ufm::io
