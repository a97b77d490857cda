/// Minibatch SGD (dynamics/minibatch_sgd.hpp) and its learning-rate schedules.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <memory>

#include "ufm/config/config_error.hpp"
#include "ufm/dynamics/lr_schedule.hpp"
#include "ufm/dynamics/minibatch_sgd.hpp"
#include "ufm/objectives/network_objective.hpp"
#include "ufm/random.hpp"

namespace ufm {
namespace {

TEST(LrSchedule, StepCosineAndConstantGiveTheDocumentedRates) {
  const LrSchedule step = parse_lr_schedule("--lr-schedule", "step:2,5:0.1");
  EXPECT_DOUBLE_EQ(step.at(1.0, 0, 100, 1), 1.0);
  EXPECT_DOUBLE_EQ(step.at(1.0, 0, 100, 2), 0.1);
  EXPECT_NEAR(step.at(1.0, 0, 100, 7), 0.01, 1e-15);
  EXPECT_EQ(step.to_string(), "step:2,5:0.1");
  const LrSchedule cosine = parse_lr_schedule("--lr-schedule", "cosine");
  EXPECT_DOUBLE_EQ(cosine.at(2.0, 0, 10, 0), 2.0);
  EXPECT_NEAR(cosine.at(2.0, 5, 10, 0), 1.0, 1e-15);
  EXPECT_NEAR(cosine.at(2.0, 10, 10, 0), 0.0, 1e-15);
  EXPECT_DOUBLE_EQ(parse_lr_schedule("--lr-schedule", "constant").at(0.3, 7, 10, 3), 0.3);
}

TEST(LrSchedule, MalformedTextsAreRefusedNamingTheOption) {
  for (const char* bad : {"", "step", "step:", "step:3", "step:3:", "step:5,3:0.1", "step:0:0.1", "step:3:2",
                          "step:3:0", "step:a:0.1", "cosine:1", "linear"}) {
    try {
      (void)parse_lr_schedule("--lr-schedule", bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("--lr-schedule"), std::string::npos) << e.what();
    }
  }
}

/// A small network problem: 3 classes, 4 inputs, 30 samples.
NetworkObjective small_network() {
  auto X = std::make_shared<Mat>(4, 30);
  Vec flat(4 * 30);
  fill_gaussian(flat, 1.0, 3);
  *X = Eigen::Map<Mat>(flat.data(), 4, 30);
  std::vector<int> labels(30);
  for (int i = 0; i < 30; ++i) labels[static_cast<std::size_t>(i)] = i % 3;
  NetworkSpec spec;
  spec.input_dim = 4;
  spec.widths = {8};
  spec.K = 3;
  spec.lambda_w = {1e-3, 1e-3};
  return NetworkObjective(spec, X, labels, 7);
}

TEST(MinibatchSgd, RunsEpochsTimesBatchesStepsAndLowersTheObjective) {
  const NetworkObjective f = small_network();
  Vec theta;
  init_kaiming(f.layout(), theta, 1);
  const double before = f.value(theta);
  MinibatchSgd::Options o;
  o.batch_size = 7;  // 30 samples: 5 batches per epoch, the last of 2
  o.epochs = 20;
  o.lr = 0.05;
  const std::vector<long> checkpoints{0};
  int observed = 0;
  const RunSummary s = MinibatchSgd(o).run(f, theta, checkpoints, [&](const Checkpoint&) {
    ++observed;
    return ObserverAction::kContinue;
  });
  EXPECT_EQ(MinibatchSgd::batches_per_epoch(30, 7), 5);
  EXPECT_EQ(s.status, RunStatus::kMaxSteps);
  EXPECT_EQ(s.steps, 100);
  EXPECT_EQ(observed, 2);  // step 0 and the final state
  EXPECT_LT(f.value(theta), before);
}

TEST(MinibatchSgd, TheSameSeedGivesTheSameIteratesAndAnotherSeedOthers) {
  const NetworkObjective f = small_network();
  auto run = [&](std::uint64_t seed) {
    Vec theta;
    init_kaiming(f.layout(), theta, 1);
    MinibatchSgd::Options o;
    o.batch_size = 4;
    o.epochs = 3;
    o.seed = seed;
    MinibatchSgd(o).run(f, theta, std::vector<long>{}, NullObserver{});
    return theta;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(MinibatchSgd, AStopRequestEndsTheRunAtAFiniteObservedState) {
  const NetworkObjective f = small_network();
  Vec theta;
  init_kaiming(f.layout(), theta, 1);
  std::atomic<bool> stop{false};
  MinibatchSgd::Options o;
  o.batch_size = 4;
  o.epochs = 1000;
  o.stop_request = &stop;
  long last = -1;
  const RunSummary s = MinibatchSgd(o).run(f, theta, std::vector<long>{0, 10}, [&](const Checkpoint& c) {
    last = c.step;
    if (c.step == 10) stop = true;
    return ObserverAction::kContinue;
  });
  EXPECT_EQ(s.status, RunStatus::kStopped);
  EXPECT_EQ(s.steps, 11);
  EXPECT_EQ(last, 11);
  EXPECT_TRUE(theta.allFinite());
}

TEST(MinibatchSgd, ADivergingRunEndsAtItsLastObservedState) {
  const NetworkObjective f = small_network();
  Vec theta;
  init_kaiming(f.layout(), theta, 1);
  MinibatchSgd::Options o;
  o.batch_size = 4;
  o.epochs = 100;
  o.lr = 1e6;
  o.momentum = 0;
  Vec at_zero;
  const RunSummary s = MinibatchSgd(o).run(f, theta, std::vector<long>{0}, [&](const Checkpoint& c) {
    at_zero = c.theta;
    return ObserverAction::kContinue;
  });
  EXPECT_EQ(s.status, RunStatus::kDiverged) << s.message;
  EXPECT_EQ(theta, at_zero);
}

}  // namespace
}  // namespace ufm
