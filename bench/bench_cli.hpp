#pragma once
/// ufm-bench's command line ends as ufm-sim's does: help exits 0, and an option CLI11 rejects
/// (unknown, malformed, out of range) is named on stderr and exits 2, ufm-sim's bad-input status,
/// before any work (CLI11's own CLI11_PARSE would exit with its internal codes, 105 and up).
#include <ostream>
#include <string>

#include <CLI/CLI.hpp>

#include "ufm/app/exit_status.hpp"
#include "ufm/dynamics/gradient_flow.hpp"

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

/// `--low-rank-slopes auto|always|never` on `flow` (GradientFlow::Options::low_rank_slopes), into
/// `choice`; any other value is rejected by the parse.
inline void add_low_rank_slopes_option(CLI::App* flow, std::string& choice) {
  flow->add_option("--low-rank-slopes", choice,
                   "auto | always | never: the one-layer UFM's slopes kept low rank (auto: where H is 16 MiB or "
                   "more and K <= 12, as ufm-sim run does)")
      ->check(CLI::IsMember({"auto", "always", "never"}));
}

/// The option's value as the flow's setting ("auto", or anything unparsed, is the default).
inline LowRankSlopes low_rank_slopes_named(const std::string& choice) {
  return choice == "always"  ? LowRankSlopes::kAlways
         : choice == "never" ? LowRankSlopes::kNever
                             : LowRankSlopes::kAuto;
}

}  // namespace ufm::bench
