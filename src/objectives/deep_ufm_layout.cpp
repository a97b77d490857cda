#include "ufm/objectives/deep_ufm_layout.hpp"

namespace ufm {
namespace {

std::vector<Index> stack_dims(const DeepUfmSpec& spec) {
  std::vector<Index> dims;
  dims.reserve(spec.widths.size() + 2);
  dims.push_back(spec.dim);
  dims.insert(dims.end(), spec.widths.begin(), spec.widths.end());
  dims.push_back(spec.K);
  return dims;
}

}  // namespace

DeepUfmLayout::DeepUfmLayout(const DeepUfmSpec& spec, Index n)
    : LayerStackLayout(stack_dims(spec), spec.bias != BiasMode::kNone, spec.dim * n), N(n) {}

}  // namespace ufm
