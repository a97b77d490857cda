#include "ufm/low_rank_slope.hpp"

#include <algorithm>

#include "ufm/gemm.hpp"

namespace ufm {

bool LowRankH::add_base(double a, const double* base_) {
  if (base != nullptr && base != base_) return false;
  base = base_;
  alpha += a;
  return true;
}

bool LowRankH::add(double a, const LowRankH& h) {
  if (h.base != nullptr && !add_base(a * h.alpha, h.base)) return false;
  for (int s = 0; s < h.terms; ++s) {
    const auto u = static_cast<std::size_t>(s);
    std::size_t t = 0;
    const auto n = static_cast<std::size_t>(terms);
    while (t < n && !(Wt[t] == h.Wt[u] && Rt[t] == h.Rt[u])) ++t;  // a term with the same factors
    if (t == n) {
      if (terms == kMaxTerms) return false;
      ++terms;
      Wt[t] = h.Wt[u];
      Rt[t] = h.Rt[u];
      coef[t] = 0.0;
    }
    coef[t] += a * h.coef[u];
  }
  return true;
}

bool add_expansion(LowRankH& h, double a, const LowRankSlope& s) {
  const auto fits = [&h](const LowRankH& e) { return e.base == nullptr || h.base == nullptr || e.base == h.base; };
  if (fits(s.h)) return h.add(a, s.h);
  if ((s.at_step.base != nullptr || s.at_step.terms > 0) && fits(s.at_step)) return h.add(a, s.at_step);
  return false;
}

bool flatten_low_rank(const LinearCombination& c, LowRankH& h) {
  h = LowRankH{};
  const auto low_rank = [&c](std::size_t u) { return c.slope[u] != nullptr && c.slope[u]->active; };
  for (int t = 0; t < c.terms; ++t) {  // the explicit sources first: they fix the base
    const auto u = static_cast<std::size_t>(t);
    if (!low_rank(u) && !h.add_base(c.a[u], c.x[u])) return false;
  }
  for (int t = 0; t < c.terms; ++t) {
    const auto u = static_cast<std::size_t>(t);
    if (low_rank(u) && !add_expansion(h, c.a[u], *c.slope[u])) return false;
  }
  return true;
}

void form_low_rank(const LowRankH& h, Index d, Index N, Index K, double* out, Mat& scratch) {
  constexpr Index kColumns = 256;
  const Index width = static_cast<Index>(h.terms) * K;
  reserve_term_columns(scratch, d, K, width);
  for (int t = 0; t < h.terms; ++t) {  // [coef_t Wt_t …]: gemm has no scalar of its own
    const auto u = static_cast<std::size_t>(t);
    scratch.middleCols(t * K, K) = h.coef[u] * ConstMatMap(h.Wt[u], d, K);
  }
  for (Index c0 = 0; c0 < N; c0 += kColumns) {
    const Index nb = std::min(kColumns, N - c0);
    MatMap block(out + c0 * d, d, nb);
    if (h.base != nullptr)
      block = h.alpha * ConstMatMap(h.base + c0 * d, d, nb);
    else
      block.setZero();
    for (int t = 0; t < h.terms; ++t)
      gemm(d, nb, K, {scratch.data() + t * K * d, d}, {h.Rt[static_cast<std::size_t>(t)] + c0, N, true}, 1.0,
           block.data(), d);
  }
}

}  // namespace ufm
