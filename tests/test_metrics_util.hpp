#pragma once
/// Helpers of the metrics tests: simplex ETFs, random rotations, and a JSON walker that rejects NaN.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "ufm/metrics/metric_set.hpp"
#include "ufm/metrics/snapshot.hpp"

namespace ufm::test {

/// d×K simplex ETF (unit columns, cos = −1/(K−1), mean zero) in the first K−1 coordinates; d ≥ K−1.
inline Mat simplex_etf(Index d, Index K) {
  Mat J = Mat::Identity(K, K) - Mat::Constant(K, K, 1.0 / static_cast<double>(K));
  Eigen::SelfAdjointEigenSolver<Mat> eig(J);  // eigenvalues 0, 1, ..., 1 (ascending)
  const Mat U = eig.eigenvectors().rightCols(K - 1);  // K×(K−1), orthonormal basis of 1^⊥
  Mat M = Mat::Zero(d, K);
  M.topRows(K - 1) = U.transpose() * std::sqrt(static_cast<double>(K) / static_cast<double>(K - 1));
  return M;
}

/// Random orthogonal d×d matrix (Q of a Householder QR of a Gaussian matrix).
inline Mat random_orthogonal(Index d, unsigned seed) {
  Eigen::HouseholderQR<Mat> qr(random_mat(d, d, seed));
  return qr.householderQ() * Mat::Identity(d, d);
}

/// Labels of the given class counts, shuffled with a fixed seed (not in class blocks).
inline std::vector<int> shuffled_labels(const std::vector<Index>& counts, unsigned seed) {
  std::vector<int> y;
  for (std::size_t c = 0; c < counts.size(); ++c) y.insert(y.end(), counts[c], static_cast<int>(c));
  std::mt19937_64 rng(seed);
  std::shuffle(y.begin(), y.end(), rng);
  return y;
}

/// Collapsed features h_i = means.col(y_i).
inline Mat collapsed_features(const Mat& means, std::span<const int> labels) {
  Mat H(means.rows(), static_cast<Index>(labels.size()));
  for (Index i = 0; i < H.cols(); ++i) H.col(i) = means.col(labels[i]);
  return H;
}

/// Owns H, W, b, labels and hands out a Snapshot of views.
struct Model {
  Mat H, W;
  Vec b;
  std::vector<int> labels;
  Index K;
  Loss loss = Loss::kMse;
  Snapshot snapshot() const {
    return {ConstMatMap(H.data(), H.rows(), H.cols()), ConstMatMap(W.data(), W.rows(), W.cols()),
            ConstVecMap(b.data(), b.size()), labels, K, loss};
  }
};

/// Every value is a finite number, an array of finite numbers, or null with a reason in null_reasons.
inline void expect_no_nan(const MetricSet& m) {
  ASSERT_TRUE(m.is_object());
  const auto reasons = m.contains(kNullReasons) ? m[kNullReasons] : MetricSet::object();
  for (const auto& [key, value] : m.items()) {
    if (key == kNullReasons) continue;
    if (value.is_null()) {
      EXPECT_TRUE(reasons.contains(key)) << key << " is null without a reason";
      if (reasons.contains(key)) {
        EXPECT_FALSE(reasons[key].get<std::string>().empty()) << key;
      }
    } else if (value.is_array()) {
      for (const auto& v : value) EXPECT_TRUE(v.is_number() && std::isfinite(v.get<double>())) << key;
    } else {
      EXPECT_TRUE(value.is_number() && std::isfinite(value.get<double>())) << key << " = " << value.dump();
    }
  }
  for (const auto& [key, r] : reasons.items()) EXPECT_TRUE(m.contains(key) && m[key].is_null()) << "stale " << key;
}

/// The metric as a double; fails the test when it is null or missing.
inline double metric(const MetricSet& m, const std::string& name) {
  const auto v = get_metric(m, name);
  EXPECT_TRUE(v.has_value()) << name << " is null or missing: " << m.dump();
  return v.value_or(std::nan(""));
}

inline std::vector<double> metric_array(const MetricSet& m, const std::string& name) {
  EXPECT_TRUE(m.contains(name) && m[name].is_array()) << name;
  return m.contains(name) && m[name].is_array() ? m[name].get<std::vector<double>>() : std::vector<double>{};
}

inline bool is_null_with_reason(const MetricSet& m, const std::string& name) {
  return m.contains(name) && m[name].is_null() && m.contains(kNullReasons) && m[kNullReasons].contains(name);
}

/// "" when got and want have the same keys in the same order, the same nulls and strings, and numbers
/// within tol relative or abs_tol absolute (arrays: tol relative to their largest entry); else the path
/// of the first difference.
inline std::string json_difference(const nlohmann::ordered_json& got, const nlohmann::ordered_json& want, double tol,
                                   const std::string& path = "", double abs_tol = 0.0) {
  if (got.type() != want.type() && !(got.is_number() && want.is_number()))
    return path + ": " + got.dump() + " vs " + want.dump();
  if (got.is_object()) {
    if (got.size() != want.size()) return path + ": " + std::to_string(got.size()) + " vs " + std::to_string(want.size()) + " keys";
    auto g = got.begin();
    for (auto w = want.begin(); w != want.end(); ++w, ++g) {
      if (g.key() != w.key()) return path + ": key " + g.key() + " where " + w.key() + " was";
      const std::string d = json_difference(g.value(), w.value(), tol, path + "/" + w.key(), abs_tol);
      if (!d.empty()) return d;
    }
    return "";
  }
  if (got.is_array()) {
    if (got.size() != want.size()) return path + ": array sizes differ";
    double scale = 0.0;
    for (const auto& v : want)
      if (v.is_number()) scale = std::max(scale, std::abs(v.get<double>()));
    for (std::size_t k = 0; k < got.size(); ++k) {
      if (!got[k].is_number()) {
        if (got[k] != want[k]) return path + "[" + std::to_string(k) + "]";
        continue;
      }
      if (std::abs(got[k].get<double>() - want[k].get<double>()) > tol * scale)
        return path + "[" + std::to_string(k) + "]: " + got[k].dump() + " vs " + want[k].dump();
    }
    return "";
  }
  if (got.is_number()) {
    const double a = got.get<double>(), b = want.get<double>();
    return std::abs(a - b) <= std::max(tol * std::max(std::abs(a), std::abs(b)), abs_tol)
               ? ""
               : path + ": " + got.dump() + " vs " + want.dump();
  }
  return got == want ? "" : path + ": " + got.dump() + " vs " + want.dump();
}

}  // namespace ufm::test
