#pragma once
/// The JSONL output of `ufm-sim sweep`: a header line, then one line per finished point, appended
/// with one write(2) each on an O_APPEND descriptor held under an exclusive flock.
///
/// header: {"type": "header", "ufm_sim_version", "command", "grid_hash", "points", "shard", "grid"}
/// point:  see run_point.hpp
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ufm/sweep/grid.hpp"

namespace ufm::sweep {

/// A results file that cannot be used (unreadable, corrupt, another grid): exit 2.
class ResultsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Shard {
  long index = 0, count = 1;  ///< runs the points with index ≡ index (mod count)
  bool all() const { return count == 1; }
  bool owns(long point) const { return point % count == index; }
  /// "i/m", or null for the whole grid.
  nlohmann::ordered_json json() const;
};
/// "i/m" with 0 <= i < m; throws ResultsError naming --shard.
Shard parse_shard(const std::string& text);

nlohmann::ordered_json make_header(const Grid& grid, const Shard& shard);

struct PointLine {
  long index = 0;
  std::string id;
  std::string text;  ///< the line as read, without its newline (LineDetail::kText)
};

/// What read_results keeps of each point line, besides its index and id.
enum class LineDetail {
  kText,    ///< the line's text (merge, --table): about the file's size in memory
  kIdOnly,  ///< nothing more (a sweep resuming: about 100 bytes a point, whatever its lines hold)
};

struct ResultsFile {
  std::optional<nlohmann::ordered_json> header;  ///< none: empty file
  std::vector<PointLine> points;                  ///< in file order
  std::uintmax_t complete_bytes = 0;              ///< bytes up to the end of the last complete line
  bool cut_tail = false;                          ///< a last line without its newline (a killed writer)
};

/// Reads a results file; a last line without '\n' is reported in cut_tail and not parsed.
/// Throws ResultsError naming the file and line for a line that is not JSON, a first line that is
/// not a header, or a point line without index / id. The file is read in pieces and never held whole:
/// every line is parsed to check it, and only `detail` of it is kept.
ResultsFile read_results(const std::string& path, LineDetail detail = LineDetail::kText);

/// A hold on a path that a command is about to replace with a results file of its own (merge --out):
/// when the path names a regular file, that file's flock (LOCK_EX|LOCK_NB, as ResultsAppender takes),
/// kept until destruction, so that no sweep appends to the file while it is being replaced (its
/// finished points would go to the replaced file and be lost). Nothing to hold for a new path or
/// anything but a regular file. Throws ResultsError when a running sweep holds the file.
class ReplacementLock {
 public:
  explicit ReplacementLock(const std::string& path);
  ~ReplacementLock();
  ReplacementLock(const ReplacementLock&) = delete;
  ReplacementLock& operator=(const ReplacementLock&) = delete;

 private:
  int fd_ = -1;
};

/// The output of a running sweep: opened O_WRONLY|O_APPEND|O_CREAT, locked (flock LOCK_EX|LOCK_NB: a
/// second sweep on the same file is refused), a cut last line truncated away, the header written
/// when the file is empty. append() is thread-safe: one write(2) per line under a mutex.
class ResultsAppender {
 public:
  /// \param existing what read_results found (the file is re-read under the lock to be sure).
  ResultsAppender(const std::string& path, const nlohmann::ordered_json& header);
  ~ResultsAppender();
  ResultsAppender(const ResultsAppender&) = delete;
  ResultsAppender& operator=(const ResultsAppender&) = delete;
  /// What was in the file when it was opened (after dropping a cut last line).
  const ResultsFile& existing() const { return existing_; }
  /// Appends `line` (which must end with '\n'); throws ResultsError on a write error.
  void append(const std::string& line);
  /// fsync; called by the destructor too (errors ignored there).
  void sync();

 private:
  std::string shown_;  ///< the path as messages echo it: cut to 80 characters
  int fd_ = -1;
  std::mutex mutex_;
  ResultsFile existing_;
};

/// Every line of a point minus its wall_seconds, for comparisons.
nlohmann::ordered_json without_wall_time(nlohmann::ordered_json line);

}  // namespace ufm::sweep
