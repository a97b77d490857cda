#pragma once
/// Loss, bias mode and weight decays of theory.md §2.
#include <string>
#include <string_view>

namespace ufm {

enum class Loss { kCrossEntropy, kMse };
enum class BiasMode { kNone, kFree, kRegularized };

/// Weight decays: F = loss + (w/2)||W||^2 + (h/2)||H||^2 + (b/2)||b||^2.
struct Regularization {
  double w = 0.0;
  double h = 0.0;
  double b = 0.0;
};

/// The data part and each penalty of F, as reported under theory.md's JSON names.
struct ObjectiveParts {
  double loss = 0.0;
  double penalty_w = 0.0;
  double penalty_h = 0.0;
  double penalty_b = 0.0;
  double total() const { return loss + penalty_w + penalty_h + penalty_b; }
};

std::string_view to_string(Loss loss);        // "ce" | "mse"
std::string_view to_string(BiasMode bias);    // "none" | "free" | "reg"

}  // namespace ufm
