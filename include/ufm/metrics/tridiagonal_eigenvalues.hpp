#pragma once
/// All eigenvalues of a symmetric tridiagonal matrix: the root-free QL algorithm of Pal, Walker and
/// Kahan (Parlett, The Symmetric Eigenvalue Problem, §8.15; what LAPACK's dsterf runs), with the
/// splitting and sweep limit dsterf uses, and two changes:
///   - the sweep's recurrence is rearranged so that one division, not two, lies on the chain from
///     one step to the next (1/r serves s and γ; p = γ²/c becomes γ² (r/p), its division formed
///     beside the chain): 64×64 in 46 against dsterf's 64 µs on the Zen 4;
///   - sweeps go in groups of three, interleaved, each two steps behind the one before, with the
///     shifts of both eigenvalues of the top 2×2 block (Wilkinson's, the other, Wilkinson's): three
///     chains in flight at once, the same values as those sweeps one after the other. The medium
///     checkpoint's 64×64 Gram: 36 → 22 µs in a standalone loop on the Zen 5.
/// The values differ from dsterf's in the last bits (within a few ulps of the largest); each sweep
/// and its stability are dsterf's. Each block is scaled by a power of 4 (exact) to entries of at
/// most 1, where dsterf scales only near overflow and underflow.
#include <span>

namespace ufm {

/// Overwrites d (the n diagonal entries, finite) with the eigenvalues in ascending order; e (its
/// n − 1 off-diagonal entries) is destroyed. A block whose last diagonal entry is the smaller in
/// magnitude is reversed first (QL on the reversed block is dsterf's QR on the block). Returns false
/// when 30n sweeps in all did not reduce it (d is then partly reduced), as dsterf's info > 0.
/// Throws std::invalid_argument when e.size() + 1 != d.size() (and d is not empty).
bool tridiagonal_eigenvalues(std::span<double> d, std::span<double> e);

}  // namespace ufm
