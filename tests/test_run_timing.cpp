// RunTiming: the observer's calls are the checkpoints' time, the rest of the run the dynamics'.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "ufm/app/run_timing.hpp"

namespace ufm {
namespace {

using std::chrono::milliseconds;

TEST(RunTiming, CountsTheObserverCallsAsCheckpointsAndTheRestOfTheRunAsDynamics) {
  RunTiming timing;
  int calls = 0;
  auto observe = [&](const Checkpoint&) {
    std::this_thread::sleep_for(milliseconds(20));
    return ++calls == 3 ? ObserverAction::kStop : ObserverAction::kContinue;
  };
  auto timed = timing.timed(observe);
  const Vec theta = Vec::Zero(2), grad = Vec::Zero(2);
  const Checkpoint c{0, 0.0, 0.0, 0.0, theta, grad};
  const int steps = timing.time_run([&] {
    int s = 0;
    while (timed(c) == ObserverAction::kContinue) {
      std::this_thread::sleep_for(milliseconds(10));  // a step of the dynamics
      ++s;
    }
    return s;
  });
  EXPECT_EQ(steps, 2);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(timing.checkpoints(), 3);
  // Sleeps last at least their time: three checkpoints of 20 ms, two steps of 10.
  EXPECT_GE(timing.checkpoint_seconds(), 0.060);
  EXPECT_GE(timing.dynamics_seconds(), 0.020);
  EXPECT_DOUBLE_EQ(timing.dynamics_seconds() + timing.checkpoint_seconds(), timing.run_seconds());
  const nlohmann::ordered_json j = to_json(timing);
  EXPECT_EQ(j["checkpoints"], 3);
  EXPECT_EQ(j["dynamics_seconds"], timing.dynamics_seconds());
  EXPECT_EQ(j["checkpoint_seconds"], timing.checkpoint_seconds());
}

TEST(RunTiming, IsZeroBeforeAnyRun) {
  const RunTiming timing;
  EXPECT_EQ(timing.run_seconds(), 0.0);
  EXPECT_EQ(timing.dynamics_seconds(), 0.0);
  EXPECT_EQ(timing.checkpoints(), 0);
}

}  // namespace
}  // namespace ufm
