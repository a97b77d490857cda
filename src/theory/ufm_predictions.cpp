#include "ufm/theory/ufm_predictions.hpp"

#include <cmath>

namespace ufm {
namespace {

/// ‖W‖², ‖H‖² and the spectra when W H̄ = scale·(I or I − 11ᵀ/K) with the balance
/// λ_W‖W‖² = λ_H‖H‖² and H̄ = √(λ_W/(nλ_H)) Wᵀ (self-dual).
void fill_geometry(const PredictionInput& in, Index rank, Prediction& p) {
  const double ratio = std::sqrt(static_cast<double>(in.n) * in.lambda.h / in.lambda.w);  // √(nλ_H/λ_W)
  const double wwt = p.scale * ratio;
  p.wwt_eigenvalues.assign(in.K, 0.0);
  p.wh_singular_values.assign(in.K, 0.0);
  for (Index i = 0; i < rank; ++i) {
    p.wwt_eigenvalues[i] = wwt;
    p.wh_singular_values[i] = p.scale;
  }
  const double w2 = static_cast<double>(rank) * wwt;
  p.w_norm = std::sqrt(w2);
  p.h_norm = std::sqrt(in.lambda.w / in.lambda.h * w2);
  p.zero_solution = p.scale == 0.0;
}

}  // namespace

PredictionOutcome predict_ufm(const PredictionInput& in) {
  if (in.K < 2 || in.n < 1) return {std::nullopt, "needs K >= 2 classes of n >= 1 samples"};
  // A simplex ETF spans K−1 dimensions, so (b) and (d) hold for d >= K−1; the orthogonal frame of
  // (a) needs d >= K.
  const bool frame = in.loss == Loss::kMse && in.bias == BiasMode::kNone;
  if (in.d < in.K - 1 || (frame && in.d < in.K))
    return {std::nullopt, frame ? "needs d >= K (theory.md §5 (a): W's rows form an orthogonal frame of K vectors); got d = " +
                                      std::to_string(in.d) + " < K = " + std::to_string(in.K)
                                : "needs d >= K-1 (a simplex ETF of K vectors spans K-1 dimensions); got d = " +
                                      std::to_string(in.d) + " < K-1 = " + std::to_string(in.K - 1)};
  if (!(in.lambda.w > 0) || !(in.lambda.h > 0))
    return {std::nullopt, "needs lambda_W > 0 and lambda_H > 0 (with lambda = 0 there is no minimizer: see §5 (e))"};
  const double K = static_cast<double>(in.K);
  const double n = static_cast<double>(in.n);
  Prediction p;
  if (in.loss == Loss::kMse) {
    if (in.bias == BiasMode::kRegularized)
      return {std::nullopt, "no closed form for MSE with a regularized bias (theory.md §5 covers none and free)"};
    const double c = K * std::sqrt(n * in.lambda.w * in.lambda.h);
    p.scale = std::max(0.0, 1.0 - c);
    p.thresholds = {{"c", c}, {"zero_solution_if", "c >= 1"}};
    const double per_class = 0.5 * (1 - p.scale) * (1 - p.scale) + c * p.scale;
    if (in.bias == BiasMode::kNone) {
      p.theorem = "a";
      p.description = "MSE, bias-free: W H̄ = s I, W and the uncentered means form a self-dual orthogonal frame";
      p.min_value = per_class;
      fill_geometry(in, in.K, p);
      p.b_norm = 0.0;
    } else {
      p.theorem = "b";
      p.description = "MSE, free bias: b = 1/K, W H̄ = s (I - 11ᵀ/K), a self-dual simplex ETF";
      p.min_value = (K - 1) / K * per_class;
      fill_geometry(in, in.K - 1, p);
      p.b_norm = 1.0 / std::sqrt(K);
    }
    return {p, ""};
  }
  if (in.bias == BiasMode::kRegularized)
    return {std::nullopt, "no closed form for CE with a regularized bias (theory.md §5 (d) covers none and free)"};
  const double gamma = std::sqrt(n * in.lambda.w * in.lambda.h);
  p.theorem = "d";
  p.description = "CE, regularized: W H̄ = p (I - 11ᵀ/K), a self-dual simplex ETF with margin p";
  p.thresholds = {{"K_gamma", K * gamma}, {"zero_solution_if", "K gamma >= 1"}};
  p.scale = K * gamma < 1 ? std::log(1 / gamma - (K - 1)) : 0.0;
  p.min_value = std::log(1 + (K - 1) * std::exp(-p.scale)) + (K - 1) * gamma * p.scale;
  fill_geometry(in, in.K - 1, p);
  if (in.bias == BiasMode::kNone) p.b_norm = 0.0;
  return {p, ""};
}

nlohmann::ordered_json to_json(const Prediction& p) {
  nlohmann::ordered_json j;
  j["theorem"] = p.theorem;
  j["description"] = p.description;
  j["min_value"] = p.min_value;
  j[p.theorem == "d" ? "margin_p" : "s"] = p.scale;
  j["zero_solution_is_global"] = p.zero_solution;
  j["w_norm"] = p.w_norm;
  j["h_norm"] = p.h_norm;
  j["b_norm"] = p.b_norm ? nlohmann::ordered_json(*p.b_norm) : nlohmann::ordered_json(nullptr);
  j["wwt_eigenvalues"] = p.wwt_eigenvalues;
  j["wh_singular_values"] = p.wh_singular_values;
  j["thresholds"] = p.thresholds;
  return j;
}

}  // namespace ufm
