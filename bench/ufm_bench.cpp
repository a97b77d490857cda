/// ufm-bench: times ufm-sim's gradient-descent step, one collapse_metrics call, and this machine's
/// limits (FMA peak, GEMM rate, memory bandwidth). Prints one JSON line per command, like
/// bench/torch_ufm.py, so that bench/compare.py can put both side by side.
///
///   ufm-bench step    --K 10 --n 500 --d 512 --loss ce [--layers 2] [--threads 1] [--steps 0 --target-time 3]
///   ufm-bench metrics --K 10 --n 500 --d 512 [--threads 1]
///   ufm-bench flow    --K 10 --n 500 --d 512 [--threads 1]   (RK4 / dopri5 stage vs gradient evaluation)
///   ufm-bench checkpoint --K 10 --n 500 --d 512 [--layers 2]   (one checkpoint's metrics vs a GD step)
///   ufm-bench limits  [--threads 1]
///   ufm-bench net     --widths 512,512 --loss mse --batch 128 --epochs 3 [--threads 1]   (Fashion-MNIST epoch)
///
/// A plain std::chrono harness rather than Google Benchmark: the comparison needs the protocol of
/// torch_ufm.py (untimed warmup, then a calibrated loop of consecutive GD steps on one evolving
/// state, wall clock), per-configuration command-line arguments, and one JSON record per run.
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "bench_cli.hpp"
#include "bench_problem.hpp"
#include "blas_floor.hpp"
#include "checkpoint_bench.hpp"
#include "deep_problem.hpp"
#include "flow_traffic.hpp"
#include "memory_alone.hpp"
#include "ufm/app/environment.hpp"
#include "ufm/app/heap_reuse.hpp"
#include "ufm/gemm.hpp"
#include "ufm/parallel.hpp"
#include "net_bench.hpp"
#include "round_ratios.hpp"
#include "stream_overlap.hpp"
#include "ufm/objectives/ufm_layout.hpp"
#include "ufm/dynamics/gradient_flow.hpp"
#include "ufm/metrics/nc.hpp"
#include "ufm/metrics/snapshot.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using ufm::Index;
using ufm::Mat;
using ufm::max_threads;
using ufm::Vec;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

long max_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

struct Timed {
  long steps = 0, warmup = 0, calibration_steps = 0;
  double elapsed = 0.0;
  double cpu = 0.0;  ///< process CPU time of the timed loop (all threads)
  long page_faults = 0;  ///< minor page faults in the timed loop (first touches of fresh memory)
};

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

/// torch_ufm.py's protocol: with steps == 0, grow a probe (x4) until it lasts >= min(0.2 s,
/// target/10), then choose steps to last about `target` seconds (at least 20); warmup = min(10, max(1, steps/10))
/// untimed steps; then one timed call of `run(steps)`.
Timed calibrate_and_time(const std::function<void(long)>& run, long steps, long warmup, double target) {
  Timed t;
  if (steps == 0) {
    long k = 1;
    auto t0 = Clock::now();
    run(k);
    double el = seconds_since(t0);
    t.calibration_steps = 1;
    while (el < std::min(0.2, target / 10)) {
      k *= 4;
      t0 = Clock::now();
      run(k);
      el = seconds_since(t0);
      t.calibration_steps += k;
    }
    // At least kMinSteps: a GD run of k steps makes k + 1 gradient evaluations (the last one
    // measures the final state), which a handful of slow steps (the 2-layer paper size: 2-5
    // per second) would count as 20-50% more time per step.
    constexpr long kMinSteps = 20;
    steps = std::max(kMinSteps, static_cast<long>(std::ceil(target / (el / static_cast<double>(k)))));
  }
  t.steps = steps;
  t.warmup = warmup >= 0 ? warmup : std::min(10L, std::max(1L, steps / 10));
  if (t.warmup > 0) run(t.warmup);
  const long f0 = minor_faults();
  const double c0 = process_cpu_seconds();
  const auto t0 = Clock::now();
  run(steps);
  t.elapsed = seconds_since(t0);
  t.cpu = process_cpu_seconds() - c0;
  t.page_faults = minor_faults() - f0;
  return t;
}

// ---------------------------------------------------------------------------------------------
// Machine limits

/// Register-resident FMA throughput of one thread (GFLOP/s) with kChains independent chains of
/// packet FMAs (Eigen's packets: the widest vectors this build uses). The chains must cover the
/// FMA latency times the number of FMA pipes (4 × 2 on Zen 3/4/5) and, with the two constants, fit
/// the register file (16 vector registers with AVX2, 32 with AVX-512) or they spill to memory and
/// the "peak" measures loads and stores.
template <int kChains>
double fma_gflops_with_chains(double seconds) {
  using P = Eigen::internal::packet_traits<double>::type;
  constexpr int kLanes = Eigen::internal::packet_traits<double>::size;
  P acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = Eigen::internal::pset1<P>(1.0 + 1e-3 * j);
  const P a = Eigen::internal::pset1<P>(0.999999), b = Eigen::internal::pset1<P>(1e-9);
  long iters = 0;
  const long chunk = 1 << 18;
  const auto t0 = Clock::now();
  double el = 0.0;
  do {
    for (long i = 0; i < chunk; ++i) {
#pragma GCC unroll 32
      for (int j = 0; j < kChains; ++j) acc[j] = Eigen::internal::pmadd(acc[j], a, b);
    }
    iters += chunk;
    el = seconds_since(t0);
  } while (el < seconds);
  double sink = 0.0;
  for (int j = 0; j < kChains; ++j) {
    alignas(64) double lanes[kLanes];
    Eigen::internal::pstore(lanes, acc[j]);
    for (double x : lanes) sink += x;
  }
  volatile double keep = sink;
  (void)keep;
  return 2.0 * kLanes * kChains * static_cast<double>(iters) / el / 1e9;
}

/// The FMA peak of one thread: the best over chain counts that fit the register file.
double fma_gflops_one_thread(double seconds) {
#if defined(EIGEN_VECTORIZE_AVX512)
  const double per = seconds / 4;
  return std::max({fma_gflops_with_chains<8>(per), fma_gflops_with_chains<12>(per), fma_gflops_with_chains<16>(per),
                   fma_gflops_with_chains<24>(per)});
#else
  const double per = seconds / 3;
  return std::max({fma_gflops_with_chains<8>(per), fma_gflops_with_chains<10>(per), fma_gflops_with_chains<12>(per)});
#endif
}

/// Runs f(thread) on `threads` threads at once; returns the sum of their results.
double on_threads(int threads, const std::function<double(int)>& f) {
  std::vector<double> r(static_cast<std::size_t>(threads), 0.0);
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
  r[static_cast<std::size_t>(omp_get_thread_num())] = f(omp_get_thread_num());
#else
  r[0] = f(0);
#endif
  double s = 0.0;
  for (double x : r) s += x;
  return s;
}

/// An m×k times k×n product, GFLOP/s of one thread, best of several timed loops: Eigen's (through
/// the BLAS, single-threaded, as ufm-sim builds it), or ufm::gemm (own).
double gemm_gflops(Index m, Index k, Index n, double seconds, bool own) {
  Mat A = Mat::Random(m, k), B = Mat::Random(k, n), C(m, n);
  const auto product = [&] {
    if (own)
      ufm::gemm_into(C, A, false, B, false, 0.0);
    else
      C.noalias() = A * B;
  };
  product();
  double best = 0.0;
  const auto t_start = Clock::now();
  do {
    long reps = 0;
    const auto t0 = Clock::now();
    do {
      product();
      ++reps;
    } while (seconds_since(t0) < seconds / 5);
    best = std::max(best, 2.0 * m * k * n * static_cast<double>(reps) / seconds_since(t0) / 1e9);
  } while (seconds_since(t_start) < seconds);
  volatile double keep = C(0, 0);
  (void)keep;
  return best;
}

/// STREAM triad over 3 arrays of n doubles, static fixed split over `threads`: GB/s counted as 24
/// bytes per element (STREAM's convention), the best of samples of at least 1 ms over `seconds`. Each
/// thread repeats the triad on its own slice, rotating which array it writes (x_r = x_{r+1} + s x_{r+2}),
/// so no repetition can be elided and a slice that fits a cache is read from that cache. At the
/// default 2²³ (64 MiB arrays) it is the memory's bandwidth on most machines (not on a 480 MiB L3).
double triad_gbs(int threads, Index n = Index{1} << 23, double seconds = 0.3) {
  Vec x0(n), x1(n), x2(n);
  double* x[3] = {x0.data(), x1.data(), x2.data()};
  const double s = 1.0000001;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
  for (Index i = 0; i < n; ++i) x[0][i] = 0.0, x[1][i] = 1.0, x[2][i] = 2.0;  // first touch by the worker
  // Enough repetitions for a sample of about 1 ms at 100 GB/s, at least one.
  const long reps = std::max<long>(1, static_cast<long>(1e8 / (24.0 * static_cast<double>(n))));
  double best = 0.0;
  const auto t_start = Clock::now();
  int samples = 0;
  do {
    const auto t0 = Clock::now();
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
#endif
    {
#ifdef _OPENMP
      const Index t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
      const Index t = 0, nt = 1;
#endif
      const Index chunk = (n + nt - 1) / nt, lo = std::min(n, t * chunk), hi = std::min(n, lo + chunk);
      for (long r = 0; r < reps; ++r) {
        double* out = x[r % 3];
        const double* b = x[(r + 1) % 3];
        const double* c = x[(r + 2) % 3];
        for (Index i = lo; i < hi; ++i) out[i] = b[i] + s * c[i];
      }
    }
    best = std::max(best, 24.0 * static_cast<double>(n) * static_cast<double>(reps) / seconds_since(t0) / 1e9);
  } while (++samples < 6 || seconds_since(t_start) < seconds);
  volatile double keep = x0[n / 2] + x1[n / 3] + x2[n / 4];
  (void)keep;
  return best;
}

nlohmann::ordered_json limits(int threads) {
  nlohmann::ordered_json j;
  j["impl"] = "limits";
  j["threads"] = threads;
  j["isa"] = ufm::vector_isa();
  j["blas"] = ufm::blas_backend();  // OpenBLAS picks its kernels at run time, whatever this build's ISA
  j["fma_peak_gflops"] = on_threads(threads, [](int) { return fma_gflops_one_thread(0.8); });
  j["eigen_gemm_512_gflops"] = on_threads(threads, [](int) { return gemm_gflops(512, 512, 512, 0.6, false); });
  // ufm::gemm, where it is our own kernel (an AVX-512 build); else it is the product above.
  if (ufm::gemm_has_own_kernel())
    j["own_gemm_512_gflops"] = on_threads(threads, [](int) { return gemm_gflops(512, 512, 512, 0.6, true); });
  else
    j["own_gemm_512_gflops"] = nullptr;
  j["triad_gbs"] = triad_gbs(threads);
  if (threads == 1) {
    // One core's overlap of a stage point's reads with the gradient's arithmetic (stream_overlap.hpp),
    // with sources of θ's size at the flow sizes: in L2 (small), L3 (medium), memory (paper).
    nlohmann::ordered_json sizes = nlohmann::ordered_json::array();
    // θ of (K, n, d) = (4, 10, 16), (10, 100, 64) and (10, 500, 512), with a bias
    for (const auto& [name, layout] : {std::pair{"small", ufm::UfmLayout{16, 40, 4, true}},
                                       std::pair{"medium", ufm::UfmLayout{64, 1000, 10, true}},
                                       std::pair{"paper", ufm::UfmLayout{512, 5000, 10, true}}}) {
      const ufm::bench::StreamOverlap o = ufm::bench::measure_stream_overlap(layout.size(), 3, 0.05);
      nlohmann::ordered_json r;
      r["size"] = name;
      r["source_bytes"] = 8 * o.source_entries;
      r["fma_loop_us"] = o.fma_us;
      r["stream_alone_us"] = o.stream_us;
      r["both_us"] = o.both_us;
      r["stream_alone_gbs"] = o.stream_gbs();
      r["hidden"] = o.hidden();
      sizes.push_back(r);
    }
    j["stream_under_fma"] = sizes;
  }
  return j;
}

// ---------------------------------------------------------------------------------------------

struct Args {
  std::string command;
  ufm::bench::Problem p;
  std::string loss = "ce";
  int layers = 1;
  bool relu = false;
  bool layered = false;  ///< linear layers through the layer stack, not end to end
  int threads = 1;
  long steps = 0, warmup = -1;
  double target_time = 3.0;
  int rounds = 3;  ///< flow: interleaved rounds
  std::string low_rank_slopes = "auto";  ///< flow: GradientFlow::Options::low_rank_slopes
};

ufm::LowRankSlopes low_rank_choice(const Args& a) { return ufm::bench::low_rank_slopes_named(a.low_rank_slopes); }

nlohmann::ordered_json problem_json(const Args& a) {
  nlohmann::ordered_json j;
  j["isa"] = ufm::vector_isa();
  j["loss"] = a.loss;
  j["K"] = a.p.K;
  j["n"] = a.p.n;
  j["N"] = a.p.N();
  j["d"] = a.p.d;
  j["layers"] = a.layers;
  j["relu"] = a.relu;
  j["layered"] = a.layered;
  j["lr"] = a.p.lr;
  j["lam"] = a.p.lam;
  j["init"] = a.p.init;
  j["seed"] = a.p.seed;
  j["threads"] = max_threads();
  return j;
}

nlohmann::ordered_json time_step(const Args& a) {
  nlohmann::ordered_json j;
  j["impl"] = "ufm-sim";
  j.update(problem_json(a));
  double flops = a.p.gemm_flops();
  Index num_params = 0;
  double final_value = 0.0;
  Timed t;
  if (a.layers == 1) {
    const ufm::UfmObjective f = ufm::bench::make_objective(a.p);
    Vec theta = ufm::bench::initial_theta(a.p, f);
    num_params = f.num_params();
    t = calibrate_and_time([&](long k) { ufm::bench::run_steps(f, theta, a.p.lr, k); }, a.steps, a.warmup,
                           a.target_time);
    final_value = f.value(theta);
  } else {
    const auto f = ufm::bench::make_deep_objective(a.p, a.relu, 2, a.layered);
    Vec theta = ufm::bench::initial_deep_theta(a.p, f);
    num_params = f.num_params();
    flops = ufm::bench::deep_gemm_flops(a.p, f.end_to_end());
    j["end_to_end"] = f.end_to_end();
    t = calibrate_and_time([&](long k) { ufm::bench::run_steps(f, theta, a.p.lr, k); }, a.steps, a.warmup,
                           a.target_time);
    final_value = f.value(theta);
  }
  j["num_params"] = num_params;
  j["steps"] = t.steps;
  j["warmup"] = t.warmup;
  j["calibration_steps"] = t.calibration_steps;
  j["elapsed_s"] = t.elapsed;
  // run_steps(k) makes k updates and k + 1 gradient evaluations; counted as k steps.
  j["steps_per_s"] = static_cast<double>(t.steps) / t.elapsed;
  j["us_per_step"] = 1e6 * t.elapsed / static_cast<double>(t.steps);
  j["cpu_s"] = t.cpu;
  j["cpu_steps_per_s"] = static_cast<double>(t.steps) / t.cpu;
  j["gemm_flops_per_step"] = flops;
  j["gemm_gflops_achieved"] = flops * static_cast<double>(t.steps) / t.elapsed / 1e9;
  j["us_blas_floor"] = 1e6 * ufm::bench::blas_floor_seconds(a.p, a.layers, a.threads, std::min(2.0, a.target_time));
  j["final_value"] = final_value;
  j["param_bytes"] = 8.0 * static_cast<double>(num_params);
  // compare.py's bandwidth bound for this step: θ read and written once at the triad rate over
  // arrays of θ's size, from whichever cache holds three of them (memory's triad_gbs overstated the
  // bound of a step whose θ stays in L1 or L2: it read 124% on an Intel Xeon).
  j["triad_theta_gbs"] = triad_gbs(a.threads, num_params, 0.2);
  j["max_rss_kb"] = max_rss_kb();
  return j;
}

nlohmann::ordered_json time_metrics(const Args& a) {
  const ufm::UfmObjective f = ufm::bench::make_objective(a.p);
  Vec theta = ufm::bench::initial_theta(a.p, f);
  ufm::bench::run_steps(f, theta, a.p.lr, 20);  // a state a little away from the random start
  const ufm::UfmLayout& L = f.layout();
  const Vec& state = theta;
  const ufm::Snapshot s{L.H(state), L.W(state), L.b(state), f.labels(), L.K, f.loss()};
  volatile std::size_t keep = 0;
  const Timed t = calibrate_and_time(
      [&](long k) {
        for (long i = 0; i < k; ++i) keep = keep + ufm::collapse_metrics(s).size();
      },
      a.steps, a.warmup, a.target_time);
  nlohmann::ordered_json j;
  j["impl"] = "ufm-sim-metrics";
  j.update(problem_json(a));
  j["calls"] = t.steps;
  j["elapsed_s"] = t.elapsed;
  j["ms_per_call"] = 1e3 * t.elapsed / static_cast<double>(t.steps);
  return j;
}

/// Cost of one RK4 stage and one dopri5 stage (its time per gradient evaluation) against one
/// gradient evaluation: the integrators should cost no more than the gradients they evaluate.
/// dopri5 runs with ufm-sim's default tolerances (1e-10); both integrate on from the state the
/// previous timed call left, with bench::run_flow, the flow `ufm-sim run --dynamics flow` runs.
/// The three are timed in `rounds` interleaved rounds (evaluation, RK4, dopri5, then the same with
/// the memory-alone gradient), each round's ratios taken within the round: on a shared VM whose
/// speed drifts by 10-20% within a minute, a ratio of two loops timed one after the other measured
/// the drift as often as the stage (the first loop of a process also ran slow). The medians over
/// the rounds are reported, and every round's ratios.
nlohmann::ordered_json time_flow(const Args& a) {
  const ufm::UfmObjective f = ufm::bench::make_objective(a.p);
  Vec theta = ufm::bench::initial_theta(a.p, f), grad(f.num_params());
  const Vec theta0 = theta;
  long evaluations = 0;  // of the last call, i.e. the timed one
  auto evaluate = [&](long k) {
    for (long i = 0; i < k; ++i) f.value_and_gradient(theta0, grad);
    evaluations = k;
  };
  auto integrate = [&](ufm::Integrator integrator) {
    return [&, integrator](long k) {
      const bool rk4 = integrator == ufm::Integrator::kRk4;
      const ufm::RunSummary s = ufm::bench::run_flow(f, theta, integrator, a.p.lr, 1e-10,
                                                     rk4 ? static_cast<double>(k) * a.p.lr : 1e9, rk4 ? 100000000L : k,
                                                     low_rank_choice(a));
      if (s.status == ufm::RunStatus::kDiverged) throw std::runtime_error("ufm-bench flow: " + s.message);
      evaluations = s.gradient_evaluations;
    };
  };
  // The same flows with a gradient that costs only its data movement (memory_alone.hpp): what a
  // stage takes besides the objective's arithmetic, measured here rather than modelled.
  const ufm::bench::MemoryAloneObjective m(f.num_params(), a.p.lam);
  Vec xm = theta;
  auto evaluate_alone = [&](long k) {
    for (long i = 0; i < k; ++i) m.value_and_gradient(xm, grad);
    evaluations = k;
  };
  auto integrate_alone = [&](ufm::Integrator integrator) {
    return [&, integrator](long k) {
      const bool rk4 = integrator == ufm::Integrator::kRk4;
      const ufm::RunSummary s = ufm::bench::run_flow(m, xm, integrator, a.p.lr, 1e-10,
                                                     rk4 ? static_cast<double>(k) * a.p.lr : 1e9, rk4 ? 100000000L : k);
      evaluations = s.gradient_evaluations;
    };
  };
  // The stage points alone (flow_traffic.hpp): each evaluation's point of the same two flows formed
  // from its sources into a block of scratch, and nothing else.
  ufm::bench::FormingAlone forming(f.num_params());
  // The two flows counted once (flow_traffic.hpp): their source counts here, their traffic below.
  const auto rk4_counted = ufm::bench::counted_flow(f, theta0, ufm::Integrator::kRk4, a.p.lr);
  const auto dopri5_counted = ufm::bench::counted_flow(f, theta0, ufm::Integrator::kDopri5, a.p.lr);
  const std::vector<int>& rk4_sources = rk4_counted.sources;
  const std::vector<int>& dopri5_sources = dopri5_counted.sources;
  auto form_points = [&](const std::vector<int>& sources) {
    return [&](long k) {
      forming.run(sources, k);
      evaluations = k;
    };
  };
  // Loops, in the order each round times them; the first round calibrates each loop's length.
  const std::vector<std::pair<std::function<void(long)>, double>> loops = {
      {evaluate, 3.0},
      {integrate(ufm::Integrator::kRk4), 3.0},
      {integrate(ufm::Integrator::kDopri5), 3.0},
      {evaluate_alone, 6.0},
      {integrate_alone(ufm::Integrator::kRk4), 6.0},
      {integrate_alone(ufm::Integrator::kDopri5), 6.0},
      {form_points(rk4_sources), 6.0},
      {form_points(dopri5_sources), 6.0}};
  enum { kEval, kRk4, kDopri5, kEvalAlone, kRk4Alone, kDopri5Alone, kRk4Points, kDopri5Points, kLoops };
  const int rounds = std::max(1, a.rounds);
  std::vector<long> steps(kLoops, a.steps);
  std::vector<std::vector<double>> us(kLoops), cpu_us(kLoops);  // per round: µs per gradient evaluation
  std::vector<Timed> last(kLoops);
  std::vector<long> last_evaluations(kLoops);
  for (int r = 0; r < rounds; ++r) {
    for (int l = 0; l < kLoops; ++l) {
      const auto& [run, share] = loops[static_cast<std::size_t>(l)];
      const Timed t = calibrate_and_time(run, steps[l], r == 0 ? a.warmup : 0, a.target_time / share / rounds);
      steps[l] = t.steps;
      last[l] = t;
      last_evaluations[l] = evaluations;
      us[l].push_back(1e6 * t.elapsed / static_cast<double>(evaluations));
      cpu_us[l].push_back(1e6 * t.cpu / static_cast<double>(evaluations));
    }
  }
  auto ratios = [&](int l, const std::vector<std::vector<double>>& per) {
    return ufm::bench::ratios_by_round(per[l], per[kEval]);
  };
  nlohmann::ordered_json j;
  j["impl"] = "ufm-sim-flow";
  j.update(problem_json(a));
  j["rounds"] = rounds;
  j["low_rank_slopes"] = a.low_rank_slopes;  // asked for, and whether the flows took them
  j["low_rank_slopes_taken"] = ufm::detail::low_rank_slopes(f, low_rank_choice(a));
  j["us_per_gradient_evaluation"] = ufm::bench::median_of(us[kEval]);
  j["us_per_rk4_stage"] = ufm::bench::median_of(us[kRk4]);
  j["us_per_dopri5_stage"] = ufm::bench::median_of(us[kDopri5]);
  j["rk4_stage_over_evaluation"] = ufm::bench::median_of(ratios(kRk4, us));
  j["dopri5_stage_over_evaluation"] = ufm::bench::median_of(ratios(kDopri5, us));
  j["rk4_stage_over_evaluation_by_round"] = ratios(kRk4, us);
  j["dopri5_stage_over_evaluation_by_round"] = ratios(kDopri5, us);
  // The same from process CPU time: steadier on a shared machine.
  j["cpu_rk4_stage_over_evaluation"] = ufm::bench::median_of(ratios(kRk4, cpu_us));
  j["cpu_dopri5_stage_over_evaluation"] = ufm::bench::median_of(ratios(kDopri5, cpu_us));
  // Memory alone: the stage with a gradient that only moves data, and that gradient's own pass.
  j["us_per_evaluation_memory_alone"] = ufm::bench::median_of(us[kEvalAlone]);
  j["us_per_rk4_stage_memory_alone"] = ufm::bench::median_of(us[kRk4Alone]);
  j["us_per_dopri5_stage_memory_alone"] = ufm::bench::median_of(us[kDopri5Alone]);
  j["rk4_stage_alone_over_evaluation"] = ufm::bench::median_of(ratios(kRk4Alone, us));
  j["dopri5_stage_alone_over_evaluation"] = ufm::bench::median_of(ratios(kDopri5Alone, us));
  // The stage points alone: forming them from their sources, nothing else (flow_traffic.hpp).
  j["us_per_rk4_point_formed_alone"] = ufm::bench::median_of(us[kRk4Points]);
  j["us_per_dopri5_point_formed_alone"] = ufm::bench::median_of(us[kDopri5Points]);
  j["rk4_points_alone_over_evaluation"] = ufm::bench::median_of(ratios(kRk4Points, us));
  j["dopri5_points_alone_over_evaluation"] = ufm::bench::median_of(ratios(kDopri5Points, us));
  const long rk4_evaluations = last_evaluations[kRk4], dopri5_evaluations = last_evaluations[kDopri5];
  const Timed &eval = last[kEval], &rk4 = last[kRk4], &dopri5 = last[kDopri5];
  j["rk4_evaluations"] = rk4_evaluations;
  j["dopri5_evaluations"] = dopri5_evaluations;
  j["dopri5_steps"] = dopri5.steps;
  j["page_faults"] = {{"evaluation", eval.page_faults}, {"rk4", rk4.page_faults}, {"dopri5", dopri5.page_faults}};
  // Memory traffic in θ-sized vectors (a plain evaluation moves 2: θ in, ∇F out); compare.py turns
  // it into a bandwidth floor per stage with the measured triad bandwidth.
  j["theta_bytes"] = 8.0 * static_cast<double>(f.num_params());
  j["vectors_per_rk4_stage"] = ufm::bench::vectors_moved_per_stage(rk4_counted, ufm::Integrator::kRk4);
  j["vectors_per_dopri5_stage"] = ufm::bench::vectors_moved_per_stage(dopri5_counted, ufm::Integrator::kDopri5);
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ufm-bench: time ufm-sim's GD step, collapse_metrics, and the machine's limits", "ufm-bench"};
  app.require_subcommand(1);
  Args a;
  auto add_common = [&](CLI::App* c) {
    c->add_option("--threads", a.threads, "OpenMP threads")->check(CLI::PositiveNumber);
    c->add_option("--steps", a.steps, "timed steps/calls; 0 = calibrate to --target-time")
        ->check(CLI::NonNegativeNumber);
    c->add_option("--warmup", a.warmup, "untimed steps (default min(10, max(1, steps/10)))");
    c->add_option("--target-time", a.target_time, "seconds of the timed loop when --steps 0");
  };
  auto add_problem = [&](CLI::App* c) {
    c->add_option("--K", a.p.K, "classes")->check(CLI::Range(2, 1 << 20));
    c->add_option("--n", a.p.n, "samples per class")->check(CLI::PositiveNumber);
    c->add_option("--d", a.p.d, "feature dimension")->check(CLI::PositiveNumber);
    c->add_option("--loss", a.loss, "ce | mse")->check(CLI::IsMember({"ce", "mse"}));
    c->add_option("--layers", a.layers, "1 or 2 (2: hidden layer of width d)")->check(CLI::Range(1, 2));
    c->add_flag("--relu", a.relu, "ReLU hidden layer (--layers 2); default linear");
    c->add_flag("--layered", a.layered,
                "linear layers through W_1 H_1 and back, the products torch_ufm.py makes, instead of the "
                "end-to-end classifier W_2 W_1 that ufm-sim run uses (--layers 2)");
    c->add_option("--lr", a.p.lr, "learning rate");
    c->add_option("--lam", a.p.lam, "weight decay of every factor");
    c->add_option("--init", a.p.init, "std of the Gaussian initialization");
    c->add_option("--seed", a.p.seed, "seed");
  };
  CLI::App* step = app.add_subcommand("step", "time GD steps (value + gradient + update)");
  CLI::App* metrics = app.add_subcommand("metrics", "time one collapse_metrics call");
  CLI::App* flow = app.add_subcommand("flow", "time an RK4 and a dopri5 stage against one gradient evaluation");
  CLI::App* lim = app.add_subcommand(
      "limits", "FMA peak, Eigen GEMM rate, triad bandwidth, and (one thread) how much of a stream of reads FMAs hide");
  CLI::App* checkpoint =
      app.add_subcommand("checkpoint", "time one checkpoint's metrics (checkpoint_report) against one GD step");
  Index max_singular_values = 100;
  checkpoint->add_option("--K", a.p.K, "classes")->check(CLI::Range(2, 1 << 20));
  checkpoint->add_option("--n", a.p.n, "samples per class")->check(CLI::PositiveNumber);
  checkpoint->add_option("--d", a.p.d, "feature dimension")->check(CLI::PositiveNumber);
  checkpoint->add_option("--layers", a.layers, "1 or 2")->check(CLI::Range(1, 2));
  checkpoint->add_option("--max-singular-values", max_singular_values, "as ufm-sim run's");
  checkpoint->add_option("--threads", a.threads, "OpenMP threads")->check(CLI::PositiveNumber);
  CLI::App* net = app.add_subcommand("net", "seconds per epoch of the network (torch_mlp.py's protocol)");
  ufm::bench::NetArgs n;
  net->add_option("--data", n.data, "data source, as ufm-sim net --data");
  net->add_option("--widths", n.widths, "hidden widths");
  net->add_option("--loss", n.loss, "mse | ce")->check(CLI::IsMember({"ce", "mse"}));
  net->add_option("--batch", n.batch, "minibatch size")->check(CLI::PositiveNumber);
  net->add_option("--epochs", n.epochs, "timed epochs (the median is reported)")->check(CLI::PositiveNumber);
  net->add_option("--lr", n.lr, "learning rate");
  net->add_option("--lam", n.lam, "weight decay of every layer");
  net->add_option("--momentum", n.momentum, "heavy-ball momentum");
  net->add_option("--seed", n.seed, "seed");
  net->add_option("--threads", a.threads, "OpenMP threads")->check(CLI::PositiveNumber);
  for (CLI::App* c : {step, metrics, flow}) add_problem(c), add_common(c);
  flow->add_option("--rounds", a.rounds, "interleaved rounds of the evaluation and the two stages (medians reported)")
      ->check(CLI::Range(1, 100));
  ufm::bench::add_low_rank_slopes_option(flow, a.low_rank_slopes);
  lim->add_option("--threads", a.threads, "threads")->check(CLI::PositiveNumber);
  if (const int status = ufm::bench::parse_command_line(app, argc, argv, std::cout, std::cerr); status >= 0)
    return status;
  // Freed buffers stay in the heap, as in ufm-sim: a timed call that allocates θ-sized buffers (a
  // flow run's stepper) then reuses pages touched before instead of faulting in fresh ones from the
  // kernel, which costs 0.1-0.2 s per 80 MB on these VMs, and so do the checkpoints' buffers.
  ufm::keep_freed_memory_in_heap();
  a.p.loss = a.loss == "mse" ? ufm::Loss::kMse : ufm::Loss::kCrossEntropy;
#ifdef _OPENMP
  omp_set_num_threads(a.threads);
#endif
  try {
    nlohmann::ordered_json out;
    if (*step) out = time_step(a);
    if (*metrics) out = time_metrics(a);
    if (*flow) out = time_flow(a);
    if (*lim) out = limits(a.threads);
    if (*checkpoint) {
      out = ufm::bench::time_checkpoint(a.p.K, a.p.n, a.p.d, a.layers, max_singular_values);
      out["isa"] = ufm::vector_isa();
    }
    if (*net) {
      out = ufm::bench::time_network(n);
      out["threads"] = max_threads();
    }
    std::cout << out.dump() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
