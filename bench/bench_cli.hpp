#pragma once
/// ufm-bench's command line ends as ufm-sim's does: help exits 0, and an option CLI11 rejects
/// (unknown, malformed, out of range) is named on stderr and exits 2, ufm-sim's bad-input status,
/// before any work (CLI11's own CLI11_PARSE would exit with its internal codes, 105 and up).
#include <ostream>

#include <CLI/CLI.hpp>

#include "ufm/app/exit_status.hpp"

namespace ufm::bench {

/// -1 when the command line parsed and the program goes on; otherwise the exit status.
inline int parse_command_line(CLI::App& app, int argc, const char* const* argv, std::ostream& out,
                              std::ostream& err) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help: CLI11 signals it as a "successful" parse error
      out << app.help();
      return kExitOk;
    }
    err << app.get_name() << ": error: " << e.what() << " (see " << app.get_name() << " --help)\n";
    return kExitBadInput;
  }
  return -1;
}

}  // namespace ufm::bench
