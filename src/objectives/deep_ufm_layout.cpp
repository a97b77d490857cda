#include "ufm/objectives/deep_ufm_layout.hpp"

namespace ufm {

std::string_view to_string(Activation activation) {
  return activation == Activation::kRelu ? "relu" : "linear";
}

DeepUfmLayout::DeepUfmLayout(const DeepUfmSpec& spec, Index n)
    : N(n), K(spec.K), has_bias(spec.bias != BiasMode::kNone) {
  dims.reserve(spec.widths.size() + 2);
  dims.push_back(spec.dim);
  dims.insert(dims.end(), spec.widths.begin(), spec.widths.end());
  dims.push_back(spec.K);
  const Index L = layers();
  offsets.assign(L + 2, 0);
  offsets[1] = dims[0] * N;
  for (Index l = 1; l <= L; ++l) offsets[l + 1] = offsets[l] + rows(l) * cols(l);
}

}  // namespace ufm
