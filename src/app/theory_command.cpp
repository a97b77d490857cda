#include "ufm/app/theory_command.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>

#include "ufm/app/exit_status.hpp"
#include "ufm/app/standard_streams.hpp"
#include "ufm/app/steady_seconds.hpp"
#include "ufm/config/cli.hpp"
#include "ufm/config/config_error.hpp"
#include "ufm/config/resources.hpp"
#include "ufm/io/atomic_file.hpp"
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

TheoryOutcome predict_for(const ResolvedConfig& config) {
  const RunConfig& c = config.given;
  const std::vector<Index>& counts = config.class_counts;
  const auto none = [](std::string reason) { return TheoryOutcome{{std::nullopt, std::move(reason)}, std::nullopt}; };
  if (std::adjacent_find(counts.begin(), counts.end(), std::not_equal_to<>()) != counts.end())
    return none("class imbalance: theory.md §5 (a)-(d) assume balanced classes (see (f))");
  if (c.fixed_classifier != FixedClassifier::kNone) return none("a fixed classifier: theory.md §5 has no closed form");
  const Index K = static_cast<Index>(counts.size()), n = counts.front();
  if (c.layers == 1) return {predict_ufm({K, n, c.dim, c.loss, c.bias, config.lambda}), std::nullopt};
  if (c.layers > 2) return none("L >= 3 layers: theory.md §5 (c) covers the 2-layer model only");
  if (c.activation != Activation::kLinear) return none("ReLU layers: no closed form (theory.md §5 (c) is linear)");
  if (c.loss != Loss::kMse || c.bias != BiasMode::kNone)
    return none("2 layers: theory.md §5 (c) covers MSE without a bias only");
  TwoLayerPredictionOutcome two =
      predict_two_layer({K, n, c.dim, config.widths[0], config.lambda.w, config.lambda_layers[0], config.lambda.h});
  if (!two.prediction) return none(two.reason);
  return {{two.prediction->base, ""}, two.prediction};
}

nlohmann::ordered_json prediction_json(const TheoryOutcome& theory) {
  if (theory.two_layer) return {{"prediction", to_json(*theory.two_layer)}};
  if (theory.outcome.prediction) return {{"prediction", to_json(*theory.outcome.prediction)}};
  return {{"prediction", nullptr}, {"reason", theory.outcome.reason}};
}

nlohmann::ordered_json check_against(const TheoryOutcome& theory, const nlohmann::ordered_json& final, double tol) {
  const Prediction& p = theory.outcome.prediction.value();
  const auto simulated = [&](const char* name) { return final.contains(name) ? final[name] : nullptr; };
  const bool deep = final.contains("levels");
  nlohmann::ordered_json q;
  q["min_value"] = compare(p.min_value, simulated("objective"), tol);
  q["w_norm"] = compare(p.w_norm, simulated("w_norm"), tol);
  q["h_norm"] = compare(p.h_norm, deep ? final["levels"]["H1"]["h_norm"] : simulated("h_norm"), tol);
  if (p.b_norm) q["b_norm"] = compare(*p.b_norm, simulated("b_norm"), tol);
  q["wwt_eigenvalues"] = compare(p.wwt_eigenvalues, simulated("wwt_eigenvalues"), tol);
  q["wh_singular_values"] = compare(p.wh_singular_values, simulated("wh_singular_values"), tol);
  if (theory.two_layer) q["w1_norm"] = compare(theory.two_layer->w1_norm, final["weights"]["W1"]["norm"], tol);
  bool pass = true;
  for (const auto& [_, item] : q.items()) pass = pass && item["pass"].get<bool>();
  return {{"tolerance", tol}, {"pass", pass}, {"quantities", q}};
}

int theory_command(const std::vector<std::string>& args) {
  const double start = steady_seconds();
  ResolvedConfig config;
  try {
    const ParsedRun parsed = parse_run_options(args, Command::kTheory);
    if (parsed.help) {
      std::cout << parsed.help_text;
      return kExitOk;
    }
    validate(parsed.config);
    require_memory(parsed.config, estimated_theory_bytes(parsed.config), "the prediction");
    config = resolve(parsed.config);
    if (!config.given.out.empty()) io::check_writable(config.given.out);
  } catch (const ConfigError& e) {
    std::cerr << "ufm-sim theory: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const io::IoError& e) {
    std::cerr << "ufm-sim theory: error: --out: " << e.what() << "\n";
    return kExitBadInput;
  }
  nlohmann::ordered_json doc;
  doc["ufm_sim_version"] = kVersion;
  doc["command"] = "theory";
  doc["config"] = model_json(config);
  doc["seed"] = nullptr;  // a closed form: nothing is drawn
  doc.update(prediction_json(predict_for(config)));
  doc["wall_seconds"] = steady_seconds() - start;
  const std::string text = doc.dump(1) + "\n";
  try {
    write_document(config.given.out, text, "--out");
  } catch (const io::IoError& e) {
    std::cerr << "ufm-sim theory: error: " << e.what() << "\n";
    return kExitOutputFailed;
  }
  return kExitOk;
}

}  // namespace ufm
