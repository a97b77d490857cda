#pragma once
/// Command-line and --config parsing for `ufm-sim run`.
#include <string>
#include <vector>

#include "ufm/config/run_config.hpp"

namespace ufm {

/// Which command's options: `run` takes them all, `theory` the model options and --out.
enum class Command { kRun, kTheory };

struct ParsedRun {
  RunConfig config;
  bool help = false;       ///< --help was given: print help_text, exit 0
  std::string help_text;
};

/// Parses the options of `ufm-sim run` (args exclude the program name and the subcommand).
/// `--config FILE` options are read first; options on the command line win.
/// Throws ConfigError, naming the option, for any unknown option, malformed value or bad config file.
/// An option of `run` given to `theory` is an error naming it; so is any unknown option (with the
/// nearest known one suggested), a stray argument, an empty path or a second --config.
ParsedRun parse_run_options(const std::vector<std::string>& args, Command command = Command::kRun);

/// Every option of the command with its default and allowed values, as `--help` prints it.
std::string help_text(Command command);
std::string run_help_text();

}  // namespace ufm
