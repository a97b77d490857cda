#include "ufm/theory/toy_flow.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "ufm/dynamics/gradient_flow.hpp"
#include "ufm/dynamics/schedule.hpp"

namespace ufm {
namespace {

constexpr double kFirstCheckpoint = 1e-2;  // first log-spaced checkpoint time (capped at T)

double clipped_relu(double z) { return std::clamp(z, 0.0, 1.0); }

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument("run_toy_flow(): " + what); }

}  // namespace

double toy_network(const std::array<double, 3>& a, double x) {
  return a[0] * clipped_relu(-x) - a[1] * clipped_relu(x + 1) + a[2] * clipped_relu(x);
}

double ToyRisk::value(const Vec& theta) const {
  return p_[0] * std::exp(-theta(0)) + p_[1] * std::exp(-theta(1)) + p_[2] * std::exp(theta(1) - theta(2));
}

double ToyRisk::value_and_gradient(const Vec& theta, Vec& grad) const {
  const double e1 = p_[0] * std::exp(-theta(0));
  const double e2 = p_[1] * std::exp(-theta(1));
  const double e3 = p_[2] * std::exp(theta(1) - theta(2));
  grad(0) = -e1;
  grad(1) = -e2 + e3;
  grad(2) = -e3;
  return e1 + e2 + e3;
}

void ToyFlowInput::validate() const {
  for (int i = 0; i < 3; ++i) {
    if (!(p[i] > 0) || !std::isfinite(p[i]))
      bad("'p' must be positive and finite (p[" + std::to_string(i) + "] = " + detail::format_number(p[i]) + ")");
    if (!std::isfinite(a0[i]))
      bad("'a0' must be finite (a0[" + std::to_string(i) + "] = " + detail::format_number(a0[i]) + ")");
  }
  if (!(time > 0) || !std::isfinite(time)) bad("'time' must be positive and finite");
  if (num_checkpoints < 2) bad("'num_checkpoints' must be at least 2");
  if (!(abs_tol > 0) || !std::isfinite(abs_tol)) bad("'abs_tol' must be positive and finite");
  if (!(rel_tol > 0) || !std::isfinite(rel_tol)) bad("'rel_tol' must be positive and finite");
  if (rel_tol < 2.22e-14)  // about 100 machine epsilons: below, the error estimate is rounding noise
    bad("'rel_tol' must be at least 2.22e-14 (100 machine epsilons)");
}

ToyFlowResult run_toy_flow(const ToyFlowInput& in) {
  in.validate();
  const ToyRisk risk(in.p);
  ToyFlowResult out;
  out.limit = std::log(in.p[2] / (2 * in.p[0]));

  GradientFlow::Options o;
  o.integrator = Integrator::kDopri5;
  o.abs_tol = in.abs_tol;
  o.rel_tol = in.rel_tol;
  o.max_time = in.time;
  o.dt = std::min(1e-3, in.time);
  o.grad_tol = 0.0;
  const std::vector<double> times =
      checkpoint_times(in.time, std::min(kFirstCheckpoint, in.time), in.num_checkpoints, Spacing::kLog);
  out.trajectory.reserve(times.size());

  Vec theta(3);
  theta << in.a0[0], in.a0[1], in.a0[2];
  auto record = [&out](const Checkpoint& c) {
    const std::array<double, 3> a{c.theta(0), c.theta(1), c.theta(2)};
    const double gap = a[2] - a[1] - a[0];
    out.trajectory.push_back({c.time, a, c.value, gap, gap - out.limit});
    return ObserverAction::kContinue;
  };
  out.summary = GradientFlow(o).run(risk, theta, times, record);
  return out;
}

nlohmann::ordered_json to_json(const ToyFlowResult& r, const ToyFlowInput& in) {
  nlohmann::ordered_json j;
  j["config"] = {{"p", in.p},
                 {"a0", in.a0},
                 {"time", in.time},
                 {"num_checkpoints", in.num_checkpoints},
                 {"abs_tol", in.abs_tol},
                 {"rel_tol", in.rel_tol}};
  j["seed"] = nullptr;  // a deterministic flow from a0: nothing is drawn
  j["model"] = "wojtowytsch_e_toy";
  j["theorem"] = "g";
  j["limit"] = r.limit;
  j["summary"] = {{"status", std::string(to_string(r.summary.status))},
                  {"message", r.summary.message},
                  {"steps", r.summary.steps},
                  {"time", r.summary.time},
                  {"gradient_evaluations", r.summary.gradient_evaluations},
                  {"initial_value", r.summary.initial_value},
                  {"final_value", r.summary.final_value}};
  nlohmann::ordered_json traj = nlohmann::ordered_json::array();
  for (const ToyCheckpoint& c : r.trajectory)
    traj.push_back({{"t", c.t}, {"a", c.a}, {"risk", c.risk}, {"gap", c.gap}, {"error", c.error}});
  j["trajectory"] = std::move(traj);
  return j;
}

}  // namespace ufm
