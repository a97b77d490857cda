#include "ufm/app/net_command.hpp"

#include <iostream>
#include <memory>

#include "ufm/app/exit_status.hpp"
#include "ufm/app/interrupt.hpp"
#include "ufm/app/net_training.hpp"
#include "ufm/app/output_paths.hpp"
#include "ufm/app/progress_bar.hpp"
#include "ufm/app/steady_seconds.hpp"
#include "ufm/config/config_error.hpp"
#include "ufm/io/atomic_file.hpp"

namespace ufm {

int net_command(const std::vector<std::string>& args) {
  const double start = steady_seconds();
  NetConfig c;
  NetworkInputs inputs;
  std::unique_ptr<TrajectoryWriter> writer;
  try {
    bool help = false;
    c = parse_net_options(args, help);
    if (help) {
      std::cout << net_help_text();
      return kExitOk;
    }
    if (!c.out.empty()) {
      try {
        io::check_writable(c.out);
      } catch (const io::IoError& e) {
        throw ConfigError(std::string("--out: ") + e.what(), "--out");
      }
    }
    inputs = prepare_network(c);
    check_output_paths(c.out, c.save_state);
    install_interrupt_handlers();
    writer = std::make_unique<TrajectoryWriter>(c.format, c.out);
  } catch (const ConfigError& e) {
    std::cerr << "ufm-sim net: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const io::IoError& e) {
    std::cerr << "ufm-sim net: error: " << e.what() << "\n";
    return kExitBadInput;
  }

  TrainedNetwork net;
  try {
    net = train_network(c, std::move(inputs), *writer, !c.quiet && stderr_is_terminal(), start);
  } catch (const io::IoError& e) {
    std::cerr << "ufm-sim net: error: " << e.what() << "\n";  // the writer names --out
    return kExitOutputFailed;
  }
  // Saved whatever the status: a diverged run keeps its last finite state, a stopped one its last.
  try {
    if (!c.save_state.empty()) save_network_state(c, net);
  } catch (const io::IoError& e) {
    std::cerr << "ufm-sim net: error: --save-state: " << e.what() << "\n";
    return kExitOutputFailed;
  }
  if (net.summary.status == RunStatus::kDiverged) {
    std::cerr << "ufm-sim net: diverged: " << net.summary.message << "\n";
    return kExitDiverged;
  }
  if (net.summary.status == RunStatus::kStopped && interrupt_requested()) {
    std::cerr << "ufm-sim net: " << net.summary.message << "\n";
    return exit_status_for_signal(interrupt_signal());
  }
  return kExitOk;
}

}  // namespace ufm
