#pragma once
/// Spectra of the centred features H − μ_G1ᵀ (theory.md §4 "Also") and of small K×K products.
#include <string>

#include "ufm/linalg.hpp"
#include "ufm/metrics/metric_set.hpp"

namespace ufm {

/// Singular values of X (d×N), descending, min(d, N) of them, from the eigenvalues of the smaller Gram
/// matrix (X Xᵀ by gram_kernel.hpp if d ≤ N, else Xᵀ X by a symmetric rank update). Costs d²N/2 (or
/// N²d/2) flops plus a symmetric eigensolve, never an SVD of X. Negative eigenvalues are set to 0, and
/// so are eigenvalues below kGramFloor × the largest: the Gram matrix cannot resolve them (its rounding
/// error is ~1e-16 of its norm), so they are rounding noise, not spectrum.
Vec singular_values_via_gram(const Eigen::Ref<const Mat>& X);
inline constexpr double kGramFloor = 1e-14;  ///< relative eigenvalue floor, i.e. σ below 1e-7 σ_max

/// The same from a Gram matrix already formed (only its lower triangle is read): square roots of its
/// eigenvalues (symmetric_eigenvalues of dense_spectra.hpp: LAPACK with OpenBLAS), descending, with the
/// floor above.
Vec singular_values_from_gram(const Mat& gram);

/// From sigma (descending, all of them, not all zero): singular_values (the first max_values; 0 = all),
/// explained_variance (Σ of the top `top` σ² over Σ σ²), effective_rank exp(−Σ p_i log p_i) with
/// p_i = σ_i/Σσ_j, and stable_rank Σσ²/σ_max².
void put_spectrum(const Vec& sigma, Index top, Index max_values, MetricSet& out);

/// The four names of put_spectrum, null with reason.
void put_null_spectrum(const std::string& reason, MetricSet& out);

/// Eigenvalues of a symmetric K×K matrix, descending (symmetric_eigenvalues of dense_spectra.hpp).
std::vector<double> eigenvalues_descending(const Mat& S);

/// Singular values of a small matrix, descending (singular_values of dense_spectra.hpp: LAPACK's
/// dgesvd with OpenBLAS, else Eigen's JacobiSVD; either way each value to ~1e-16 × the largest).
std::vector<double> singular_values_descending(const Mat& A);

}  // namespace ufm
