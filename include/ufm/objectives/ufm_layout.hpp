#pragma once
/// Where H, W and b live in the flat parameter vector of the one-layer UFM.
#include "ufm/linalg.hpp"

namespace ufm {

/// theta = [vec(H) (d×N, column-major) | vec(W) (K×d) | b (K, only when has_bias)].
struct UfmLayout {
  Index d = 0;   ///< feature dimension
  Index N = 0;   ///< number of samples
  Index K = 0;   ///< number of classes
  bool has_bias = false;

  Index h_size() const { return d * N; }
  Index w_size() const { return K * d; }
  Index b_size() const { return has_bias ? K : 0; }
  Index size() const { return h_size() + w_size() + b_size(); }

  ConstMatMap H(const Vec& t) const { return {t.data(), d, N}; }
  MatMap H(Vec& t) const { return {t.data(), d, N}; }
  ConstMatMap W(const Vec& t) const { return {t.data() + h_size(), K, d}; }
  MatMap W(Vec& t) const { return {t.data() + h_size(), K, d}; }
  /// Empty when the model is bias-free.
  ConstVecMap b(const Vec& t) const { return {t.data() + h_size() + w_size(), b_size()}; }
  VecMap b(Vec& t) const { return {t.data() + h_size() + w_size(), b_size()}; }
};

}  // namespace ufm
