#pragma once
/// Where a run's JSON goes: one document (json) or one line per record (jsonl), to stdout or
/// to a file that appears atomically (temp file, then rename).
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "ufm/config/run_config.hpp"

namespace ufm {

namespace io {
class AtomicWriter;
}

class TrajectoryWriter {
 public:
  /// Opens the output before any work, so an unwritable --out fails early (throws io::IoError).
  TrajectoryWriter(OutputFormat format, const std::string& out_path);
  /// Keeps the whole json document in memory (document()) and writes nothing: `ufm-sim sweep`.
  struct InMemory {};
  explicit TrajectoryWriter(InMemory);
  ~TrajectoryWriter();

  /// {"ufm_sim_version", "command", "config", "seed", "model", ...}: written first.
  void header(const nlohmann::ordered_json& header);
  void checkpoint(const nlohmann::ordered_json& checkpoint);
  /// {"status", "message", "final", "summary", "wall_seconds", ...}: completes the output.
  void finish(const nlohmann::ordered_json& footer);
  /// The document built so far (complete after finish()); only meaningful for the json format.
  const nlohmann::ordered_json& document() const { return document_; }

 private:
  void emit_line(const nlohmann::ordered_json& record);
  OutputFormat format_;
  std::string out_path_;
  std::unique_ptr<io::AtomicWriter> stream_;  ///< jsonl to a file
  nlohmann::ordered_json document_;           ///< json: built up, written at finish
  bool in_memory_ = false;                    ///< InMemory: finish() only completes document_
};

}  // namespace ufm
