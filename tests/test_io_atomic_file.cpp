#include <gtest/gtest.h>

#include <algorithm>
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
using test::TempDir;

/// Files in dir, by name.
std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const IoError& e) {
    return e.what();
  }
  return "<no IoError>";
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
  // The target is a non-empty directory: the rename fails after the temp file was written.
  fs::create_directories(tmp / "target" / "inside");
  const std::string msg = error_of([&] { write_file_atomic(tmp / "target", "data"); });
  EXPECT_NE(msg.find("cannot write '" + (tmp / "target").string() + "'"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(temp_path_for(tmp / "target")));
  EXPECT_TRUE(fs::is_directory(tmp / "target" / "inside"));

  // The temp file cannot be created: the old content stays.
  write_file_atomic(tmp / "keep.txt", "old");
  fs::create_directories(temp_path_for(tmp / "keep.txt") / "blocker");
  EXPECT_NE(error_of([&] { write_file_atomic(tmp / "keep.txt", "new"); }).find("keep.txt"), std::string::npos);
  EXPECT_EQ(test::read_bytes(tmp / "keep.txt"), "old");
}

TEST(AtomicFile, MissingDirectoryThrowsNamingThePath) {
  TempDir tmp;
  const fs::path path = tmp / "no_such_dir" / "out.json";
  const std::string msg = error_of([&] { write_file_atomic(path, "x"); });
  EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(tmp / "no_such_dir"));
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
  EXPECT_EQ(out.temp_path(), temp_path_for(path));
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

}  // namespace
}  // namespace ufm::io
