#include "ufm/objectives/model_spec.hpp"

namespace ufm {

std::string_view to_string(Loss loss) { return loss == Loss::kCrossEntropy ? "ce" : "mse"; }

std::string_view to_string(BiasMode bias) {
  switch (bias) {
    case BiasMode::kNone: return "none";
    case BiasMode::kFree: return "free";
    case BiasMode::kRegularized: return "reg";
  }
  return "none";
}

}  // namespace ufm
