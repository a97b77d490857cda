#pragma once
/// The BLAS floor of a GD step, for ufm-bench step: the products torch_ufm.py's manual step makes
/// (torch.mm / addmm with out=, i.e. dgemm with β = 0 or β = 1 − lr·λ), through the same BLAS at
/// the same thread count as compare.py runs PyTorch (OPENBLAS_NUM_THREADS = threads), on full-size
/// operands, and nothing else. Neither side's step can be faster while it makes these products
/// through this BLAS, so t_torch / floor bounds the "× manual" ratio reachable without a GEMM faster
/// than the BLAS's (README, Performance).
#include <algorithm>
#include <chrono>
#include <limits>

#include "bench_problem.hpp"
#include "ufm/linalg.hpp"

#ifdef UFM_USE_OPENBLAS
extern "C" void openblas_set_num_threads(int num_threads);
#endif

namespace ufm::bench {

/// C = alpha op(A) op(B) + beta C as one dgemm call (Eigen's `C.noalias() = A * B` would first
/// zero-fill C and call dgemm with β = 1: not what PyTorch does).
inline void dgemm_call(double alpha, const Mat& A, bool ta, const Mat& B, bool tb, double beta, Mat& C) {
#ifdef UFM_USE_OPENBLAS
  const int m = static_cast<int>(C.rows()), n = static_cast<int>(C.cols());
  const int k = static_cast<int>(ta ? A.rows() : A.cols());
  const int lda = static_cast<int>(A.rows()), ldb = static_cast<int>(B.rows()), ldc = m;
  dgemm_(ta ? "T" : "N", tb ? "T" : "N", &m, &n, &k, &alpha, A.data(), &lda, B.data(), &ldb, &beta, C.data(), &ldc);
#else
  auto product = [&](const auto& a, const auto& b) {
    if (beta == 0.0)
      C = alpha * (a * b);  // as the BLAS: C's old entries are not read
    else
      C = beta * C + alpha * (a * b);
  };
  if (ta && tb) product(A.transpose(), B.transpose());
  else if (ta) product(A.transpose(), B);
  else if (tb) product(A, B.transpose());
  else product(A, B);
#endif
}

/// C = β C + α op(A) op(B) as torch.mm / addmm makes it on row-major tensors: each tensor's
/// memory, read column-major, is its transpose (a row-major r×c tensor is a c×r Mat here), so the
/// call is Cᵀ = op(B)ᵀ op(A)ᵀ, the operands swapped and their flags kept.
inline void torch_mm(double alpha, const Mat& A, bool ta, const Mat& B, bool tb, double beta, Mat& C) {
  dgemm_call(alpha, B, tb, A, ta, beta, C);
}

/// Seconds per step of the products alone, best of a few timed rounds over `seconds`, in
/// torch_ufm.py's memory layout (its d×N H is row-major: each feature's N values contiguous, where
/// ufm-sim keeps each sample's d; measured at K = 100 on the Zen 4, these calls ran 69 ms where the
/// same products in ufm-sim's layout ran 84-88):
///   1 layer: Z = W H (K×d·d×N), gW = G Hᵀ, H = βH + α Wᵀ G.
///   2 layers (width d): A = W₁H, Z = W₂A, gW₂ = G Aᵀ, dA = W₂ᵀG, gW₁ = dA Hᵀ, H = βH + α W₁ᵀ dA.
/// Each Mat below holds a row-major tensor of the shape in its comment.
inline double blas_floor_seconds(const Problem& p, int layers, int threads, double seconds) {
  using Clock = std::chrono::steady_clock;
  const Index K = p.K, d = p.d, N = p.N();
  Mat H = Mat::Random(N, d);                    // d×N
  Mat W = Mat::Random(d, K), gW(d, K);          // K×d
  Mat Z(N, K), G = Mat::Random(N, K);           // K×N
  Mat W1, A, dA, gW1;                           // d×d, d×N, d×N, d×d
  if (layers == 2) W1 = Mat::Random(d, d), A.resize(N, d), dA = Mat::Random(N, d), gW1.resize(d, d);
  const double beta = 1.0 - p.lr * p.lam;  // torch_ufm.py folds the decay of H into addmm's beta
  auto step = [&] {
    if (layers == 1) {
      torch_mm(1.0, W, false, H, false, 0.0, Z);       // torch.addmm(b, W, H, out=Z)
      torch_mm(1.0, G, false, H, true, 0.0, gW);       // torch.mm(G, H.t(), out=gW)
      torch_mm(-1e-9, W, true, G, false, beta, H);     // H.addmm_(W.t(), G, beta=, alpha=)
      return;
    }
    torch_mm(1.0, W1, false, H, false, 0.0, A);        // torch.mm(W1, H, out=A)
    torch_mm(1.0, W, false, A, false, 0.0, Z);         // torch.addmm(b, W2, S, out=Z)
    torch_mm(1.0, G, false, A, true, 0.0, gW);         // torch.mm(G, S.t(), out=gW2)
    torch_mm(1.0, W, true, G, false, 0.0, dA);         // torch.mm(W2.t(), G, out=dS)
    torch_mm(1.0, dA, false, H, true, 0.0, gW1);       // torch.mm(dS, H.t(), out=gW1)
    torch_mm(-1e-9, W1, true, dA, false, beta, H);     // H.addmm_(W1.t(), dS, beta=, alpha=)
  };
#ifdef UFM_USE_OPENBLAS
  openblas_set_num_threads(threads);
#else
  (void)threads;
#endif
  auto since = [](Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  step();
  double best = std::numeric_limits<double>::infinity();
  const auto t_start = Clock::now();
  do {
    long reps = 0;
    const auto t0 = Clock::now();
    do {
      step();
      ++reps;
    } while (since(t0) < seconds / 5);
    best = std::min(best, since(t0) / static_cast<double>(reps));
  } while (since(t_start) < seconds);
#ifdef UFM_USE_OPENBLAS
  openblas_set_num_threads(1);  // back to ufm-sim's own setting (ufm/linalg.hpp)
#endif
  return best;
}

}  // namespace ufm::bench
