#include "ufm/app/theory_command.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>

#include "ufm/app/exit_status.hpp"
#include "ufm/config/cli.hpp"
#include "ufm/config/config_error.hpp"
#include "ufm/version.hpp"

namespace ufm {
namespace {

double error_of(double simulated, double predicted) {
  return predicted == 0.0 ? std::abs(simulated) : std::abs(simulated - predicted) / std::abs(predicted);
}

/// One compared quantity: a number or a list (compared element by element, the worst error kept).
nlohmann::ordered_json compare(const nlohmann::ordered_json& predicted, const nlohmann::ordered_json& simulated,
                               double tol) {
  nlohmann::ordered_json q = {{"predicted", predicted}, {"simulated", simulated}};
  double error = 0.0;
  bool ok = true;
  if (predicted.is_array()) {
    ok = simulated.is_array() && simulated.size() == predicted.size();
    for (std::size_t i = 0; ok && i < predicted.size(); ++i) {
      ok = simulated[i].is_number();
      if (ok) error = std::max(error, error_of(simulated[i].get<double>(), predicted[i].get<double>()));
    }
  } else {
    ok = simulated.is_number();
    if (ok) error = error_of(simulated.get<double>(), predicted.get<double>());
  }
  q["error"] = ok ? nlohmann::ordered_json(error) : nlohmann::ordered_json(nullptr);
  q["pass"] = ok && error <= tol;
  return q;
}

}  // namespace

PredictionOutcome predict_for(const ResolvedConfig& config) {
  const RunConfig& c = config.given;
  const std::vector<Index>& counts = config.class_counts;
  if (std::adjacent_find(counts.begin(), counts.end(), std::not_equal_to<>()) != counts.end())
    return {std::nullopt, "class imbalance: theory.md §5 (a)-(d) assume balanced classes (see (f))"};
  if (c.fixed_classifier != FixedClassifier::kNone)
    return {std::nullopt, "a fixed classifier: theory.md §5 has no closed form for it"};
  return predict_ufm({static_cast<Index>(counts.size()), counts.front(), c.dim, c.loss, c.bias, config.lambda});
}

nlohmann::ordered_json prediction_json(const PredictionOutcome& outcome) {
  if (outcome.prediction) return {{"prediction", to_json(*outcome.prediction)}};
  return {{"prediction", nullptr}, {"reason", outcome.reason}};
}

nlohmann::ordered_json check_against(const Prediction& p, const nlohmann::ordered_json& final, double tol) {
  const auto simulated = [&](const char* name) { return final.contains(name) ? final[name] : nullptr; };
  nlohmann::ordered_json q;
  q["min_value"] = compare(p.min_value, simulated("objective"), tol);
  q["w_norm"] = compare(p.w_norm, simulated("w_norm"), tol);
  q["h_norm"] = compare(p.h_norm, simulated("h_norm"), tol);
  if (p.b_norm) q["b_norm"] = compare(*p.b_norm, simulated("b_norm"), tol);
  q["wwt_eigenvalues"] = compare(p.wwt_eigenvalues, simulated("wwt_eigenvalues"), tol);
  q["wh_singular_values"] = compare(p.wh_singular_values, simulated("wh_singular_values"), tol);
  bool pass = true;
  for (const auto& [_, item] : q.items()) pass = pass && item["pass"].get<bool>();
  return {{"tolerance", tol}, {"pass", pass}, {"quantities", q}};
}

int theory_command(const std::vector<std::string>& args) {
  ResolvedConfig config;
  try {
    const ParsedRun parsed = parse_run_options(args);
    if (parsed.help) {
      std::cout << "ufm-sim theory [model options]: the closed-form global minimizer (theory.md §5) of the model\n"
                   "the same options describe in `ufm-sim run`; dynamics options are accepted and ignored.\n\n"
                << parsed.help_text;
      return kExitOk;
    }
    config = resolve(parsed.config);
  } catch (const ConfigError& e) {
    std::cerr << "ufm-sim theory: error: " << e.what() << "\n";
    return kExitBadInput;
  }
  nlohmann::ordered_json doc;
  doc["ufm_sim_version"] = kVersion;
  doc["command"] = "theory";
  doc["config"] = to_json(config);
  doc.update(prediction_json(predict_for(config)));
  std::cout << doc.dump(1) << "\n";
  return kExitOk;
}

}  // namespace ufm
