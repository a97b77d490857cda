#pragma once
/// A first pass over a command line, before CLI11 sees it: unknown options (with the nearest known
/// one suggested), stray arguments, missing values and options that may be given once. CLI11's own
/// messages for these ("The following arguments were not expected: 1 --bogus") name neither the
/// problem nor a fix.
#include <span>
#include <string>
#include <vector>

namespace ufm {

struct OptionShape {
  std::string name;         ///< long name without dashes, e.g. "lambda-w"
  bool takes_value = true;  ///< false for flags such as --quiet
  bool once = false;        ///< given twice is an error (e.g. --config)
};

/// Throws ConfigError naming the argument: "unknown option --lamda (did you mean --lambda?)",
/// "--lambda: missing value", "unexpected argument 'stray'", "--config: given twice".
/// `--name=value` is accepted; -h and --help are always known. `command` prefixes the usage hint.
void check_arguments(std::span<const std::string> args, const std::vector<OptionShape>& known,
                     const std::string& command);

/// The first argument that is not UTF-8 text (a Latin-1 file name, a stray byte), as a message
/// naming its option ("--out: got \"bad\uFFFD.json\", allowed: UTF-8 text ..."), or "" when every
/// argument is UTF-8. Every command records its options in its JSON output, and JSON holds UTF-8
/// only: nlohmann refused to write such a string, and the command ended in an internal error after
/// its work, its output lost. Checked first, by main, for every command.
std::string non_utf8_argument(std::span<const std::string> args);

/// The known name closest to `given` by edit distance, or "" when none is close (distance <= 2, or
/// <= a third of the name's length for longer names).
std::string nearest_name(const std::string& given, const std::vector<std::string>& known);

}  // namespace ufm
