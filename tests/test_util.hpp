#pragma once
/// Helpers shared by the tests: seeded random points and finite-difference gradients.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>
#include <random>

#include "ufm/linalg.hpp"

namespace ufm::test {

/// Gaussian vector with entries of standard deviation `scale`, from a fixed seed.
inline Vec random_vec(Index n, unsigned seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, scale);
  Vec v(n);
  for (Index i = 0; i < n; ++i) v(i) = normal(rng);
  return v;
}

inline Mat random_mat(Index rows, Index cols, unsigned seed, double scale = 1.0) {
  Vec v = random_vec(rows * cols, seed, scale);
  return Eigen::Map<Mat>(v.data(), rows, cols);
}

/// Central finite differences of f.value at theta, step h relative to max(1, |theta_i|).
template <class F>
Vec finite_difference_gradient(const F& f, const Vec& theta, double h = 1e-5) {
  Vec g(theta.size());
  Vec t = theta;
  for (Index i = 0; i < theta.size(); ++i) {
    const double step = h * std::max(1.0, std::abs(theta(i)));
    t(i) = theta(i) + step;
    const double fp = f.value(t);
    t(i) = theta(i) - step;
    const double fm = f.value(t);
    t(i) = theta(i);
    g(i) = (fp - fm) / (2 * step);
  }
  return g;
}

/// |got − want| / |want|, or |got| when want is 0.
inline double rel(double got, double want) { return want == 0 ? std::abs(got) : std::abs(got - want) / std::abs(want); }

/// max |a − b| / max(max |b|, tiny) over the entries: the distance of two matrices at the scale of
/// b's largest entry (EXPECTs equal shapes; 1 if they differ, 0 if both are empty).
inline double max_entry_gap(const Eigen::Ref<const Mat>& a, const Eigen::Ref<const Mat>& b) {
  EXPECT_EQ(a.rows(), b.rows());
  EXPECT_EQ(a.cols(), b.cols());
  if (a.rows() != b.rows() || a.cols() != b.cols()) return 1.0;
  if (a.size() == 0) return 0.0;
  return (a - b).cwiseAbs().maxCoeff() / std::max(b.cwiseAbs().maxCoeff(), 1e-300);
}

/// max_entry_gap of two spectra: their distance at the scale of the larger value.
inline double spectrum_gap(const Vec& a, const Vec& b) { return max_entry_gap(a, b); }

/// Relative error ||a - b|| / max(||b||, floor).
inline double relative_error(const Vec& a, const Vec& b, double floor = 1e-12) {
  return (a - b).norm() / std::max(b.norm(), floor);
}

/// The ReLU pattern (S_l > 0 for l >= 1) at theta of a layered objective (one with feature_levels:
/// the deep UFM, the network).
template <class F>
std::vector<Eigen::ArrayXXd> relu_pattern(const F& f, const Vec& theta) {
  std::vector<Mat> levels;
  f.feature_levels(theta, levels);
  std::vector<Eigen::ArrayXXd> p;
  for (std::size_t l = 1; l < levels.size(); ++l) p.push_back((levels[l].array() > 0.0).cast<double>());
  return p;
}

/// True when no central-difference probe of step h * max(1, |theta_i|) crosses a ReLU kink.
template <class F>
bool away_from_relu_kinks(const F& f, const Vec& theta, double h) {
  const auto base = relu_pattern(f, theta);
  Vec t = theta;
  for (Index i = 0; i < theta.size(); ++i) {
    for (double sign : {-1.0, 1.0}) {
      t(i) = theta(i) + sign * h * std::max(1.0, std::abs(theta(i)));
      const auto p = relu_pattern(f, t);
      for (std::size_t l = 0; l < p.size(); ++l)
        if ((p[l] != base[l]).any()) return false;
    }
    t(i) = theta(i);
  }
  return true;
}

}  // namespace ufm::test
