#include "ufm/sweep/results_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ufm/config/config_error.hpp"
#include "ufm/io/json_depth.hpp"
#include "ufm/io/whole_file.hpp"
#include "ufm/version.hpp"

namespace ufm::sweep {
namespace {

using Json = nlohmann::ordered_json;

std::string errno_text() { return std::strerror(errno); }

/// Builds a ResultsFile from the file's bytes as they come, one complete line at a time: of each point
/// line it keeps what `detail` asks for, so that the file is never held whole (see read_results).
class ResultsParser {
 public:
  ResultsParser(const std::string& path, LineDetail detail) : path_(abbreviate(path)), detail_(detail) {}

  void add(std::string_view piece) {
    std::size_t pos = 0;
    while (pos < piece.size()) {
      const std::size_t end = piece.find('\n', pos);
      if (end == std::string_view::npos) {
        partial_.append(piece.substr(pos));
        break;
      }
      if (partial_.empty()) {
        line(piece.substr(pos, end - pos));
      } else {
        partial_.append(piece.substr(pos, end - pos));
        line(partial_);
        partial_.clear();
      }
      pos = end + 1;
      file_.complete_bytes = read_ + pos;
    }
    read_ += piece.size();
  }

  ResultsFile finish() {
    file_.cut_tail = !partial_.empty();
    return std::move(file_);
  }

 private:
  void line(std::string_view text) {
    ++line_no_;
    if (io::json_too_deep(text))
      throw ResultsError(where() + ": " + io::json_too_deep_reason() + "; is this the output of ufm-sim sweep?");
    Json j;
    try {
      j = Json::parse(text);
    } catch (const nlohmann::json::exception&) {
      throw ResultsError(where() + ": not a JSON line (" + abbreviate(std::string(text), 60) +
                         "); is this the output of ufm-sim sweep?");
    }
    const std::string type = j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : "";
    if (line_no_ == 1) {
      if (type != "header" || !j.contains("grid_hash"))
        throw ResultsError(path_ + ":1: not a ufm-sim sweep header (" + abbreviate(std::string(text), 60) + ")");
      file_.header = std::move(j);
      return;
    }
    if (type != "point" || !j.contains("index") || !j["index"].is_number_integer() || !j.contains("id") ||
        !j["id"].is_string())
      throw ResultsError(where() + ": not a sweep point line (" + abbreviate(std::string(text), 60) + ")");
    PointLine p;
    p.index = j["index"].get<long>();
    p.id = j["id"].get<std::string>();
    if (detail_ == LineDetail::kText) p.text = text;
    file_.points.push_back(std::move(p));
  }

  std::string where() const { return path_ + ":" + std::to_string(line_no_); }

  std::string path_;  // as messages echo it: cut to 80 characters
  LineDetail detail_;
  ResultsFile file_;
  std::string partial_;  ///< the start of a line whose end is in a later piece
  std::uintmax_t read_ = 0;  ///< bytes of the pieces before the one in hand
  long line_no_ = 0;
};

}  // namespace

nlohmann::ordered_json Shard::json() const {
  return all() ? Json(nullptr) : Json(std::to_string(index) + "/" + std::to_string(count));
}

Shard parse_shard(const std::string& text) {
  const std::size_t slash = text.find('/');
  Shard s;
  try {
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    std::size_t a = 0, b = 0;
    s.index = std::stol(text.substr(0, slash), &a);
    s.count = std::stol(text.substr(slash + 1), &b);
    if (a != slash || b != text.size() - slash - 1 || s.count < 1 || s.index < 0 || s.index >= s.count)
      throw std::invalid_argument("range");
  } catch (const std::exception&) {
    throw ResultsError("--shard: got '" + abbreviate(text, 40) + "', allowed: i/m with 0 <= i < m (e.g. 0/4)");
  }
  return s;
}

Json make_header(const Grid& grid, const Shard& shard) {
  Json h;
  h["type"] = "header";
  h["ufm_sim_version"] = kVersion;
  h["command"] = to_string(grid.command);
  h["grid_hash"] = grid.hash;
  h["points"] = grid.points.size();
  h["shard"] = shard.json();
  h["grid"] = grid.source;
  return h;
}

ResultsFile read_results(const std::string& path, LineDetail detail) {
  ResultsParser parser(path, detail);
  try {  // a FIFO ends with its writer: `merge <(cat a.jsonl)`
    io::read_file_in_chunks(path, io::Readable::kRegularFileOrPipe, [&](std::string_view bytes) { parser.add(bytes); });
  } catch (const io::ReadRefused& e) {
    if (e.reason() == io::ReadRefused::Reason::kWrongKind)
      throw ResultsError(abbreviate(path) + ": not a results file: it " + e.what());
    throw ResultsError(abbreviate(path) + ": " + e.what());
  }
  return parser.finish();
}

ReplacementLock::ReplacementLock(const std::string& path) {
  // O_NONBLOCK: a FIFO opens at once (and is not held); nothing is read or written here.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;  // a new path, or one the write itself will report
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
      throw ResultsError("--out: '" + abbreviate(path) +
                         "' is being written by a running ufm-sim sweep: its points would be lost; stop the "
                         "sweep first, or give another --out");
    return;  // flock unsupported here (some network filesystems): nothing to hold
  }
  fd_ = fd;
}

ReplacementLock::~ReplacementLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

ResultsAppender::ResultsAppender(const std::string& path, const Json& header) : shown_(abbreviate(path)) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw ResultsError("--out: cannot open '" + shown_ + "': " + errno_text());
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw ResultsError("--out: '" + shown_ + "' is not a regular file (a sweep appends to and resumes from a file)");
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw ResultsError("--out: '" + shown_ + "' is " +
                       (err == EWOULDBLOCK ? std::string("being written by another ufm-sim sweep") : std::strerror(err)));
  }
  try {
    existing_ = read_results(path, LineDetail::kIdOnly);
    if (existing_.header) {  // before anything is changed: the file must be this grid's (and shard's)
      const Json& old = *existing_.header;
      if (old.value("grid_hash", Json()) != header["grid_hash"])
        throw ResultsError("--out: '" + shown_ + "' holds the results of another grid (grid_hash " +
                           old.value("grid_hash", Json()).dump() + ", this grid " + header["grid_hash"].dump() +
                           "); give another --out");
      if (old.value("shard", Json()) != header["shard"])
        throw ResultsError("--out: '" + shown_ + "' holds shard " + old.value("shard", Json()).dump() +
                           " of this grid, not " +
                           header["shard"].dump() + "; give another --out");
    }
    if (existing_.cut_tail) {  // a line cut by a kill: drop it, its point runs again
      if (::ftruncate(fd_, static_cast<off_t>(existing_.complete_bytes)) != 0)
        throw ResultsError("--out: cannot truncate '" + shown_ + "': " + errno_text());
      existing_.cut_tail = false;
    }
  } catch (...) {
    ::close(fd_);  // nothing changed: the lock goes with the descriptor
    fd_ = -1;
    throw;
  }
  if (!existing_.header) append(header.dump() + "\n");
}

ResultsAppender::~ResultsAppender() {
  if (fd_ >= 0) {
    ::fsync(fd_);
    ::close(fd_);  // releases the lock
  }
}

void ResultsAppender::append(const std::string& line) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t done = 0;
  while (done < line.size()) {  // one write(2) unless the kernel takes only part of it
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ResultsError("--out: cannot write '" + shown_ + "': " + errno_text());
    }
    done += static_cast<std::size_t>(n);
  }
}

void ResultsAppender::sync() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (fd_ >= 0) ::fsync(fd_);
}

Json without_wall_time(Json line) {
  line.erase("wall_seconds");
  return line;
}

}  // namespace ufm::sweep
