/// ufm-sim: the command-line front end. `run` is the default subcommand.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "ufm/app/exit_status.hpp"
#include "ufm/app/simulate.hpp"
#include "ufm/app/theory_command.hpp"
#include "ufm/app/toy_command.hpp"
#include "ufm/version.hpp"

namespace {

constexpr const char* kUsage =
    "ufm-sim: simulate the unconstrained features model and measure neural collapse\n"
    "\n"
    "usage: ufm-sim [run] [options]     simulate (the default subcommand); ufm-sim run --help\n"
    "       ufm-sim theory [options]    the closed-form global minimizer of the same model (theory.md §5)\n"
    "       ufm-sim toy [options]       the Wojtowytsch-E three-parameter flow (theory.md §5 (g))\n"
    "       ufm-sim --version\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (!args.empty() && args[0] == "--version") {
      std::cout << "ufm-sim " << ufm::kVersion << "\n";
      return ufm::kExitOk;
    }
    if (!args.empty() && args[0] == "toy") return ufm::toy_command({args.begin() + 1, args.end()});
    if (!args.empty() && args[0] == "theory") return ufm::theory_command({args.begin() + 1, args.end()});
    if (!args.empty() && args[0] == "run") args.erase(args.begin());
    else if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) std::cout << kUsage << "\n";
    return ufm::run_command(args);
  } catch (const std::exception& e) {
    std::cerr << "ufm-sim: internal error: " << e.what() << "\n";
    return ufm::kExitInternal;
  }
}
