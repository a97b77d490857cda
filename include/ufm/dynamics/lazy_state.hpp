#pragma once
/// LazyVec: the state type GradientFlow runs odeint's steppers on, with LazyAlgebra, an odeint
/// algebra for it. Odeint's Runge–Kutta steppers describe every stage point, update and error
/// estimate as a scale_sum over whole vectors (x_tmp = x + dt a21 k1, …). With Eigen vectors each
/// of those is a pass of its own over θ; at the paper size θ is 20 MB, so a stage streamed five
/// to seven vectors through memory on top of its gradient evaluation. LazyAlgebra records such a
/// scale_sum in the destination as a pending LinearCombination instead, and the pass that needs
/// the values forms them block by block:
///   - the objective's own pass (StagePointObjective: the UFM forms each block of H while it
///     computes that block's logits and gradient; `keep` vectors, i.e. the states odeint keeps,
///     are written on the way, the stage temporaries never);
///   - the error norm of the adaptive stepper, which never writes x_err: inside the evaluation of
///     dopri5's last stage (ErrorNormObjective; that evaluation is deferred until the error check
///     asks for it, DeferredEvaluation), or else in a pass of its own (scaled_error);
///   - otherwise settle(): one chunked pass, the fallback for any other read.
/// Every formed entry is bit-identical to what odeint's scale_sum writes with the Eigen
/// vector-space algebra (LinearCombination), so a fused trajectory is the unfused one, bit for bit.
///
/// `sign` folds the minus of dx/dt = −∇F into the combinations: the flow system writes ∇F and marks
/// the vector as its negative (sign = −1), and a coefficient a on it becomes −a (exact in IEEE), so
/// no pass negates a gradient.
///
/// Chunked passes run on OpenMP threads over fixed chunks (elementwise work and an exact max), so
/// results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>
#include <type_traits>

#include <boost/numeric/odeint/algebra/default_operations.hpp>
#include <boost/numeric/odeint/util/copy.hpp>
#include <boost/numeric/odeint/util/is_resizeable.hpp>
#include <boost/numeric/odeint/util/resize.hpp>
#include <boost/numeric/odeint/util/same_size.hpp>

#include "ufm/linalg.hpp"
#include "ufm/linear_combination.hpp"
#include "ufm/low_rank_slope.hpp"
#include "ufm/objectives/objective.hpp"
#include "ufm/parallel.hpp"
#include "ufm/scaled_error.hpp"

namespace ufm {

namespace detail {
inline constexpr Index kLazyPrefetch = Index{1} << 17;  ///< vectors this long (1 MiB) prefetch their sources
}  // namespace detail

/// An evaluation a flow has put off until something needs its result: dopri5's last stage (the FSAL
/// evaluation at the trial state), so that the error checker, which comes next, can have the
/// objective compute the error norm inside that evaluation's pass (run_with_error) instead of
/// reading the step's vectors again. Anything else that needs the result, or a combination that
/// refers to it, runs it first (LazyVec::resolve), unfused.
class DeferredEvaluation {
 public:
  bool outstanding() const { return outstanding_; }
  void run() {
    if (!outstanding_) return;
    outstanding_ = false;
    evaluate(nullptr);
  }
  /// Runs it with the scaled error norm of `spec` (whose estimate may read the evaluation's
  /// gradient) computed in the same pass; returns that norm.
  double run_with_error(const ScaledErrorSpec& spec) {
    outstanding_ = false;
    return evaluate(&spec);
  }

 protected:
  ~DeferredEvaluation() = default;
  void set_outstanding() { outstanding_ = true; }
  /// For a subclass that runs the evaluation its own way: whether it was outstanding (it no longer is).
  bool claim() {
    const bool was = outstanding_;
    outstanding_ = false;
    return was;
  }
  /// The evaluation; with spec, also the error norm it describes (else the return value is unused).
  virtual double evaluate(const ScaledErrorSpec* spec) = 0;

 private:
  bool outstanding_ = false;
};

class LazyVec {
 public:
  LazyVec() = default;
  explicit LazyVec(const Vec& values) {
    resize_large(v_, values.size());
    v_ = values;
  }

  Index size() const { return v_.size(); }
  void resize(Index n) { resize_large(v_, n); }

  /// The values, formed first if a combination is pending (in place). Not for a negated vector
  /// (sign −1): pending combinations may refer to its storage, so it is never flipped in place;
  /// read storage() instead (the flow's observers want ∇F, which is what it holds).
  const Vec& values() const {
    if (sign_ < 0.0) throw std::logic_error("LazyVec::values(): the vector is stored negated; read storage()");
    settle();
    return v_;
  }
  /// The stored numbers: the value is sign() · storage() once settled.
  const Vec& storage() const {
    settle();
    return v_;
  }
  /// Where the storage is, to tell whether a combination reads it (its values may be pending).
  const double* address() const { return v_.data(); }
  /// Runs the deferred evaluation this vector waits for, if it is still outstanding.
  void resolve() const {
    if (waits_for_ == nullptr) return;
    DeferredEvaluation* d = waits_for_;
    waits_for_ = nullptr;
    d->run();
  }
  /// The outstanding deferred evaluation this vector waits for (its result, or a combination that
  /// refers to it), or null.
  DeferredEvaluation* waits_for() const {
    return waits_for_ != nullptr && waits_for_->outstanding() ? waits_for_ : nullptr;
  }
  void set_waits_for(DeferredEvaluation* d) const { waits_for_ = d; }
  double sign() const { return sign_; }
  /// The storage for a writer that overwrites every entry (the flow system's gradient), which
  /// then declares the vector's value as sign · storage.
  Vec& overwrite(double sign) {
    pending_ = false;
    sign_ = sign;
    waits_for_ = nullptr;
    low_rank_.active = false;
    return v_;
  }
  /// Where a writer of a low-rank slope puts it: W's and b's parts into `storage` (its entries past H),
  /// the H part into `slope` (low_rank_slope.hpp), whose expansion it sets; both describe the storage,
  /// whose value is sign · storage (the RK4 flow writes +∇F, dopri5's −∇F as sign −1).
  struct LowRankOut {
    double* storage;
    LowRankSlope& slope;
  };
  LowRankOut overwrite_low_rank(double sign = 1.0) {
    pending_ = false;
    sign_ = sign;
    waits_for_ = nullptr;
    low_rank_.active = true;
    low_rank_.formed = false;
    return {v_.data(), low_rank_};
  }
  /// The low-rank H part (active) or null.
  const LowRankSlope* low_rank() const { return low_rank_.active ? &low_rank_ : nullptr; }
  /// Values from another vector (odeint's copy).
  void assign(const LazyVec& from) {
    if (&from == this) return settle();
    v_ = from.values();
    pending_ = false;
    sign_ = 1.0;
    waits_for_ = nullptr;
    low_rank_.active = false;
  }

  bool pending() const { return pending_; }
  const LinearCombination& combination() const { return combination_; }
  void set_combination(const LinearCombination& c) {
    combination_ = c;
    commit_combination(nullptr);
  }
  /// For a writer that builds the combination where it is kept (LazyAlgebra): emptied here, then
  /// filled, then committed. Copying one built elsewhere read its 240 bytes with 64-byte loads right
  /// after they were written 8 bytes at a time, which stalled on store forwarding: two thirds of
  /// Odeint's bookkeeping per RK4 step at the small size. Nothing may settle this vector meanwhile.
  LinearCombination& start_combination() {
    combination_.terms = 0;
    return combination_;
  }
  /// The combination start_combination() gave out is this vector's value, waiting for `waits`
  /// (null: for nothing).
  void commit_combination(DeferredEvaluation* waits) {
    if (low_rank_.active && combination_.reads(v_.data())) form_low_rank_part();  // a source of its own value
    low_rank_.active = false;
    pending_ = true;
    sign_ = 1.0;
    waits_for_ = waits;
  }
  /// As a source term: coefficient a on this vector is a·sign on its storage. A vector whose values
  /// a deferred evaluation will write is added as it is (its storage and sign are already fixed):
  /// the combination then waits for that evaluation (LazyAlgebra).
  /// A low-rank slope is added with its payload, which an objective that takes low-rank slopes reads
  /// for its H part (a deferred slope's payload is written by its evaluation, before it is read).
  void add_to(LinearCombination& c, double a) const {
    if (pending_) settle();
    c.add(a * sign_, v_.data(), &low_rank_);
  }

  /// Whether the state is kept by whoever owns it (a state of the trajectory, not a stage
  /// temporary): an objective evaluating it while pending also writes its values.
  bool keep() const { return keep_; }
  void set_keep(bool keep) const { keep_ = keep; }
  /// For an evaluation that forms the pending values: where to write them (null: not kept), and
  /// the note that they were written.
  double* store_for_evaluation() const { return keep_ ? v_.data() : nullptr; }
  void mark_settled() const { pending_ = false; }

  /// Forms a pending combination into the storage, in one chunked pass (after running the deferred
  /// evaluation it waits for).
  void settle() const {
    resolve();
    form_low_rank_part();
    if (!pending_) return;
    const LinearCombination& c = combination_;
    double* out = v_.data();
    if (has_low_rank_terms(c)) {
      if (form_flattened(c)) return;
      form_low_rank_sources(c);
    }
    for_each_range(v_.size(), [&](Index, Index b, Index e) { c.form(b, e, out + b); });
    pending_ = false;
  }

 private:
  mutable Vec v_;
  mutable LinearCombination combination_;
  mutable bool pending_ = false;
  mutable double sign_ = 1.0;
  mutable bool keep_ = false;
  mutable DeferredEvaluation* waits_for_ = nullptr;
  mutable LowRankSlope low_rank_;

  /// A low-rank slope's H part written into the storage (once), for a reader of its entries.
  void form_low_rank_part() const {
    if (!low_rank_.active || low_rank_.formed) return;
    form_low_rank(low_rank_.h, low_rank_.Wt.rows(), low_rank_.Rt.rows(), low_rank_.Rt.cols(), v_.data(),
                  low_rank_.scratch);
    low_rank_.formed = true;
  }
  /// c formed into the storage with its H part as one low-rank expansion (flatten_low_rank): one
  /// product of all its factors, not each source formed; false (nothing written) where c is not of
  /// that form.
  bool form_flattened(const LinearCombination& c) const {
    LowRankH h;
    if (!flatten_low_rank(c, h)) return false;
    const LowRankSlope* any = nullptr;
    for (int t = 0; t < c.terms && any == nullptr; ++t) {
      const LowRankSlope* s = c.slope[static_cast<std::size_t>(t)];
      if (s != nullptr && s->active) any = s;
    }
    const Index d = any->Wt.rows(), N = any->Rt.rows(), K = any->Rt.cols(), hs = d * N;
    form_low_rank(h, d, N, K, v_.data(), low_rank_.scratch);  // the sources' H ranges are read only as h's base
    double* out = v_.data();
    for_each_range(v_.size() - hs, [&](Index, Index b, Index e) { c.form(hs + b, hs + e, out + hs + b); });
    pending_ = false;
    return true;
  }
  /// The low-rank sources of c formed into their storage (their H ranges), so that c can be formed
  /// entry by entry. Their payloads stay active: the expansions remain valid.
  static void form_low_rank_sources(const LinearCombination& c) {
    for (int t = 0; t < c.terms; ++t) {
      const auto u = static_cast<std::size_t>(t);
      LowRankSlope* s = c.slope[u];
      if (s == nullptr || !s->active || s->formed) continue;
      form_low_rank(s->h, s->Wt.rows(), s->Rt.rows(), s->Rt.cols(), const_cast<double*>(c.x[u]), s->scratch);
      s->formed = true;
    }
  }
};

/// F and ∇F at a LazyVec: formed inside the objective's pass when it can, else settled first.
/// `grad` receives ∇F with sign `grad_sign` declared (−1: the vector is −∇F). grad may be a
/// source of x's combination.
template <Objective F>
double value_and_gradient_at(const F& f, const LazyVec& x, LazyVec& grad, double grad_sign) {
  x.resolve();
  if constexpr (StagePointObjective<F>) {
    if (x.pending() && !has_low_rank_terms(x.combination())) {
      double* store = x.store_for_evaluation();
      const double value = f.value_and_gradient_at(x.combination(), grad.overwrite(grad_sign), store);
      if (store) x.mark_settled();
      return value;
    }
  }
  const Vec& point = x.values();
  return f.value_and_gradient(point, grad.overwrite(grad_sign));
}

/// A flow's evaluation with a low-rank slope (LowRankSlopeObjective): ∇F at x into grad, its H part
/// low rank, with sign `grad_sign` declared; x the state (formed first where it is pending and kept)
/// or a stage point of the state and low-rank slopes. Returns F at x where x is the state, else NaN.
/// logits_t: as value_gradient_and_logits_at hands them (the state only).
template <LowRankSlopeObjective F>
double low_rank_gradient_at(const F& f, const LazyVec& x, LazyVec& grad, Mat* logits_t = nullptr,
                            double grad_sign = 1.0) {
  x.resolve();
  if (x.pending() && x.keep()) x.settle();
  LinearCombination state;
  const LinearCombination* c = &x.combination();
  if (!x.pending()) {
    state.add(1.0, x.storage().data());
    c = &state;
  }
  const LazyVec::LowRankOut out = grad.overwrite_low_rank(grad_sign);
  return f.gradient_low_rank_at(*c, out.storage, out.slope, logits_t, nullptr, nullptr);
}

/// value_and_gradient_at, and the logits at x as a CheckpointLogitsObjective hands them to a checkpoint
/// (Checkpoint::logits_t): through its stage-point form where x is still pending, else at x's values.
/// logits_t is left empty (0×0) where f hands none.
template <class F>
double value_gradient_and_logits_at(const F& f, const LazyVec& x, LazyVec& grad, double grad_sign, Mat& logits_t) {
  if constexpr (CheckpointLogitsObjective<F>) {
    x.resolve();
    if constexpr (requires(const LinearCombination& c, Vec& g, double* st) {
                    f.value_gradient_and_logits_at(c, g, st, logits_t);
                  }) {
      if (x.pending() && !has_low_rank_terms(x.combination())) {
        double* store = x.store_for_evaluation();
        Vec& g = grad.overwrite(grad_sign);
        const double value = f.value_gradient_and_logits_at(x.combination(), g, store, logits_t);
        if (store) x.mark_settled();
        return value;
      }
    }
    return f.value_gradient_and_logits(x.values(), grad.overwrite(grad_sign), logits_t);
  } else {
    logits_t.resize(0, 0);
    return value_and_gradient_at(f, x, grad, grad_sign);
  }
}

/// The error norm `spec` describes over entries [0, n), in one chunked pass: per fixed chunk a
/// ScaledErrorSum, the chunks' values combined in chunk order (the same for any thread count).
inline double scaled_error(const ScaledErrorSpec& spec, Index n) {
  double chunk_value[kMaxRanges] = {};
  for_each_range(n, [&](Index c, Index b, Index e) {
    ScaledErrorSum sum;
    sum.add(spec, b, e);
    chunk_value[c] = sum.value(spec.rms);
  });
  return scaled_error_norm(chunk_value, spec.rms, n);
}

/// The scaled errors r_i = |x_err_i| / (abs_tol + rel_tol (|x_old_i| + |dt| |dxdt_old_i|)) of odeint's
/// default error checker (a_x = a_dxdt = 1), x_err formed on the fly, reduced to their maximum
/// (odeint's norm) or, with `rms`, their root mean square sqrt(Σ r_i² / n). NaN when any ratio is
/// NaN. A deferred evaluation x_err waits for is run first.
inline double scaled_error(const LazyVec& x_old, const LazyVec& dxdt_old, const LazyVec& x_err, double abs_tol,
                           double rel_tol, double dt, bool rms) {
  x_err.resolve();
  if (x_err.pending() && has_low_rank_terms(x_err.combination())) x_err.settle();  // read entry by entry
  ScaledErrorSpec spec{{}, x_old.values().data(), dxdt_old.storage().data(), abs_tol, rel_tol, std::abs(dt), rms};
  if (x_err.pending())
    spec.estimate = x_err.combination();
  else
    x_err.add_to(spec.estimate, 1.0);
  return scaled_error(spec, x_err.size());
}

namespace detail {
namespace odeint_ops = boost::numeric::odeint;
/// Whether Op is (or derives from, as generic_rk_scale_sum does) one of odeint's scale_sumN.
#define UFM_SCALE_SUM(N) \
  template <class... A>  \
  std::true_type is_scale_sum(const odeint_ops::default_operations::scale_sum##N<A...>*);
UFM_SCALE_SUM(1)
UFM_SCALE_SUM(2)
UFM_SCALE_SUM(3)
UFM_SCALE_SUM(4)
UFM_SCALE_SUM(5)
UFM_SCALE_SUM(6)
UFM_SCALE_SUM(7)
UFM_SCALE_SUM(8)
UFM_SCALE_SUM(9)
UFM_SCALE_SUM(10)
UFM_SCALE_SUM(11)
UFM_SCALE_SUM(12)
UFM_SCALE_SUM(13)
UFM_SCALE_SUM(14)
#undef UFM_SCALE_SUM
std::false_type is_scale_sum(const void*);
template <class Op>
inline constexpr bool kIsScaleSum = decltype(is_scale_sum(static_cast<const Op*>(nullptr)))::value;

/// The coefficient of source j (0-based) of a scale_sum: the op applied to unit scalars
/// (a·1 + 0 + … = a exactly).
template <class Op, std::size_t... I>
double scale_sum_coefficient(const Op& op, std::size_t j, std::index_sequence<I...>) {
  double out = 0.0;
  double unit[sizeof...(I)];
  for (std::size_t i = 0; i < sizeof...(I); ++i) unit[i] = i == j ? 1.0 : 0.0;
  op(out, unit[I]...);
  return out;
}
}  // namespace detail

/// Odeint algebra over LazyVec (see the top of this file). for_eachN(dest, sources…, op):
/// a scale_sum becomes a pending combination in dest; any other operation runs entry by entry on
/// the settled values (only odeint steppers this project does not use would get there).
struct LazyAlgebra {
  template <class Op, class... S>
  static void for_each(LazyVec& dest, Op op, const S&... sources) {
    if constexpr (detail::kIsScaleSum<Op>) {
      constexpr std::size_t n = sizeof...(S);
      const LazyVec* source[n] = {&sources...};
      double a[n];
      bool used[n];
      // A source with coefficient 0 after the first is left out (odeint's generic RK4 writes its
      // stage points with every earlier slope, zeros included: 3 of its 14 source reads per step).
      // t + 0·x = t for finite x, so every entry is the same number; only the sign of an exact
      // zero entry (−0 + 0·x = +0) and a NaN or ∞ in the dropped source (0·∞ = NaN) could differ,
      // and such a source already reached the state through the stage that used it.
      bool any = false;
      for (std::size_t j = 0; j < n; ++j) {
        a[j] = detail::scale_sum_coefficient(op, j, std::index_sequence_for<S...>{});
        used[j] = a[j] != 0.0 || !any;
        any = any || used[j];
      }
      // First the pending sources are formed (which may run a deferred evaluation, and may be
      // dest itself), in order; then dest's combination is built in place from settled sources.
      for (std::size_t j = 0; j < n; ++j)
        if (used[j] && source[j]->pending()) source[j]->settle();
      DeferredEvaluation* waits = nullptr;  // a source's values are still to be written by it
      LinearCombination& c = dest.start_combination();
      for (std::size_t j = 0; j < n; ++j) {
        if (!used[j]) continue;
        if (DeferredEvaluation* d = source[j]->waits_for()) waits = d;
        source[j]->add_to(c, a[j]);
      }
      c.prefetch = dest.size() >= detail::kLazyPrefetch;
      dest.commit_combination(waits);
    } else {
      const Vec& d0 = dest.values();
      Vec& d = const_cast<Vec&>(d0);  // values() settled it and normalized its sign: plain storage
      for (Index i = 0; i < d.size(); ++i) op(d[i], sources.values()[i]...);
    }
  }
  // Odeint calls for_each1 … for_eachN by name; dopri5's dense output needs up to for_each8.
  template <class Op>
  static void for_each1(LazyVec& s1, Op op) { for_each(s1, op); }
  template <class Op>
  static void for_each2(LazyVec& s1, const LazyVec& s2, Op op) { for_each(s1, op, s2); }
  template <class Op>
  static void for_each3(LazyVec& s1, const LazyVec& s2, const LazyVec& s3, Op op) { for_each(s1, op, s2, s3); }
  template <class Op>
  static void for_each4(LazyVec& s1, const LazyVec& s2, const LazyVec& s3, const LazyVec& s4, Op op) {
    for_each(s1, op, s2, s3, s4);
  }
  template <class Op>
  static void for_each5(LazyVec& s1, const LazyVec& s2, const LazyVec& s3, const LazyVec& s4, const LazyVec& s5,
                        Op op) {
    for_each(s1, op, s2, s3, s4, s5);
  }
  template <class Op>
  static void for_each6(LazyVec& s1, const LazyVec& s2, const LazyVec& s3, const LazyVec& s4, const LazyVec& s5,
                        const LazyVec& s6, Op op) {
    for_each(s1, op, s2, s3, s4, s5, s6);
  }
  template <class Op>
  static void for_each7(LazyVec& s1, const LazyVec& s2, const LazyVec& s3, const LazyVec& s4, const LazyVec& s5,
                        const LazyVec& s6, const LazyVec& s7, Op op) {
    for_each(s1, op, s2, s3, s4, s5, s6, s7);
  }
  template <class Op>
  static void for_each8(LazyVec& s1, const LazyVec& s2, const LazyVec& s3, const LazyVec& s4, const LazyVec& s5,
                        const LazyVec& s6, const LazyVec& s7, const LazyVec& s8, Op op) {
    for_each(s1, op, s2, s3, s4, s5, s6, s7, s8);
  }
  template <class Op>
  static void for_each9(LazyVec& s1, const LazyVec& s2, const LazyVec& s3, const LazyVec& s4, const LazyVec& s5,
                        const LazyVec& s6, const LazyVec& s7, const LazyVec& s8, const LazyVec& s9, Op op) {
    for_each(s1, op, s2, s3, s4, s5, s6, s7, s8, s9);
  }

  static double norm_inf(const LazyVec& x) { return x.values().lpNorm<Eigen::Infinity>(); }
};

}  // namespace ufm

namespace boost::numeric::odeint {
template <>
struct is_resizeable<ufm::LazyVec> {
  typedef boost::true_type type;
  static const bool value = type::value;
};
template <>
struct same_size_impl<ufm::LazyVec, ufm::LazyVec> {
  static bool same_size(const ufm::LazyVec& a, const ufm::LazyVec& b) { return a.size() == b.size(); }
};
template <>
struct resize_impl<ufm::LazyVec, ufm::LazyVec> {
  static void resize(ufm::LazyVec& a, const ufm::LazyVec& b) { a.resize(b.size()); }
};
template <>
struct copy_impl<ufm::LazyVec, ufm::LazyVec> {
  static void copy(const ufm::LazyVec& from, ufm::LazyVec& to) { to.assign(from); }
};
}  // namespace boost::numeric::odeint
