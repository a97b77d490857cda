#pragma once
/// The stages of `ufm-sim net`, shared with `ufm-sim compare`: everything that can fail on bad input
/// (prepare_network), then the training run with its checkpoint metrics (train_network), then what a
/// trained network hands on (its weights, and the features its output layer sees).
#include <optional>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "ufm/app/trajectory_writer.hpp"
#include "ufm/config/net_config.hpp"
#include "ufm/data/dataset.hpp"
#include "ufm/dynamics/observer.hpp"
#include "ufm/io/state_dir.hpp"
#include "ufm/linalg.hpp"

namespace ufm {

/// The loaded data and, with --init-state, the weights to start from.
struct NetworkInputs {
  data::DataSplit split;
  std::optional<io::ModelState> initial;
};

/// Loads the data (scaled, subset, standardized as asked) and --init-state, and checks that the
/// network fits in memory. Throws ConfigError naming the option (--data, --init-state, --widths).
NetworkInputs prepare_network(const NetConfig& config);

/// Samples per class of the balanced evaluation subset: --metric-samples / K, at most the smallest
/// class (at least 1).
Index evaluation_per_class(const data::Dataset& train, Index metric_samples);

/// A network at the end of its run.
struct TrainedNetwork {
  RunSummary summary;
  nlohmann::ordered_json final;  ///< the last checkpoint
  std::vector<Mat> hidden;       ///< W_1 (d₁×d_in), …, W_{L−1}
  Mat W;                         ///< W_L (K×d_{L−1})
  Vec b;                         ///< the output bias (--last-bias), else empty
  Mat features;                  ///< S_{L−1} of the training evaluation samples (d_{L−1}×n)
  std::vector<int> labels;       ///< their classes (balanced: n/K per class)
};

/// Trains the network (minibatch SGD, or --batch-size full with --dynamics gd|momentum|flow),
/// writing the header, a checkpoint at each scheduled step and the footer to `writer`; stops
/// early on interrupt_flag() (interrupt.hpp). `start_seconds` is when the command started, by
/// steady_seconds() (steady_seconds.hpp): its footer's wall_seconds counts from there.
TrainedNetwork train_network(const NetConfig& config, NetworkInputs inputs, TrajectoryWriter& writer, bool progress,
                             double start_seconds);

/// --save-state: net_W1.npy … (the hidden layers), W.npy and b.npy (the output layer), and the
/// features S_{L−1} of the evaluation samples as H.npy with labels.npy (state_dir.hpp).
/// Throws io::IoError.
void save_network_state(const NetConfig& config, const TrainedNetwork& net);

}  // namespace ufm
