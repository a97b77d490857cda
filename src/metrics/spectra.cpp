#include "ufm/metrics/spectra.hpp"

#include <algorithm>
#include <cmath>

#include "ufm/metrics/dense_spectra.hpp"
#include "ufm/metrics/gram_kernel.hpp"

namespace ufm {

Vec singular_values_via_gram(const Eigen::Ref<const Mat>& X) {
  const Index d = X.rows(), N = X.cols();
  const Index m = std::min(d, N);
  Mat gram = Mat::Zero(m, m);
  if (d <= N)
    add_gram_lower(X.data(), X.outerStride(), d, N, gram.data(), m);  // X Xᵀ, lower triangle
  else
    gram.selfadjointView<Eigen::Lower>().rankUpdate(X.transpose());  // Xᵀ X
  return singular_values_from_gram(gram);
}

Vec singular_values_from_gram(const Mat& gram) {
  const Index m = gram.rows();
  const Vec lambda = symmetric_eigenvalues(gram).reverse();  // descending
  const double floor = kGramFloor * std::max(lambda(0), 0.0);
  Vec sigma(m);
  for (Index k = 0; k < m; ++k) sigma(k) = lambda(k) > floor ? std::sqrt(lambda(k)) : 0.0;
  return sigma;
}

void put_spectrum(const Vec& sigma, Index top, Index max_values, MetricSet& out) {
  const Index m = sigma.size();
  const Index shown = (max_values <= 0) ? m : std::min(m, max_values);
  put_metric(out, "singular_values", std::vector<double>(sigma.data(), sigma.data() + shown));
  const double sq_total = sigma.squaredNorm();
  const double sum = sigma.sum();
  put_metric(out, "explained_variance", sigma.head(std::min(top, m)).squaredNorm() / sq_total);
  double entropy = 0.0;
  for (Index k = 0; k < m; ++k) {
    const double p = sigma(k) / sum;
    if (p > 0.0) entropy -= p * std::log(p);
  }
  put_metric(out, "effective_rank", std::exp(entropy));
  put_metric(out, "stable_rank", sq_total / (sigma(0) * sigma(0)));
}

void put_null_spectrum(const std::string& reason, MetricSet& out) {
  for (const char* name : {"singular_values", "explained_variance", "effective_rank", "stable_rank"})
    put_metric(out, name, std::nullopt, reason);
}

std::vector<double> eigenvalues_descending(const Mat& S) {
  const Vec lambda = symmetric_eigenvalues(S).reverse();
  return {lambda.data(), lambda.data() + lambda.size()};
}

std::vector<double> singular_values_descending(const Mat& A) {
  const Vec s = singular_values(A);  // already descending
  return {s.data(), s.data() + s.size()};
}

}  // namespace ufm
