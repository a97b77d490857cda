#pragma once
/// Householder reduction of a small symmetric matrix to tridiagonal form with its vectors held in
/// AVX-512 registers: the step before tridiagonal_eigenvalues.hpp in the spectra of d×d Gram matrices
/// (dense_spectra.cpp). The method is Eigen's tridiagonalization_inplace (Golub & Van Loan, Matrix
/// Computations, Algorithm 8.3.1: the reflector of each column, p = τ A₂₂ v, w = p − ½τ(pᵀv) v,
/// A₂₂ ← A₂₂ − v wᵀ − w vᵀ), on both triangles of the matrix, each column a run of up to eight 8-lane
/// vectors: v, p and w stay in registers, A₂₂ v is a sum of columns (no horizontal sums, no dsymv
/// call) and the rank-2 update is two FMAs per vector. It does about 1.5 times the arithmetic of the
/// lower triangle alone, all of it in full vectors: 64×64 in 15 µs against 26–28 µs for Eigen's
/// (with OpenBLAS's dsymv) on the Zen 4. The values differ from Eigen's in the last bits; the
/// method, and its backward stability, are the same.
#include <span>

#include "ufm/linalg.hpp"

namespace ufm {

/// The largest m tridiagonalize_in_registers takes: eight vectors of eight lanes per column.
inline constexpr Index kRegisterTridiagonalUpTo = 64;

/// The tridiagonal form of the symmetric m×m matrix A / scale (only A's lower triangle is read):
/// its diagonal in d (m entries) and off-diagonal in e (m − 1 entries; signs as Eigen's), for any
/// finite A and scale > 0 with |A / scale| ≤ 1 entrywise (what dense_spectra.cpp passes: no norm can
/// overflow). Returns false, touching nothing, when the build has no AVX-512, or m is 0 or above
/// kRegisterTridiagonalUpTo; the caller then reduces with Eigen. Allocates nothing (32 KiB of stack).
/// Throws std::invalid_argument when d or e has the wrong size.
bool tridiagonalize_in_registers(const Mat& A, double scale, std::span<double> d, std::span<double> e);

}  // namespace ufm
