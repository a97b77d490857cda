#pragma once
/// The model state directory written by `--save-state DIR` and read by `--init-state DIR`.
///
/// | file        | content                                        | when            |
/// |-------------|------------------------------------------------|-----------------|
/// | H.npy       | features, '<f8' (d, N), fortran_order          | always          |
/// | W.npy       | classifier, '<f8' (K, d), fortran_order        | always          |
/// | b.npy       | bias, '<f8' (K,)                               | iff the model has a bias |
/// | labels.npy  | class of each sample, '<i8' (N,), in [0, K)    | always          |
/// | state.json  | {"format": "ufm-sim state v1", meta..., "shapes": {"H": [d, N], "W": [K, d], "b": [K] or null, "labels": [N]}} | written last; optional on load |
///
/// Each file is replaced atomically; the directory as a whole is not (state.json is written last,
/// so its presence with matching "shapes" marks a completed save). Any .npy file NumPy writes with
/// the right shape is accepted on load (C or Fortran order, '<f4' features, '<i4' labels, ...).
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ufm/io/atomic_file.hpp"
#include "ufm/linalg.hpp"

namespace ufm::io {

inline constexpr const char* kStateFormat = "ufm-sim state v1";

/// H.npy, W1.npy … W{L−1}.npy (hidden weights of the deep model, none for L = 1), W.npy, b.npy,
/// labels.npy and state.json.
struct ModelState {
  Mat H;                        ///< d×N features (H₁ of the deep model)
  Mat W;                        ///< K×d classifier (W_L; d = rows of the last hidden weight)
  std::vector<Mat> hidden;      ///< W_1 (d₁×d), …, W_{L−1}: saved as W1.npy, …
  Vec b;                        ///< K, or empty for a bias-free model
  std::vector<int> labels;      ///< N labels in [0, K)
  nlohmann::ordered_json meta;  ///< free-form (config, step, loss...): an object or null
};

/// Creates `dir` if needed and writes the files above. A stale b.npy is removed when s.b is empty.
/// Throws std::invalid_argument("save_state(): ...") if the shapes of s disagree with each other or
/// meta is not an object/null, and IoError if a file cannot be written.
/// Keys "format" and "shapes" of meta are replaced by the ones computed here.
void save_state(const std::filesystem::path& dir, const ModelState& s);

/// Reads and validates a state directory for a model of the given dimensions: every shape, labels
/// in [0, K), b.npy present iff has_bias. state.json, if present, must be a JSON object whose
/// "format" (if any) is kStateFormat; it becomes meta without its "format" and "shapes" keys
/// (meta is null when state.json is absent). Throws IoError naming the offending file.
ModelState load_state(const std::filesystem::path& dir, Index d, Index N, Index K, bool has_bias);
/// The same for a deep model: dims = d₀, d₁, …, d_{L−1} (H is d₀×N, W_l is d_l×d_{l−1}, W is K×d_{L−1}).
ModelState load_state(const std::filesystem::path& dir, const std::vector<Index>& dims, Index N, Index K,
                      bool has_bias);

/// `<dir>/<name>.npy` for extra matrices of deeper models (creates dir if needed).
void save_matrix(const std::filesystem::path& dir, const std::string& name, const Mat& m);
/// Reads `<dir>/<name>.npy`, which must be rows×cols (see read_npy_matrix).
Mat load_matrix(const std::filesystem::path& dir, const std::string& name, Index rows, Index cols);

}  // namespace ufm::io
