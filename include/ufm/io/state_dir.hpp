#pragma once
/// The model state directory written by `--save-state DIR` and read by `--init-state DIR`.
///
/// | file        | content                                        | when            |
/// |-------------|------------------------------------------------|-----------------|
/// | H.npy       | features, '<f8' (d, N), fortran_order          | always          |
/// | W.npy       | classifier, '<f8' (K, d), fortran_order        | always          |
/// | b.npy       | bias, '<f8' (K,)                               | iff the model has a bias |
/// | labels.npy  | class of each sample, '<i8' (N,), in [0, K)    | always          |
/// | state.json  | {"format": "ufm-sim state v1", meta..., "shapes": {"H": [d, N], "W": [K, d], "b": [K] or null, "labels": [N]}} | always; optional on load |
///
/// A deep model also has W1.npy … W{L−1}.npy ('<f8', fortran_order) and "W1" … in "shapes".
///
/// A network (`ufm-sim net --save-state`) has net_W1.npy … net_W{L−1}.npy, its hidden layers
/// (d_l × d_{l−1}, d₀ the input dimension; "net_W1" … in "shapes"); W.npy (and b.npy) is its output
/// layer W_L, H.npy the penultimate features S_{L−1} of its evaluation samples, labels.npy their
/// classes. The UFM loader ignores the net_W files, so `ufm-sim run --init-state` continues from the
/// network's features and classifier as from any one-layer state; load_network_state reads the net.
///
/// **Saving is atomic for the directory as a whole.** Every file is written into a fresh sibling
/// directory `<dir>.tmp.<pid>.<n>` and fsynced; then that directory takes `dir`'s place: by rename()
/// if `dir` does not exist, else by renameat2(RENAME_EXCHANGE) (on a file system that refuses it:
/// old away, new in: for a moment there is no `dir`) followed by removal of the old directory. A reader sees the old
/// state or the new one, never a mix, and no file of an earlier save (a stale W1.npy or b.npy)
/// survives. An existing `dir` is replaced only if it is empty or a ufm-sim state directory: it holds
/// state.json and nothing but regular files named H.npy, W.npy, W<digits>.npy, b.npy, labels.npy
/// and state.json. Anything else (`--save-state .`, a home directory) is refused before anything is
/// written. A symlink `dir` is followed (its final target is replaced, the link stays).
///
/// **Loading** accepts any .npy file NumPy writes with the right shape (C or Fortran order, '<f4'
/// features converted to double, '<i4' labels, ...) and checks, naming the file: each shape against
/// the model and against state.json's "shapes" (when given), the number of layers (W1.npy … must
/// be exactly those of the model), finite values in every parameter file, labels in [0, K).
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
  std::vector<Mat> network;     ///< a network's hidden layers W_1 (d₁×d_in), …: saved as net_W1.npy, …
};

/// Writes the files above into `dir`, atomically as described above. `dir`'s parent must exist.
/// Throws std::invalid_argument("save_state(): ...") if the shapes of s disagree with each other or
/// meta is not an object/null (nothing is written), IoError if `dir` cannot be used (see
/// check_state_dir_writable; nothing is written) or a file cannot be written (`dir` is unchanged
/// and the temp directory removed).
/// Keys "format" and "shapes" of meta are replaced by the ones computed here.
void save_state(const std::filesystem::path& dir, const ModelState& s);

/// Every check save_state makes before it writes, leaving nothing behind: `dir`'s parent exists, is a
/// directory and a directory can be made in it (a probe directory is created and removed at once);
/// `dir` is new, an empty directory or a ufm-sim state directory (then writable too); it is not a
/// file, not a symlink loop, not the current directory. Never creates `dir` or its parents. Throws
/// IoError "cannot write state directory '<dir>': <reason>", e.g. "... it exists and is not a
/// ufm-sim state directory (it holds 'notes.txt'); choose a new or empty directory".
void check_state_dir_writable(const std::filesystem::path& dir);

/// True if `name` is one of the files a state directory may hold (H.npy, W.npy, W<digits>.npy,
/// net_W<digits>.npy, b.npy, labels.npy, state.json).
bool is_state_file_name(const std::string& name);

/// Reads and validates a state directory for a model of the given dimensions: every shape, labels
/// in [0, K), b.npy present iff has_bias, finite parameters (see above). state.json, if present, must
/// be a JSON object whose "format" (if any) is kStateFormat and whose "shapes" (if any) match the
/// files; it becomes meta without its "format" and "shapes" keys (meta is null when state.json is
/// absent). Throws IoError naming the offending file, e.g.
///   "s/W1.npy: present, but the model has 1 layer; the state is from a model with 2 layers"
///   "s/H.npy: shape (4, 6) but state.json's shapes say (5, 6)"
ModelState load_state(const std::filesystem::path& dir, Index d, Index N, Index K, bool has_bias);
/// The same for a deep model: dims = d₀, d₁, …, d_{L−1} (H is d₀×N, W_l is d_l×d_{l−1}, W is K×d_{L−1}).
ModelState load_state(const std::filesystem::path& dir, const std::vector<Index>& dims, Index N, Index K,
                      bool has_bias);

/// A network's weights from a state directory written by `ufm-sim net --save-state`: dims = d_in,
/// d₁, …, d_{L−1}; fills `network` (net_W1.npy …, exactly L−1 of them), W (K×d_{L−1}), b iff
/// has_bias, and meta; H and labels are not read. Throws IoError naming the file, e.g.
///   "s/net_W3.npy: present, but the network has 3 layers; the state is from a network with 4 layers"
ModelState load_network_state(const std::filesystem::path& dir, const std::vector<Index>& dims, Index K,
                              bool has_bias);

/// `<dir>/<name>.npy` for extra matrices of deeper models (creates dir if needed).
void save_matrix(const std::filesystem::path& dir, const std::string& name, const Mat& m);
/// Reads `<dir>/<name>.npy`, which must be rows×cols (see read_npy_matrix).
Mat load_matrix(const std::filesystem::path& dir, const std::string& name, Index rows, Index cols);

}  // namespace ufm::io
