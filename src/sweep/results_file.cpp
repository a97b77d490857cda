#include "ufm/sweep/results_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ufm/config/argument_check.hpp"
#include "ufm/io/whole_file.hpp"
#include "ufm/version.hpp"

namespace ufm::sweep {
namespace {

using Json = nlohmann::ordered_json;

std::string errno_text() { return std::strerror(errno); }

/// Parses the text of a results file (see ResultsFile).
ResultsFile parse_results(const std::string& text, const std::string& path) {
  ResultsFile file;
  std::size_t pos = 0;
  long line_no = 0;
  while (pos < text.size()) {
    const std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) {
      file.cut_tail = true;
      break;
    }
    ++line_no;
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    file.complete_bytes = pos;
    Json j;
    try {
      j = Json::parse(line);
    } catch (const nlohmann::json::exception&) {
      throw ResultsError(path + ":" + std::to_string(line_no) + ": not a JSON line (" + abbreviate(line, 60) +
                         "); is this the output of ufm-sim sweep?");
    }
    const std::string type = j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : "";
    if (line_no == 1) {
      if (type != "header" || !j.contains("grid_hash"))
        throw ResultsError(path + ":1: not a ufm-sim sweep header (" + abbreviate(line, 60) + ")");
      file.header = std::move(j);
      continue;
    }
    if (type != "point" || !j.contains("index") || !j["index"].is_number_integer() || !j.contains("id") || !j["id"].is_string())
      throw ResultsError(path + ":" + std::to_string(line_no) + ": not a sweep point line (" + abbreviate(line, 60) + ")");
    PointLine p;
    p.index = j["index"].get<long>();
    p.id = j["id"].get<std::string>();
    p.text = line;
    p.json = std::move(j);
    file.points.push_back(std::move(p));
  }
  return file;
}

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

ResultsFile read_results(const std::string& path) {
  std::string text;
  try {  // a FIFO ends with its writer: `merge <(cat a.jsonl)`
    text = io::read_whole_file(path, io::Readable::kRegularFileOrPipe);
  } catch (const io::ReadRefused& e) {
    if (e.reason() == io::ReadRefused::Reason::kWrongKind)
      throw ResultsError(path + ": not a results file: it " + e.what());
    throw ResultsError(path + ": " + e.what());
  }
  return parse_results(text, path);
}

ResultsAppender::ResultsAppender(const std::string& path, const Json& header) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw ResultsError("--out: cannot open '" + path + "': " + errno_text());
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw ResultsError("--out: '" + path + "' is not a regular file (a sweep appends to and resumes from a file)");
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw ResultsError("--out: '" + path + "' is " +
                       (err == EWOULDBLOCK ? std::string("being written by another ufm-sim sweep") : std::strerror(err)));
  }
  try {
    existing_ = read_results(path);
    if (existing_.header) {  // before anything is changed: the file must be this grid's (and shard's)
      const Json& old = *existing_.header;
      if (old.value("grid_hash", Json()) != header["grid_hash"])
        throw ResultsError("--out: '" + path + "' holds the results of another grid (grid_hash " +
                           old.value("grid_hash", Json()).dump() + ", this grid " + header["grid_hash"].dump() +
                           "); give another --out");
      if (old.value("shard", Json()) != header["shard"])
        throw ResultsError("--out: '" + path + "' holds shard " + old.value("shard", Json()).dump() + " of this grid, not " +
                           header["shard"].dump() + "; give another --out");
    }
    if (existing_.cut_tail) {  // a line cut by a kill: drop it, its point runs again
      if (::ftruncate(fd_, static_cast<off_t>(existing_.complete_bytes)) != 0)
        throw ResultsError("--out: cannot truncate '" + path + "': " + errno_text());
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
      throw ResultsError("--out: cannot write '" + path_ + "': " + errno_text());
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
