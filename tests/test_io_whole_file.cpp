#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "test_io_util.hpp"
#include "ufm/io/whole_file.hpp"

namespace ufm::io {
namespace {

using test::TempDir;
using Reason = ReadRefused::Reason;

/// The reason and text read_whole_file throws (thrown false when it returns).
struct Refusal {
  bool thrown = false;
  Reason reason = Reason::kCannotOpen;
  std::string text;
};

Refusal refusal_of(const std::filesystem::path& path, Readable readable, std::size_t max_bytes = 1u << 20) {
  try {
    read_whole_file(path, readable, max_bytes);
  } catch (const ReadRefused& e) {
    return {true, e.reason(), e.what()};
  }
  return {};
}

/// The read end of a pipe holding `bytes`, its writer closed, as a path (/proc/self/fd/N).
class FilledPipe {
 public:
  explicit FilledPipe(const std::string& bytes) {
    EXPECT_EQ(::pipe(fds_), 0);
    EXPECT_EQ(::write(fds_[1], bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    ::close(fds_[1]);
  }
  ~FilledPipe() { ::close(fds_[0]); }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fds_[0]); }

 private:
  int fds_[2] = {-1, -1};
};

TEST(WholeFile, ReadsARegularFileWholeAcrossChunksWithItsZeroBytes) {
  TempDir tmp;
  std::string bytes(200000, 'a');
  bytes[7] = '\0';
  bytes.back() = 'z';
  test::write_bytes(tmp / "f", bytes);
  EXPECT_EQ(read_whole_file(tmp / "f", Readable::kRegularFile), bytes);
  EXPECT_EQ(read_whole_file(tmp / "f", Readable::kRegularFileOrPipe), bytes);
}

TEST(WholeFile, RefusesADeviceBeforeReadingIt) {
  // Read, /dev/zero would fill the 1 MiB limit and report kTooLarge: the kind is checked first.
  const Refusal r = refusal_of("/dev/zero", Readable::kRegularFileOrPipe);
  ASSERT_TRUE(r.thrown);
  EXPECT_EQ(r.reason, Reason::kWrongKind);
  EXPECT_EQ(r.text, "is a device, not a regular file or a pipe");
}

TEST(WholeFile, RefusesADirectoryAndNamesAMissingFile) {
  TempDir tmp;
  const Refusal dir = refusal_of(tmp.path(), Readable::kRegularFile);
  EXPECT_EQ(dir.reason, Reason::kWrongKind);
  EXPECT_EQ(dir.text, "is a directory, not a regular file");
  const Refusal missing = refusal_of(tmp / "absent", Readable::kRegularFile);
  EXPECT_EQ(missing.reason, Reason::kCannotOpen);
  EXPECT_EQ(missing.text, "cannot open: No such file or directory");
}

TEST(WholeFile, ReadsAPipeOnlyWhereOneIsAllowed) {
  const FilledPipe pipe("{\"a\": 1}");
  const Refusal r = refusal_of(pipe.path(), Readable::kRegularFile);
  EXPECT_EQ(r.reason, Reason::kWrongKind);
  EXPECT_EQ(r.text, "is a pipe, not a regular file");
  const FilledPipe again("{\"a\": 1}");
  EXPECT_EQ(read_whole_file(again.path(), Readable::kRegularFileOrPipe), "{\"a\": 1}");
}

TEST(WholeFile, NeverOpensANamedPipeItRefuses) {
  // Opening a FIFO for reading waits for a writer. A watcher opens its write end without waiting,
  // which succeeds only once a reader has it open: it sees a reader that opened it, and lets it go.
  TempDir tmp;
  const auto fifo = tmp / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::atomic<bool> done{false}, opened{false};
  std::thread watcher([&] {
    while (!done) {
      const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd >= 0) {
        opened = true;
        ::close(fd);
      }
      std::this_thread::yield();
    }
  });
  const Refusal r = refusal_of(fifo, Readable::kRegularFile);
  done = true;
  watcher.join();
  EXPECT_FALSE(opened);
  EXPECT_EQ(r.reason, Reason::kWrongKind);
  EXPECT_EQ(r.text, "is a pipe, not a regular file");
}

TEST(WholeFile, RefusesMoreThanItsLimitFromAFilesSizeAndFromAPipesBytes) {
  TempDir tmp;
  test::write_bytes(tmp / "f", std::string(100, 'x'));
  EXPECT_EQ(read_whole_file(tmp / "f", Readable::kRegularFile, 100).size(), 100u);
  const Refusal file = refusal_of(tmp / "f", Readable::kRegularFile, 99);
  EXPECT_EQ(file.reason, Reason::kTooLarge);
  EXPECT_EQ(file.text, "is larger than 99 bytes");
  const FilledPipe pipe(std::string(100, 'x'));
  const Refusal piped = refusal_of(pipe.path(), Readable::kRegularFileOrPipe, 99);
  EXPECT_EQ(piped.reason, Reason::kTooLarge);
  test::write_bytes(tmp / "g", std::string((1u << 20) + 1, 'x'));
  EXPECT_EQ(refusal_of(tmp / "g", Readable::kRegularFile, 1u << 20).text, "is larger than 1 MiB");
}

}  // namespace
}  // namespace ufm::io
