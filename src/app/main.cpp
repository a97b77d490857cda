/// ufm-sim: the command-line front end. `run` is the default subcommand.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "ufm/app/exit_status.hpp"
#include "ufm/app/compare_command.hpp"
#include "ufm/app/heap_reuse.hpp"
#include "ufm/app/net_command.hpp"
#include "ufm/app/merge_command.hpp"
#include "ufm/app/sweep_command.hpp"
#include "ufm/app/simulate.hpp"
#include "ufm/app/standard_streams.hpp"
#include "ufm/app/theory_command.hpp"
#include "ufm/app/toy_command.hpp"
#include "ufm/config/argument_check.hpp"
#include "ufm/config/config_error.hpp"
#include "ufm/io/atomic_file.hpp"
#include "ufm/parallel.hpp"
#include "ufm/version.hpp"

namespace {

constexpr const char* kUsage =
    "ufm-sim: simulate the unconstrained features model and measure neural collapse\n"
    "\n"
    "usage: ufm-sim [run] [options]     simulate (the default subcommand); ufm-sim run --help\n"
    "       ufm-sim theory [options]    the closed-form global minimizer of the same model (theory.md §5)\n"
    "       ufm-sim toy [options]       the Wojtowytsch-E three-parameter flow (theory.md §5 (g))\n"
    "       ufm-sim net [options]       train a bias-free ReLU network on data, NC metrics at every layer\n"
    "       ufm-sim compare [options]   a trained network against the UFM of the same size, side by side\n"
    "       ufm-sim sweep GRID.json --out R.jsonl   every point of a grid, in parallel, resumable; sweep --help\n"
    "       ufm-sim merge A.jsonl B.jsonl ... --out R.jsonl   join the outputs of sweep --shard i/m\n"
    "       ufm-sim help [COMMAND]      this text, or a command's options\n"
    "       ufm-sim --version\n"
    "\n"
    "exit status: 0 done, 1 internal error, 2 bad input (nothing run or written) or out of memory during the\n"
    "run, 3 diverged (output so far written), 4 --check-theory mismatch, 5 an output not written (disk full, I/O\n"
    "error), 130/143/129 stopped by SIGINT/SIGTERM/SIGHUP (output written, status \"stopped\").\n";

/// The command's status; what it wrote through std::cout (help texts, --version) is flushed by main.
int dispatch(std::vector<std::string> args) {
  if (ufm::max_threads() > ufm::kMaxThreads) {  // before any parallel region: libgomp would crash creating it
    const char* requested = std::getenv("OMP_NUM_THREADS");
    std::cerr << "ufm-sim: error: OMP_NUM_THREADS: got '" << (requested ? requested : "?") << "', allowed: at most "
              << ufm::kMaxThreads << " threads\n";
    return ufm::kExitBadInput;
  }
  if (const std::string why = ufm::non_utf8_argument(args); !why.empty()) {
    std::cerr << "ufm-sim: error: " << why << "\n";
    return ufm::kExitBadInput;
  }
  try {
    if (!args.empty() && args[0] == "--version") {
      std::cout << "ufm-sim " << ufm::kVersion << "\n";
      return ufm::kExitOk;
    }
    if (!args.empty() && args[0] == "help") {
      if (args.size() == 1) {
        std::cout << kUsage;
        return ufm::kExitOk;
      }
      if (args.size() == 2 && (args[1] == "run" || args[1] == "theory" || args[1] == "toy" || args[1] == "net" ||
                               args[1] == "compare" || args[1] == "sweep" || args[1] == "merge")) {
        args = {args[1], "--help"};
      } else {
        std::string given;  // every word after help: `help run extra` named only 'run'
        for (std::size_t i = 1; i < args.size(); ++i) given += (i > 1 ? " " : "") + args[i];
        std::cerr << "ufm-sim: error: help: got '" << ufm::abbreviate(given)
                  << "', allowed: one of run | theory | toy | net | compare | sweep | merge\n";
        return ufm::kExitBadInput;
      }
    }
    if (!args.empty() && args[0] == "sweep") return ufm::sweep_command({args.begin() + 1, args.end()});
    if (!args.empty() && args[0] == "merge") return ufm::merge_command({args.begin() + 1, args.end()});
    if (!args.empty() && args[0] == "net") return ufm::net_command({args.begin() + 1, args.end()});
    if (!args.empty() && args[0] == "compare") return ufm::compare_command({args.begin() + 1, args.end()});
    if (!args.empty() && args[0] == "toy") return ufm::toy_command({args.begin() + 1, args.end()});
    if (!args.empty() && args[0] == "theory") return ufm::theory_command({args.begin() + 1, args.end()});
    if (!args.empty() && args[0] == "run") args.erase(args.begin());
    else if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) std::cout << kUsage << "\n";
    return ufm::run_command(args);
  } catch (const ufm::io::IoError& e) {  // the work ran, but an output could not be written (disk full, ...)
    std::cerr << "ufm-sim: error: " << e.what() << "\n";
    return ufm::kExitOutputFailed;
  } catch (const std::bad_alloc&) {  // past the memory estimate, which was short: the sizes do not fit
    const std::string command = !args.empty() && args[0].rfind("-", 0) != 0 ? args[0] : "run";
    std::cerr << "ufm-sim: error: out of memory at `ufm-sim " << command
              << "`: raise the memory limit (ulimit -v/-d, the cgroup's memory.max) or reduce the sizes (--dim, "
                 "--per-class, --widths, --layers, --num-checkpoints) or the threads (OMP_NUM_THREADS)\n";
    return ufm::kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "ufm-sim: internal error: " << e.what() << "\n";
    return ufm::kExitInternal;
  }
}

}  // namespace

int main(int argc, char** argv) {
  ufm::hold_closed_standard_descriptors();  // before any file is opened
  // Past a file-size limit (`ulimit -f`) a write raises SIGXFSZ, whose default action killed the
  // process (status 153) and left its temporary files behind. Ignored, the write fails with EFBIG,
  // and the output's error path reports it, removes the temporary file and exits 5.
  std::signal(SIGXFSZ, SIG_IGN);
  ufm::keep_freed_memory_in_heap();  // each checkpoint's buffers reuse the last one's pages
  const int status = dispatch({argv + 1, argv + argc});
  // A help text or --version that stdout could not take (`ufm-sim --help > /dev/full`) is an output
  // not written; the documents were checked as they were written (write_stdout).
  // A failed flush says why; a write that failed earlier, when a long text filled the buffer, only
  // leaves the stream's error flag.
  const bool flushed = std::fflush(stdout) == 0;
  const std::string why = flushed ? "a write to it failed" : std::strerror(errno);
  if ((!flushed || std::ferror(stdout)) && status == ufm::kExitOk) {
    std::cerr << "ufm-sim: error: stdout: cannot write (" << why << ")\n";
    return ufm::kExitOutputFailed;
  }
  return status;
}
