#pragma once
/// Householder reduction of a small symmetric matrix to tridiagonal form with its vectors held in
/// vector registers: the step before tridiagonal_eigenvalues.hpp in the spectra of d×d Gram matrices
/// (dense_spectra.cpp). The method is Eigen's tridiagonalization_inplace (Golub & Van Loan, Matrix
/// Computations, Algorithm 8.3.1: the reflector of each column, p = τ A₂₂ v, w = p − ½τ(pᵀv) v,
/// A₂₂ ← A₂₂ − v wᵀ − w vᵀ), on both triangles of the matrix: A₂₂ v is a sum of columns with the
/// sums in registers (no horizontal sums, no dsymv call), and the rank-2 update holds v and w in
/// registers, a whole column's with AVX-512, a quarter at a time with AVX2. It does about 1.5 times
/// the arithmetic of the lower triangle alone, all of it in full vectors: 64×64 in 19 µs against
/// 27 µs for Eigen's (with OpenBLAS's dsymv) on the Zen 4, with 8 lanes or 4. Each step's update
/// and the next step's column sums share one pass over the block, and both run on fused
/// multiply-adds where the ISA has them (AVX2 with FMA, AVX-512): 17.4 → 13.2 µs at 64×64 on the
/// Xeon (16.0 fused alone, which gives the same bits as the two passes). The values differ from
/// Eigen's in the last bits; the method, and its backward stability, are the same.
#include <span>

#include "ufm/linalg.hpp"

namespace ufm {

/// The largest m tridiagonalize_in_registers takes: a column is 8 vectors of 8 lanes, or 16 of 4.
inline constexpr Index kRegisterTridiagonalUpTo = 64;

/// The tridiagonal form of the symmetric m×m matrix A / scale (only A's lower triangle is read):
/// its diagonal in d (m entries) and off-diagonal in e (m − 1 entries; signs as Eigen's), for any
/// finite A and scale > 0 with |A / scale| ≤ 1 entrywise (what dense_spectra.cpp passes: no norm can
/// overflow). Returns false, touching nothing, when the build's vectors hold fewer than four doubles
/// (no AVX), or m is 0 or above kRegisterTridiagonalUpTo; the caller then reduces with Eigen.
/// Allocates nothing (36 KiB of stack). Throws std::invalid_argument when d or e has the wrong size.
bool tridiagonalize_in_registers(const Mat& A, double scale, std::span<double> d, std::span<double> e);

}  // namespace ufm
