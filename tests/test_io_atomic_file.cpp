#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "test_io_util.hpp"
#include "ufm/io/atomic_file.hpp"

namespace ufm::io {
namespace {

namespace fs = std::filesystem;
using test::error_of;
using test::FileSizeLimit;
using test::listing;
using test::TempDir;

/// lstat's file type of `path`, or 0 if it does not exist.
mode_t file_type(const fs::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? (st.st_mode & S_IFMT) : 0;
}

/// A character device node at `path` (mknod: root only) that can be opened for writing here, or an
/// empty string; otherwise the reason it could not be made.
std::string make_char_device(const fs::path& path, unsigned major, unsigned minor) {
  if (::mknod(path.c_str(), S_IFCHR | 0666, ::makedev(major, minor)) != 0)
    return "mknod failed (needs root): " + std::string(std::strerror(errno));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return "cannot open the device node (a nodev mount?): " + std::string(std::strerror(errno));
  ::close(fd);
  return "";
}

/// The counter n of a temp name `<target>.tmp.<pid>.<n>`.
unsigned long temp_counter(const fs::path& tmp) {
  const std::string name = tmp.filename().string();
  return std::stoul(name.substr(name.rfind('.') + 1));
}

TEST(AtomicFile, WritesAndReplacesLeavingNoTempFile) {
  TempDir tmp;
  write_file_atomic(tmp / "out.json", "old\n");
  EXPECT_EQ(test::read_bytes(tmp / "out.json"), "old\n");
  write_file_atomic(tmp / "out.json", "new content\n");
  EXPECT_EQ(test::read_bytes(tmp / "out.json"), "new content\n");
  EXPECT_EQ(listing(tmp.path()), std::vector<std::string>{"out.json"});
  EXPECT_EQ(temp_path_for(tmp / "out.json").parent_path(), tmp.path());  // same directory: rename is atomic
}

TEST(AtomicFile, PartsAreWrittenInOrderWhateverTheirSizes) {
  TempDir dir;
  // Many small parts (gathered into larger writes), an empty one, and parts of 1 MiB and more among
  // them (written as they are): the file is their concatenation, in order.
  std::vector<std::string> texts;
  for (int i = 0; i < 30000; ++i) texts.push_back(std::to_string(i) + (i % 7 == 0 ? "" : ",") + "\n");
  texts.insert(texts.begin() + 100, std::string(1 << 20, 'a'));
  texts.insert(texts.begin() + 20000, std::string(3 << 20, 'b'));
  texts.insert(texts.begin() + 20001, "");
  texts.push_back(std::string((1 << 20) - 1, 'c'));
  std::vector<std::string_view> parts(texts.begin(), texts.end());
  std::string expected;
  for (const std::string& t : texts) expected += t;
  write_file_atomic(dir / "out.txt", parts);
  const std::string written = test::read_bytes(dir / "out.txt");
  EXPECT_EQ(written.size(), expected.size());
  EXPECT_TRUE(written == expected);
}

TEST(AtomicFile, ReaderSeesOldOrNewContentNeverAMix) {
  // A plain truncate-and-write would let the reader see an empty or partial file.
  TempDir tmp;
  const fs::path path = tmp / "out.txt";
  const std::string a(200000, 'a'), b(300000, 'b');
  write_file_atomic(path, a);
  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, bad{0};
  std::thread reader([&] {
    while (!done) {
      const std::string s = test::read_bytes(path);
      if (s != a && s != b) ++bad;
      ++reads;
    }
  });
  for (int i = 0; i < 40; ++i) write_file_atomic(path, i % 2 ? a : b);
  done = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0) << "of " << reads.load() << " reads";
  EXPECT_GT(reads.load(), 0);
}

TEST(AtomicFile, FailureKeepsOldContentAndRemovesTheTempFile) {
  TempDir tmp;
  // The target is a directory: refused before any temp file is made.
  fs::create_directories(tmp / "target" / "inside");
  const std::string msg = error_of([&] { write_file_atomic(tmp / "target", "data"); });
  EXPECT_NE(msg.find("cannot write '" + (tmp / "target").string() + "'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("is a directory"), std::string::npos) << msg;
  EXPECT_EQ(listing(tmp.path()), std::vector<std::string>{"target"});
  EXPECT_TRUE(fs::is_directory(tmp / "target" / "inside"));

  // Writing the temp file fails half way (a file size limit: EFBIG): the old content stays and the
  // temp file is removed.
  write_file_atomic(tmp / "keep.txt", "old");
  ASSERT_EQ(listing(tmp.path()), (std::vector<std::string>{"keep.txt", "target"}));
  {
    FileSizeLimit limit(1000);
    const std::string big(5000, 'x');
    const std::string err = error_of([&] { write_file_atomic(tmp / "keep.txt", big); });
    EXPECT_NE(err.find("keep.txt"), std::string::npos) << err;
    EXPECT_NE(err.find("write failed"), std::string::npos) << err;
  }
  EXPECT_EQ(test::read_bytes(tmp / "keep.txt"), "old");
  EXPECT_EQ(listing(tmp.path()), (std::vector<std::string>{"keep.txt", "target"}));
}

TEST(AtomicFile, MissingDirectoryThrowsNamingThePath) {
  TempDir tmp;
  const fs::path path = tmp / "no_such_dir" / "out.json";
  const std::string msg = error_of([&] { write_file_atomic(path, "x"); });
  EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(tmp / "no_such_dir"));
  EXPECT_THROW(check_writable(path), IoError);
  EXPECT_FALSE(fs::exists(tmp / "no_such_dir"));  // check_writable creates no directory either
}

TEST(CheckWritable, AcceptsAWritableDirectoryAndLeavesNothingBehind) {
  TempDir tmp;
  EXPECT_NO_THROW(check_writable(tmp / "out.json"));
  EXPECT_TRUE(listing(tmp.path()).empty());
  write_file_atomic(tmp / "existing.json", "x");
  EXPECT_NO_THROW(check_writable(tmp / "existing.json"));
  EXPECT_EQ(test::read_bytes(tmp / "existing.json"), "x");
}

TEST(CheckWritable, RejectsAMissingDirectoryOrADirectoryTarget) {
  TempDir tmp;
  const fs::path missing = tmp / "nope" / "out.json";
  const std::string msg = error_of([&] { check_writable(missing); });
  EXPECT_NE(msg.find("cannot write '" + missing.string() + "'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { check_writable(tmp.path()); }).find("is a directory"), std::string::npos);
  write_file_atomic(tmp / "file", "x");
  EXPECT_NE(error_of([&] { check_writable(tmp / "file" / "out.json"); }).find("not a directory"), std::string::npos);
}

TEST(AtomicWriter, FlushedLinesAreInTheTempFileUntilCommit) {
  TempDir tmp;
  const fs::path path = tmp / "traj.jsonl";
  write_file_atomic(path, "previous run\n");
  AtomicWriter out(path);
  EXPECT_FALSE(out.direct());
  EXPECT_EQ(out.temp_path().parent_path(), tmp.path());
  EXPECT_EQ(out.temp_path().filename().string().rfind("traj.jsonl.tmp." + std::to_string(::getpid()) + ".", 0), 0u)
      << out.temp_path();
  out.write("{\"step\": 0}\n");
  out.write("{\"step\": 1}\n");
  out.flush();
  EXPECT_EQ(test::read_bytes(out.temp_path()), "{\"step\": 0}\n{\"step\": 1}\n");
  EXPECT_EQ(test::read_bytes(path), "previous run\n");  // untouched before commit
  out.write("{\"step\": 2}\n");
  out.commit();
  EXPECT_TRUE(out.committed());
  EXPECT_EQ(test::read_bytes(path), "{\"step\": 0}\n{\"step\": 1}\n{\"step\": 2}\n");
  EXPECT_FALSE(fs::exists(out.temp_path()));
  EXPECT_THROW(out.write("late"), IoError);
}

TEST(AtomicWriter, LargeOutputIsWrittenInFull) {
  TempDir tmp;
  std::string expected;
  {
    AtomicWriter out(tmp / "big.jsonl");
    for (int i = 0; i < 20000; ++i) {
      const std::string line = "{\"step\": " + std::to_string(i) + ", \"loss\": 0.125}\n";
      out.write(line);
      expected += line;
    }
    out.commit();
  }
  EXPECT_EQ(test::read_bytes(tmp / "big.jsonl"), expected);
}

TEST(AtomicWriter, WithoutCommitLeavesTheTempFileAndNoTarget) {
  TempDir tmp;
  const fs::path path = tmp / "traj.jsonl";
  fs::path temp;
  {
    AtomicWriter out(path);
    temp = out.temp_path();
    out.write("line 1\n");  // not flushed: the destructor hands it to the temp file
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(test::read_bytes(temp), "line 1\n");
}

TEST(AtomicWriter, MovedWriterKeepsWriting) {
  TempDir tmp;
  AtomicWriter a(tmp / "m.txt");
  a.write("x");
  AtomicWriter b(std::move(a));
  b.write("y");
  b.commit();
  EXPECT_EQ(test::read_bytes(tmp / "m.txt"), "xy");
}

TEST(AtomicWriter, UnwritableDestinationThrowsUpFront) {
  TempDir tmp;
  const fs::path path = tmp / "missing" / "traj.jsonl";
  const std::string msg = error_of([&] { AtomicWriter out(path); });
  EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
  EXPECT_THROW(AtomicWriter{tmp.path()}, IoError);
}

TEST(AtomicFile, TempNamesAreFreshEachTimeAndBesideTheTarget) {
  TempDir tmp;
  const fs::path a = temp_path_for(tmp / "out.json");
  const fs::path b = temp_path_for(tmp / "out.json");
  EXPECT_NE(a, b);
  EXPECT_EQ(a.parent_path(), tmp.path());
  const std::string prefix = "out.json.tmp." + std::to_string(::getpid()) + ".";
  EXPECT_EQ(a.filename().string().rfind(prefix, 0), 0u) << a;
  EXPECT_EQ(temp_counter(b), temp_counter(a) + 1);
}

TEST(AtomicFile, PlantedSymlinksAtTheNextTempNamesAreNotFollowed) {
  TempDir tmp;
  const fs::path target = tmp / "out.json";
  const fs::path victim = tmp / "victim.txt";
  write_file_atomic(victim, "precious");
  // The next temp names are predictable (pid and counter); an attacker plants links at them.
  const unsigned long next = temp_counter(temp_path_for(target)) + 1;
  std::vector<fs::path> planted;
  for (unsigned long n = next; n < next + 5; ++n) {
    fs::path link = target;
    link += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(n);
    fs::create_symlink(victim, link);
    planted.push_back(link);
  }
  write_file_atomic(target, "new content");
  EXPECT_EQ(test::read_bytes(target), "new content");
  EXPECT_EQ(test::read_bytes(victim), "precious");
  for (const auto& link : planted) EXPECT_TRUE(fs::is_symlink(link)) << link;
  EXPECT_EQ(file_type(target), S_IFREG);
  EXPECT_EQ(listing(tmp.path()).size(), 2u + planted.size());  // out.json, victim.txt, the links: no temp file
  // The same for the streaming writer.
  const unsigned long after = temp_counter(temp_path_for(target)) + 1;
  fs::path link = target;
  link += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(after);
  fs::create_symlink(victim, link);
  AtomicWriter out(target);
  EXPECT_NE(out.temp_path(), link);
  out.write("streamed");
  out.commit();
  EXPECT_EQ(test::read_bytes(target), "streamed");
  EXPECT_EQ(test::read_bytes(victim), "precious");
}

TEST(AtomicFile, KeepsThePermissionsOfTheFileItReplaces) {
  TempDir tmp;
  write_file_atomic(tmp / "private.json", "old");
  fs::permissions(tmp / "private.json", fs::perms::owner_read | fs::perms::owner_write);
  write_file_atomic(tmp / "private.json", "new");
  EXPECT_EQ(test::read_bytes(tmp / "private.json"), "new");
  EXPECT_EQ(fs::status(tmp / "private.json").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST(AtomicFileSymlinks, ReplacesTheTargetAndKeepsTheLink) {
  TempDir tmp;
  fs::create_directories(tmp / "data");
  write_file_atomic(tmp / "data" / "real.json", "old");
  fs::create_symlink(tmp / "data" / "real.json", tmp / "link.json");
  write_file_atomic(tmp / "link.json", "new");
  EXPECT_EQ(file_type(tmp / "link.json"), S_IFLNK);
  EXPECT_EQ(fs::read_symlink(tmp / "link.json"), tmp / "data" / "real.json");
  EXPECT_EQ(file_type(tmp / "data" / "real.json"), S_IFREG);
  EXPECT_EQ(test::read_bytes(tmp / "data" / "real.json"), "new");
  EXPECT_EQ(listing(tmp.path()), (std::vector<std::string>{"data", "link.json"}));
  EXPECT_EQ(listing(tmp / "data"), std::vector<std::string>{"real.json"});
}

TEST(AtomicFileSymlinks, CreatesTheTargetOfADanglingLink) {
  TempDir tmp;
  fs::create_directories(tmp / "data");
  fs::create_symlink(tmp / "data" / "new.json", tmp / "link.json");
  write_file_atomic(tmp / "link.json", "created");
  EXPECT_EQ(file_type(tmp / "link.json"), S_IFLNK);
  EXPECT_EQ(test::read_bytes(tmp / "data" / "new.json"), "created");
  EXPECT_EQ(listing(tmp / "data"), std::vector<std::string>{"new.json"});
}

TEST(AtomicFileSymlinks, FollowsAChainOfRelativeLinksFromEachLinksDirectory) {
  TempDir tmp;
  // tmp/a/first -> ../b/second -> ../c/final.json; the test's working directory is elsewhere, so
  // resolving "../b/second" against it (instead of against tmp/a) would go astray.
  for (const char* d : {"a", "b", "c"}) fs::create_directories(tmp / d);
  write_file_atomic(tmp / "c" / "final.json", "old");
  fs::create_symlink("../c/final.json", tmp / "b" / "second");
  fs::create_symlink("../b/second", tmp / "a" / "first");
  ASSERT_NE(fs::current_path(), tmp / "a");
  EXPECT_EQ(follow_symlinks(tmp / "a" / "first"), tmp / "a" / ".." / "b" / ".." / "c" / "final.json");
  write_file_atomic(tmp / "a" / "first", "through the chain");
  EXPECT_EQ(test::read_bytes(tmp / "c" / "final.json"), "through the chain");
  EXPECT_EQ(file_type(tmp / "a" / "first"), S_IFLNK);
  EXPECT_EQ(file_type(tmp / "b" / "second"), S_IFLNK);
  EXPECT_EQ(listing(tmp / "a"), std::vector<std::string>{"first"});
  EXPECT_EQ(listing(tmp / "b"), std::vector<std::string>{"second"});
  EXPECT_EQ(listing(tmp / "c"), std::vector<std::string>{"final.json"});
  EXPECT_NO_THROW(check_writable(tmp / "a" / "first"));
  EXPECT_EQ(listing(tmp / "c"), std::vector<std::string>{"final.json"});
}

TEST(AtomicFileSymlinks, ALoopIsAnErrorAndCreatesNothing) {
  TempDir tmp;
  fs::create_symlink("b", tmp / "a");
  fs::create_symlink("a", tmp / "b");
  const std::string msg = error_of([&] { write_file_atomic(tmp / "a", "x"); });
  EXPECT_NE(msg.find("too many levels of symbolic links"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { check_writable(tmp / "a"); }).find("too many levels"), std::string::npos);
  EXPECT_THROW(AtomicWriter{tmp / "a"}, IoError);
  EXPECT_EQ(listing(tmp.path()), (std::vector<std::string>{"a", "b"}));
}

TEST(AtomicFileSymlinks, AStreamingWriterStagesBesideTheTargetAndKeepsTheLink) {
  TempDir tmp;
  fs::create_directories(tmp / "data");
  fs::create_directories(tmp / "links");
  fs::create_symlink("../data/traj.jsonl", tmp / "links" / "traj.jsonl");
  AtomicWriter out(tmp / "links" / "traj.jsonl");
  EXPECT_EQ(out.temp_path().parent_path(), tmp / "links" / ".." / "data");  // same file system as the target
  out.write("line\n");
  out.commit();
  EXPECT_EQ(file_type(tmp / "links" / "traj.jsonl"), S_IFLNK);
  EXPECT_EQ(test::read_bytes(tmp / "data" / "traj.jsonl"), "line\n");
  EXPECT_EQ(listing(tmp / "data"), std::vector<std::string>{"traj.jsonl"});
}

TEST(AtomicFileSpecial, WritesToACharDeviceWithoutReplacingIt) {
  TempDir tmp;
  const std::string why = make_char_device(tmp / "null", 1, 3);  // like /dev/null
  if (!why.empty()) GTEST_SKIP() << why;
  EXPECT_TRUE(is_special_file(tmp / "null"));
  EXPECT_EQ(resolve_output_target(tmp / "null").kind, OutputTarget::Kind::kSpecial);
  EXPECT_NO_THROW(check_writable(tmp / "null"));
  write_file_atomic(tmp / "null", "discarded");
  EXPECT_EQ(file_type(tmp / "null"), S_IFCHR);
  {
    AtomicWriter out(tmp / "null");
    EXPECT_TRUE(out.direct());
    EXPECT_TRUE(out.temp_path().empty());
    out.write("line\n");
    out.flush();
    out.commit();
    EXPECT_TRUE(out.committed());
  }
  EXPECT_EQ(file_type(tmp / "null"), S_IFCHR);
  EXPECT_EQ(listing(tmp.path()), std::vector<std::string>{"null"});  // no temp or probe file
}

TEST(AtomicFileSpecial, WritesReachTheDeviceItself) {
  // /dev/full refuses every write with ENOSPC: an error proves the bytes went to the device and not
  // to a temp file renamed over it.
  TempDir tmp;
  const std::string why = make_char_device(tmp / "full", 1, 7);
  if (!why.empty()) GTEST_SKIP() << why;
  const std::string msg = error_of([&] { write_file_atomic(tmp / "full", "data"); });
  EXPECT_NE(msg.find(std::strerror(ENOSPC)), std::string::npos) << msg;
  AtomicWriter out(tmp / "full");
  out.write("line\n");
  EXPECT_THROW(out.flush(), IoError);
  EXPECT_EQ(file_type(tmp / "full"), S_IFCHR);
}

TEST(AtomicFileSpecial, ASymlinkToADeviceIsWrittenThrough) {
  TempDir tmp;
  const std::string why = make_char_device(tmp / "null", 1, 3);
  if (!why.empty()) GTEST_SKIP() << why;
  fs::create_symlink("null", tmp / "out.json");
  write_file_atomic(tmp / "out.json", "x");
  EXPECT_EQ(file_type(tmp / "out.json"), S_IFLNK);
  EXPECT_EQ(file_type(tmp / "null"), S_IFCHR);
  EXPECT_EQ(listing(tmp.path()), (std::vector<std::string>{"null", "out.json"}));
}

TEST(AtomicFileSpecial, WritesToAFifoWithAReader) {
  TempDir tmp;
  const fs::path fifo = tmp / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  // No reader yet: the check must neither block (open would) nor create anything.
  EXPECT_NO_THROW(check_writable(fifo));
  EXPECT_EQ(listing(tmp.path()), std::vector<std::string>{"pipe"});
  {
    test::FifoReader reader(fifo);
    write_file_atomic(fifo, "{\"a\": 1}\n");
    EXPECT_EQ(reader.received(), "{\"a\": 1}\n");
  }
  {
    test::FifoReader reader(fifo);
    AtomicWriter out(fifo);
    EXPECT_TRUE(out.direct());
    out.write("line 1\n");
    out.flush();
    out.write("line 2\n");
    out.commit();
    EXPECT_EQ(reader.received(), "line 1\nline 2\n");
  }
  EXPECT_EQ(file_type(fifo), S_IFIFO);
  EXPECT_EQ(listing(tmp.path()), std::vector<std::string>{"pipe"});
}

TEST(AtomicFileSpecial, ASocketIsRefused) {
  TempDir tmp;
  const fs::path path = tmp / "sock";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.string().size(), sizeof(addr.sun_path));
  std::strcpy(addr.sun_path, path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << std::strerror(errno);
  EXPECT_NE(error_of([&] { write_file_atomic(path, "x"); }).find("it is a socket"), std::string::npos);
  EXPECT_NE(error_of([&] { check_writable(path); }).find("it is a socket"), std::string::npos);
  EXPECT_EQ(file_type(path), S_IFSOCK);
  ::close(fd);
}

TEST(AtomicFileSpecial, DevFdOfAPipeWritesToThatDescriptor) {
  // /dev/fd/N (and /dev/stdout = /proc/self/fd/1) of a pipe reads as "pipe:[…]", not a path: the
  // output must go to the descriptor itself.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const fs::path path = "/dev/fd/" + std::to_string(fds[1]);
  const OutputTarget target = resolve_output_target(path);
  EXPECT_EQ(target.kind, OutputTarget::Kind::kDescriptor);
  EXPECT_EQ(target.fd, fds[1]);
  EXPECT_NO_THROW(check_writable(path));
  write_file_atomic(path, "via the descriptor\n");
  {
    AtomicWriter out(path);
    out.write("streamed\n");
    out.commit();
  }
  ::close(fds[1]);
  std::string got;
  char buf[256];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  EXPECT_EQ(got, "via the descriptor\nstreamed\n");
  // The read end is not open for writing.
  int fds2[2];
  ASSERT_EQ(::pipe(fds2), 0);
  EXPECT_NE(error_of([&] { check_writable("/proc/self/fd/" + std::to_string(fds2[0])); }).find("not open for writing"),
            std::string::npos);
  ::close(fds2[0]);
  ::close(fds2[1]);
}

TEST(AtomicFileSpecial, DevFdOfARegularFileAppendsAtItsOffsetInPlace) {
  TempDir tmp;
  const int fd = ::open((tmp / "log.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "before\n", 7), 7);
  struct stat before {};
  ASSERT_EQ(::fstat(fd, &before), 0);
  write_file_atomic("/proc/self/fd/" + std::to_string(fd), "after\n");
  struct stat after {};
  ASSERT_EQ(::stat((tmp / "log.txt").c_str(), &after), 0);
  ::close(fd);
  EXPECT_EQ(after.st_ino, before.st_ino);  // the same file, not a replacement
  EXPECT_EQ(test::read_bytes(tmp / "log.txt"), "before\nafter\n");
  EXPECT_EQ(listing(tmp.path()), std::vector<std::string>{"log.txt"});
}

TEST(CheckWritable, CreatesNothingForADeviceAndRejectsAnUnopenedDescriptor) {
  TempDir tmp;
  const std::string why = make_char_device(tmp / "null", 1, 3);
  if (!why.empty()) GTEST_SKIP() << why;
  EXPECT_NO_THROW(check_writable(tmp / "null"));
  EXPECT_EQ(listing(tmp.path()), std::vector<std::string>{"null"});
  EXPECT_NE(error_of([&] { check_writable("/dev/fd/987654"); }).find("not open"), std::string::npos);
}

}  // namespace
}  // namespace ufm::io
