#include "ufm/app/trajectory_writer.hpp"

#include "ufm/app/standard_streams.hpp"
#include "ufm/io/atomic_file.hpp"

namespace ufm {
namespace {

/// f(), with an io::IoError's message prefixed by the option it concerns: the file's name alone does
/// not say which output of the command failed.
template <class F>
void naming_out(F&& f) {
  try {
    f();
  } catch (const io::IoError& e) {
    throw io::IoError(std::string("--out: ") + e.what());
  }
}

}  // namespace

TrajectoryWriter::TrajectoryWriter(OutputFormat format, const std::string& out_path)
    : format_(format), out_path_(out_path) {
  if (out_path_.empty()) {  // the output is stdout: refused before the work if it cannot be written
    if (stdout_was_closed()) throw io::IoError("stdout: closed when ufm-sim started; give --out FILE");
    return;
  }
  naming_out([&] {
    if (format_ == OutputFormat::kJsonl)
      stream_ = std::make_unique<io::AtomicWriter>(out_path_);
    else
      io::check_writable(out_path_);
  });
}

TrajectoryWriter::TrajectoryWriter(InMemory) : format_(OutputFormat::kJson), in_memory_(true) {}

TrajectoryWriter::~TrajectoryWriter() = default;

void TrajectoryWriter::emit_line(const nlohmann::ordered_json& record) {
  const std::string line = record.dump() + "\n";
  if (stream_) {
    naming_out([&] {
      stream_->write(line);
      stream_->flush();  // a killed run keeps every line so far in the temp file
    });
  } else {
    write_stdout(line);
  }
}

void TrajectoryWriter::header(const nlohmann::ordered_json& header) {
  if (format_ == OutputFormat::kJsonl) {
    nlohmann::ordered_json record = {{"type", "header"}};
    record.update(header);
    emit_line(record);
  } else {
    document_ = header;
    document_["trajectory"] = nlohmann::ordered_json::array();
  }
}

void TrajectoryWriter::checkpoint(const nlohmann::ordered_json& checkpoint) {
  if (format_ == OutputFormat::kJsonl) {
    nlohmann::ordered_json record = {{"type", "checkpoint"}};
    record.update(checkpoint);
    emit_line(record);
  } else {
    document_["trajectory"].push_back(checkpoint);
  }
}

void TrajectoryWriter::finish(const nlohmann::ordered_json& footer) {
  if (format_ == OutputFormat::kJsonl) {
    nlohmann::ordered_json record = {{"type", "end"}};
    record.update(footer);
    emit_line(record);
    if (stream_) naming_out([&] { stream_->commit(); });
    return;
  }
  document_.update(footer);
  if (in_memory_) return;
  const std::string text = document_.dump(1) + "\n";
  write_document(out_path_, text, "--out");
}

}  // namespace ufm
