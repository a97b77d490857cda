#pragma once
/// `ufm-bench checkpoint`: what one checkpoint of `ufm-sim run` costs, in milliseconds and in
/// gradient-descent steps of the same model.
///
/// The model is the one `ufm-sim run --layers L --classes K --per-class n --dim d --loss ce --bias reg`
/// builds (deep_problem.hpp's make_deep_objective: hidden widths d, linear, every weight decay
/// bench::Problem's lam), started from its Gaussian init (std 0.1, b = 0) and moved a few GD steps
/// away from it. The
/// timed call is checkpoint_report itself, the function simulate.cpp's observer calls, with the
/// MetricOptions `ufm-sim run` passes (only --max-singular-values set). The GD step is timed on the
/// same objective and state, as GradientDescent::run makes it (bench_problem.hpp's run_steps).
#include <algorithm>
#include <chrono>
#include <limits>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_problem.hpp"
#include "deep_problem.hpp"
#include "ufm/app/checkpoint_report.hpp"

namespace ufm::bench {

/// Wall seconds of one call of `run()`.
template <class Run>
double seconds_of(Run&& run) {
  const auto t0 = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// The fastest of at least `min_calls` calls of `run()` lasting together at least `min_seconds`: on a
/// shared machine the minimum is the cost without the time other processes took.
template <class Run>
double best_seconds(Run&& run, int min_calls, double min_seconds) {
  double best = std::numeric_limits<double>::infinity(), total = 0.0;
  for (int calls = 0; calls < min_calls || total < min_seconds; ++calls) {
    const double s = seconds_of(run);
    best = std::min(best, s);
    total += s;
  }
  return best;
}

/// Times one checkpoint of `ufm-sim run` at K classes, n samples per class, width d, `layers` layers,
/// --max-singular-values `max_singular_values`, on the calling thread(s), against the GD step there.
/// Returns ms_per_checkpoint, ms_per_gd_step and checkpoint_over_gd_step (their ratio), with the sizes;
/// ms_handing_logits (part of ms_per_checkpoint), the checkpoint forming the logits itself
/// (ms_per_checkpoint_forming_logits, its ratio), and the checkpoint without the spectra
/// (ms_per_checkpoint_without_spectra, its ratio).
inline nlohmann::ordered_json time_checkpoint(Index K, Index n, Index d, int layers, Index max_singular_values) {
  Problem p;
  p.K = K, p.n = n, p.d = d;
  const DeepUfmObjective f = make_deep_objective(p, false, layers);
  Vec theta = initial_deep_theta(p, f);
  constexpr long kStepsFromStart = 3;  // a state a few GD steps away from the random start
  run_steps(f, theta, p.lr, kStepsFromStart);

  // The GD step at this state: run_steps(1 + m) − run_steps(1), back to back, over m, so that the
  // set-up of a run and the gradient evaluation it makes beyond its updates cancel; m doubled until
  // the m steps take at least 0.2 s; the median of 3 to 9 such differences (at least 1 s of them).
  Vec walk = theta;
  const auto run_seconds = [&](long steps) { return seconds_of([&] { run_steps(f, walk, p.lr, steps); }); };
  long m = 2;
  while (m < 4096 && run_seconds(1 + m) - run_seconds(1) < 0.2) m *= 2;
  std::vector<double> steps_s;
  const auto start = std::chrono::steady_clock::now();
  while (steps_s.size() < 3 ||
         (steps_s.size() < 9 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 1.0)) {
    const double one = run_seconds(1);
    steps_s.push_back((run_seconds(1 + m) - one) / static_cast<double>(m));
  }
  std::nth_element(steps_s.begin(), steps_s.begin() + static_cast<long>(steps_s.size() / 2), steps_s.end());
  const double step_s = steps_s[steps_s.size() / 2];

  // The checkpoint, as GradientDescent (and the flow at a state sure to be observed) hands it to
  // simulate.cpp's observer: with the logits of the state's evaluation (one layer;
  // Checkpoint::logits_t), which cost that evaluation a copy of each block's logits. That copy is
  // timed as value_gradient_and_logits against value_and_gradient and counted in the checkpoint. A
  // state observed only because of a stop request or convergence to grad_tol (nobody knew before its
  // evaluation) hands none: ms_per_checkpoint_forming_logits.
  Vec grad(f.num_params());
  Mat logits_t;
  const double value = f.value_gradient_and_logits(theta, grad, logits_t);
  const Checkpoint cp{kStepsFromStart, p.lr * static_cast<double>(kStepsFromStart), value, grad.norm(), theta, grad,
                      logits_t.size() > 0 ? &logits_t : nullptr};
  const Checkpoint forming{cp.step, cp.time, cp.value, cp.grad_norm, cp.theta, cp.grad};
  const MetricOptions options{max_singular_values};
  volatile std::size_t keep = 0;  // the report is used, so the call is not optimized away
  Vec scratch(f.num_params());
  double handing_s = 0.0;
  if (cp.logits_t) {
    const double plain_s = best_seconds([&] { keep = keep + (f.value_and_gradient(theta, scratch) > 0.0); }, 3, 0.3);
    const double with_s =
        best_seconds([&] { keep = keep + (f.value_gradient_and_logits(theta, scratch, logits_t) > 0.0); }, 3, 0.3);
    handing_s = std::max(0.0, with_s - plain_s);
  }
  const double report_s = best_seconds([&] { keep = keep + checkpoint_report(f, cp, options).size(); }, 3, 0.3);
  const double checkpoint_s = report_s + handing_s;
  const double forming_s = best_seconds([&] { keep = keep + checkpoint_report(f, forming, options).size(); }, 3, 0.3);
  // The same without the spectra (MetricOptions::spectra = false, as `--no-spectra`): what the
  // d×d (or N×N) Gram products and their eigenvalues cost.
  const MetricOptions no_spectra{max_singular_values, false};
  const double no_spectra_s =
      best_seconds([&] { keep = keep + checkpoint_report(f, cp, no_spectra).size(); }, 3, 0.3) + handing_s;

  nlohmann::ordered_json j;
  j["impl"] = "ufm-sim-checkpoint";
  j["K"] = K;
  j["n"] = n;
  j["N"] = K * n;
  j["d"] = d;
  j["layers"] = layers;
  j["loss"] = p.loss == Loss::kMse ? "mse" : "ce";
  j["max_singular_values"] = max_singular_values;
  j["ms_per_checkpoint"] = 1e3 * checkpoint_s;
  j["ms_per_gd_step"] = 1e3 * step_s;
  j["checkpoint_over_gd_step"] = checkpoint_s / step_s;
  j["ms_handing_logits"] = 1e3 * handing_s;
  j["ms_per_checkpoint_forming_logits"] = 1e3 * forming_s;
  j["forming_logits_over_gd_step"] = forming_s / step_s;
  j["ms_per_checkpoint_without_spectra"] = 1e3 * no_spectra_s;
  j["without_spectra_over_gd_step"] = no_spectra_s / step_s;
  return j;
}

}  // namespace ufm::bench
