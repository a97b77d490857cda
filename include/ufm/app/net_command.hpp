#pragma once
/// `ufm-sim net`: train a bias-free ReLU network on data (NetworkObjective) by minibatch SGD or
/// full-batch dynamics, with the UFM's metrics at every hidden layer over training.
#include <string>
#include <vector>

namespace ufm {

/// The whole command (args without "net"); returns the exit status.
int net_command(const std::vector<std::string>& args);

}  // namespace ufm
