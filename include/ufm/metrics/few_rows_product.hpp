#pragma once
/// A X for a matrix A with few rows (K×d: the classifier W, the centred means M̃ᵀ) and a wide X (d×N),
/// by the objective's logits kernels (detail/ufm_kernels.hpp) over blocks of columns. At K = 10 it
/// takes half (d = 64, N = 1,000) to a third (d = 512, N = 5,000) of OpenBLAS's dgemm, which packs
/// both operands for a product with so few rows.
#include "ufm/linalg.hpp"

namespace ufm {

/// out (resized to K×N) = A X; returns Σ_i ‖x_i‖² (summed on the way, in a fixed order). X must have
/// contiguous columns (outer stride d); any other X, and d = 0, go through Eigen's product.
double few_rows_product(const Eigen::Ref<const Mat>& A, const Eigen::Ref<const Mat>& X, Mat& out);

/// The same product class-major, out_t (resized to N×K) = (A X)ᵀ: the kernels' own layout, with no
/// transpose at the end (the metrics read the logits class by class).
double few_rows_product_t(const Eigen::Ref<const Mat>& A, const Eigen::Ref<const Mat>& X, Mat& out_t);

/// The same for one block of nb contiguous columns X_b (d×nb) into rows j0..j0+nb of out_t, the product
/// stored class-major ((A X)ᵀ, N×K, already sized: the kernels' own layout), with At = Aᵀ (d×K).
double few_rows_product_block(const Mat& A, const Mat& At, const double* Xb, Index nb, Index j0, Mat& out_t);

/// The products of a level's metrics and its classifier over one block of nb contiguous columns H_b
/// (d×nb), in one pass where the kernels allow (see block_centred_pair in detail/ufm_kernels.hpp): rows
/// j0.. of Pt = (A (H_b − μ1ᵀ))ᵀ and of Zt = (W H_b)ᵀ (both N×K, class-major, already sized), and the
/// centred block X_b = H_b − μ1ᵀ into Xc (d×nb, contiguous). A, W: K×d with At = Aᵀ, Wt = Wᵀ. Each
/// product is few_rows_product_block's, bit for bit. Returns ‖X_b‖²_F.
double centred_and_raw_products_block(const Mat& A, const Mat& At, const Mat& W, const Mat& Wt, const Vec& mu,
                                      const double* Hb, Index nb, Index j0, double* Xc, Mat& Pt, Mat& Zt);

/// The same without the classifier's product: Pt and Xc only (its logits came from elsewhere).
double centred_products_block(const Mat& A, const Mat& At, const Vec& mu, const double* Hb, Index nb, Index j0,
                              double* Xc, Mat& Pt);

/// Two such products of the same centred block, for two levels' metrics: rows j0.. of Pt = (A (H_b − μ1ᵀ))ᵀ
/// and of Qt = (B (H_b − μ1ᵀ))ᵀ (N×K each, already sized), in one pass where the kernels allow
/// (block_centred_pair); Xc (d×nb) is scratch. Each product is centred_products_block's, bit for bit.
void centred_two_products_block(const Mat& A, const Mat& At, const Mat& B, const Mat& Bt, const Vec& mu,
                                const double* Hb, Index nb, Index j0, double* Xc, Mat& Pt, Mat& Qt);

}  // namespace ufm
