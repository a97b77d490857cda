#pragma once
/// `ufm-sim compare`: a network trained on data (net_training.hpp) against the UFM with the same K,
/// samples per class, loss, width and weight decay, run from a random init and from the network's
/// own penultimate features and classifier, with the closed-form prediction where one applies.
#include <string>
#include <vector>

namespace ufm {

/// The whole command (args without "compare"): network options as `ufm-sim net` takes them, UFM
/// options as `ufm-sim run` takes them with the prefix --ufm- (e.g. --ufm-time 1e4). Returns the
/// exit status.
int compare_command(const std::vector<std::string>& args);

}  // namespace ufm
