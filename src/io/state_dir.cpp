#include "ufm/io/state_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "ufm/config/config_error.hpp"
#include "ufm/io/json_depth.hpp"
#include "ufm/io/npy.hpp"
#include "ufm/io/whole_file.hpp"

namespace ufm::io {
namespace fs = std::filesystem;

namespace {

void check_consistent(const ModelState& s) {
  auto dims = [](Index r, Index c) { return "(" + std::to_string(r) + ", " + std::to_string(c) + ")"; };
  Index width = s.H.rows();  // rows of the previous factor
  for (std::size_t l = 0; l < s.hidden.size(); ++l) {
    if (s.hidden[l].cols() != width)
      throw std::invalid_argument("save_state(): W" + std::to_string(l + 1) + " is " +
                                  dims(s.hidden[l].rows(), s.hidden[l].cols()) + " but needs " +
                                  std::to_string(width) + " columns");
    width = s.hidden[l].rows();
  }
  for (std::size_t l = 1; l < s.network.size(); ++l)
    if (s.network[l].cols() != s.network[l - 1].rows())
      throw std::invalid_argument("save_state(): net_W" + std::to_string(l + 1) + " is " +
                                  dims(s.network[l].rows(), s.network[l].cols()) + " but needs " +
                                  std::to_string(s.network[l - 1].rows()) + " columns");
  if (!s.network.empty() && s.network.back().rows() != s.W.cols())
    throw std::invalid_argument("save_state(): the network's last hidden layer has " +
                                std::to_string(s.network.back().rows()) + " rows but W has " +
                                std::to_string(s.W.cols()) + " columns");
  if (s.W.cols() != width)
    throw std::invalid_argument("save_state(): W is " + dims(s.W.rows(), s.W.cols()) + " but H is " +
                                dims(s.H.rows(), s.H.cols()) + "; W needs " + std::to_string(width) + " columns");
  if (static_cast<Index>(s.labels.size()) != s.H.cols())
    throw std::invalid_argument("save_state(): " + std::to_string(s.labels.size()) + " labels but H has " +
                                std::to_string(s.H.cols()) + " columns");
  if (s.b.size() != 0 && s.b.size() != s.W.rows())
    throw std::invalid_argument("save_state(): b has " + std::to_string(s.b.size()) + " entries but W has " +
                                std::to_string(s.W.rows()) + " rows");
  if (!s.meta.is_null() && !s.meta.is_object())
    throw std::invalid_argument("save_state(): meta must be a JSON object or null");
}

using Json = nlohmann::ordered_json;

void ensure_directory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir))
    throw IoError("cannot create state directory '" + dir.string() + "': " +
                  (ec ? ec.message() : std::string("a file of that name exists")));
}

[[noreturn]] void refuse(const fs::path& dir, const std::string& reason) {
  throw IoError("cannot write state directory '" + abbreviate(dir.string()) + "': " + reason);
}

std::string errno_message(int err) { return std::strerror(err); }

std::string layers_text(std::size_t L) { return std::to_string(L) + (L == 1 ? " layer" : " layers"); }

/// k if `name` is "<prefix><k>.npy" with k ≥ 1 written without leading zeros (as save_state names
/// them): prefix "W" for the deep UFM's hidden weights, "net_W" for a network's.
std::optional<std::size_t> layer_index(const std::string& name, std::string_view prefix) {
  if (name.size() < prefix.size() + 5 || !name.starts_with(prefix) || !name.ends_with(".npy")) return std::nullopt;
  const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - 4);
  if (digits.empty() || digits.size() > 6 || digits.front() == '0') return std::nullopt;
  for (char c : digits)
    if (c < '0' || c > '9') return std::nullopt;
  return static_cast<std::size_t>(std::stoul(digits));
}

/// Where save_state puts the directory: `dir` with trailing '/' dropped, "." and ".." made real
/// names, and a symlink chain followed to its final target.
struct Placement {
  fs::path target;      ///< the directory to create or replace
  bool exists = false;  ///< target exists (an empty or state directory)
};

fs::path without_trailing_separators(fs::path p) {
  while (!p.has_filename() && p.has_relative_path()) p = p.parent_path();
  return p;
}

/// Every check of check_state_dir_writable; creates nothing.
Placement place(const fs::path& dir) {
  if (dir.empty()) refuse(dir, "empty path");
  fs::path p = without_trailing_separators(dir);
  std::error_code ec;
  if (p.filename() == "." || p.filename() == "..") {
    p = fs::canonical(p, ec);
    if (ec) refuse(dir, ec.message());
  }
  if (!p.has_filename()) refuse(dir, "the root directory cannot be a state directory");
  Placement out;
  try {
    out.target = follow_symlinks(p);
  } catch (const IoError&) {
    refuse(dir, "too many levels of symbolic links");
  }
  const std::string via = out.target == p ? "" : " (the symbolic link leads to '" + out.target.string() + "')";
  const fs::path parent = out.target.parent_path().empty() ? fs::path(".") : out.target.parent_path();
  if (!fs::exists(parent, ec)) refuse(dir, "directory '" + abbreviate(parent.string()) + "' does not exist" + via);
  if (!fs::is_directory(parent, ec)) refuse(dir, "'" + abbreviate(parent.string()) + "' is not a directory" + via);
  // access() says yes to root everywhere, even where nothing can be created (/proc): a probe
  // directory, removed at once, tells for sure.
  for (int attempt = 0;; ++attempt) {
    const fs::path probe = temp_path_for(out.target);
    if (::mkdir(probe.c_str(), 0700) == 0) {
      ::rmdir(probe.c_str());
      break;
    }
    if (errno != EEXIST || attempt == 100)
      refuse(dir, "cannot create a directory in '" + abbreviate(parent.string()) + "': " + errno_message(errno) + via);
  }

  struct stat st {};
  if (::lstat(out.target.c_str(), &st) != 0) {
    if (errno == ENOENT) return out;
    refuse(dir, errno_message(errno) + via);
  }
  if (!S_ISDIR(st.st_mode)) refuse(dir, "it exists and is not a directory" + via);
  if (fs::equivalent(out.target, fs::current_path(ec), ec))
    refuse(dir, "it is the current directory, which cannot be replaced; choose a new or empty directory");
  out.exists = true;
  std::vector<std::string> names;
  std::vector<std::string> foreign;
  for (fs::directory_iterator it(out.target, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    names.push_back(name);
    std::error_code type_ec;
    if (!is_state_file_name(name) || !it->is_regular_file(type_ec) || it->is_symlink(type_ec)) foreign.push_back(name);
  }
  if (ec) refuse(dir, "cannot list it: " + ec.message() + via);
  std::sort(foreign.begin(), foreign.end());
  const std::string advice = "; choose a new or empty directory";
  if (!foreign.empty())
    refuse(dir, "it exists and is not a ufm-sim state directory (it holds '" + foreign.front() + "'" +
                    (foreign.size() > 1 ? " and " + std::to_string(foreign.size() - 1) + " more" : "") + ")" + via +
                    advice);
  if (!names.empty() && std::find(names.begin(), names.end(), "state.json") == names.end()) {
    std::sort(names.begin(), names.end());
    refuse(dir, "it exists and is not a ufm-sim state directory (it holds '" + names.front() +
                    "' but no state.json)" + via + advice);
  }
  if (::access(out.target.c_str(), W_OK | X_OK) != 0)
    refuse(dir, "cannot replace the files in '" + out.target.string() + "': " + errno_message(errno));
  return out;
}

/// A fresh, empty sibling of `target` (mkdir, so nothing existing is reused or followed).
fs::path make_temp_dir(const fs::path& dir, const fs::path& target) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const fs::path tmp = temp_path_for(target);
    if (::mkdir(tmp.c_str(), 0777) == 0) return tmp;
    if (errno != EEXIST) refuse(dir, "cannot create '" + tmp.string() + "': " + errno_message(errno));
  }
  refuse(dir, "no free temporary directory name beside '" + target.string() + "'");
}

/// fsync on a directory: makes the renames into it durable (best effort, as some file systems refuse).
void sync_directory_itself(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

/// Removes a replaced state directory: its state files, then the directory itself. Anything else
/// that appeared in it meanwhile is kept (and reported).
void remove_old_state(const fs::path& dir, const fs::path& old, const fs::path& target) {
  std::error_code ec;
  for (fs::directory_iterator it(old, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (is_state_file_name(it->path().filename().string()) && it->is_regular_file(type_ec) &&
        !it->is_symlink(type_ec))
      ::unlink(it->path().c_str());
  }
  if (::rmdir(old.c_str()) != 0)
    throw IoError("state directory '" + dir.string() + "': the new state is in '" + target.string() +
                  "', but the previous one could not be removed from '" + old.string() + "': " + errno_message(errno));
}

void remove_temp_dir(const fs::path& tmp) {
  std::error_code ignored;
  fs::remove_all(tmp, ignored);
}

/// Puts the finished `tmp` in place of `target`. If that fails, `target` is unchanged and `tmp`
/// removed; once the new state is in place, only the removal of the old one can still fail.
void install(const fs::path& dir, const fs::path& tmp, const fs::path& target, bool exists) {
  auto give_up = [&](const std::string& reason) {
    remove_temp_dir(tmp);
    refuse(dir, reason);
  };
  if (!exists) {
    if (::rename(tmp.c_str(), target.c_str()) != 0)
      give_up("rename from '" + tmp.string() + "' failed: " + errno_message(errno));
    return;
  }
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    remove_old_state(dir, tmp, target);  // tmp now holds the previous state
    return;
  }
  if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
    give_up("exchange with '" + tmp.string() + "' failed: " + errno_message(errno));
  // The file system cannot exchange: old away, new in, old removed.
  const fs::path old = temp_path_for(target);
  if (::rename(target.c_str(), old.c_str()) != 0)
    give_up("cannot move the previous state to '" + old.string() + "': " + errno_message(errno));
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::rename(old.c_str(), target.c_str());
    give_up("rename from '" + tmp.string() + "' failed: " + errno_message(err));
  }
  remove_old_state(dir, old, target);
}

void write_files(const fs::path& out, const ModelState& s) {
  write_npy(out / "H.npy", s.H);
  for (std::size_t l = 0; l < s.hidden.size(); ++l) write_npy(out / ("W" + std::to_string(l + 1) + ".npy"), s.hidden[l]);
  for (std::size_t l = 0; l < s.network.size(); ++l)
    write_npy(out / ("net_W" + std::to_string(l + 1) + ".npy"), s.network[l]);
  write_npy(out / "W.npy", s.W);
  if (s.b.size() != 0) write_npy(out / "b.npy", s.b);
  write_npy(out / "labels.npy", std::span<const int>(s.labels));

  Json j = Json::object();
  j["format"] = kStateFormat;
  if (s.meta.is_object())
    for (const auto& [key, value] : s.meta.items())
      if (key != "format" && key != "shapes") j[key] = value;
  Json shapes = Json::object();
  shapes["H"] = {s.H.rows(), s.H.cols()};
  for (std::size_t l = 0; l < s.hidden.size(); ++l)
    shapes["W" + std::to_string(l + 1)] = {s.hidden[l].rows(), s.hidden[l].cols()};
  for (std::size_t l = 0; l < s.network.size(); ++l)
    shapes["net_W" + std::to_string(l + 1)] = {s.network[l].rows(), s.network[l].cols()};
  shapes["W"] = {s.W.rows(), s.W.cols()};
  shapes["b"] = s.b.size() != 0 ? Json::array({s.b.size()}) : Json(nullptr);
  shapes["labels"] = Json::array({s.labels.size()});
  j["shapes"] = std::move(shapes);
  write_file_atomic(out / "state.json", j.dump(2) + "\n");
  sync_directory_itself(out);
}

/// state.json: a JSON object whose "format" (if any) is kStateFormat.
Json read_state_json(const fs::path& path) {
  std::string text;
  try {
    text = read_whole_file(path, Readable::kRegularFile);
  } catch (const ReadRefused& e) {
    throw IoError(path.string() + ": " + e.what());
  }
  if (json_too_deep(text))
    throw IoError(path.string() + ": " + json_too_deep_reason());
  Json j;
  try {
    j = Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw IoError(path.string() + ": invalid JSON: " + e.what());
  }
  if (!j.is_object()) throw IoError(path.string() + ": expected a JSON object, found " + j.type_name());
  if (j.contains("format") && j["format"] != kStateFormat)
    throw IoError(path.string() + ": format " + j["format"].dump() + " but expected \"" + kStateFormat + "\"");
  if (j.contains("shapes") && !j["shapes"].is_object() && !j["shapes"].is_null())
    throw IoError(path.string() + ": \"shapes\" must be an object, found " + j["shapes"].dump());
  return j;
}

/// The shapes state.json gives, by key ("H", "W1", "b", ...): a list of non-negative integers, or
/// null for "b" when the state has no bias.
class DeclaredShapes {
 public:
  DeclaredShapes() = default;
  DeclaredShapes(const fs::path& json_path, const Json& shapes) : json_path_(json_path) {
    if (!shapes.is_object()) return;
    for (const auto& [key, value] : shapes.items()) {
      if (value.is_null()) {
        null_.push_back(key);
        continue;
      }
      std::vector<std::size_t> shape;
      bool ok = value.is_array();
      if (ok)
        for (const auto& v : value) {
          if (!v.is_number_integer() || v.get<long long>() < 0) ok = false;
          else shape.push_back(v.get<std::size_t>());
        }
      if (!ok)
        throw IoError(json_path.string() + ": shapes." + key + " must be a list of non-negative integers, found " +
                      value.dump());
      shapes_.emplace_back(key, std::move(shape));
    }
  }

  const std::vector<std::size_t>* find(const std::string& key) const {
    for (const auto& [k, shape] : shapes_)
      if (k == key) return &shape;
    return nullptr;
  }
  bool declared_null(const std::string& key) const { return std::find(null_.begin(), null_.end(), key) != null_.end(); }
  /// k of every "<prefix><k>" key.
  std::vector<std::size_t> layer_indices(std::string_view prefix) const {
    std::vector<std::size_t> out;
    for (const auto& [k, shape] : shapes_)
      if (auto i = layer_index(k + ".npy", prefix)) out.push_back(*i);
    return out;
  }

  /// Throws unless the file's shape is the declared one ((n,) and (n, 1) count as the same).
  void check(const std::string& key, const fs::path& file, const NpyArray& a) const {
    const auto* declared = find(key);
    if (declared == nullptr) return;
    auto column = [](const std::vector<std::size_t>& s) {
      return s.size() == 2 && s[1] == 1 ? std::vector<std::size_t>{s[0]} : s;
    };
    if (a.shape == *declared || column(a.shape) == column(*declared)) return;
    throw IoError(file.string() + ": shape " + shape_string(a.shape) + " but " + json_path_.filename().string() +
                  "'s shapes say " + shape_string(*declared));
  }

 private:
  fs::path json_path_;
  std::vector<std::pair<std::string, std::vector<std::size_t>>> shapes_;
  std::vector<std::string> null_;
};

/// Reads `file`, checks it against state.json's shape for `key`, then against the model (rows×cols).
Mat load_parameter(const fs::path& file, const std::string& key, const DeclaredShapes& declared, Index rows,
                   Index cols) {
  const NpyArray a = read_npy(file);
  declared.check(key, file, a);
  return npy_to_matrix(a, file, rows, cols);
}

/// The number of layers of the state in `dir`: 1 + the highest k of a W<k>.npy or a "W<k>" shape.
std::size_t saved_layers(const std::vector<std::size_t>& files, const std::vector<std::size_t>& declared) {
  std::size_t top = 0;
  for (std::size_t k : files) top = std::max(top, k);
  for (std::size_t k : declared) top = std::max(top, k);
  return top + 1;
}

/// How check_layer_count names the files and the option that sets the number of layers.
struct LayerFiles {
  std::string_view prefix;  ///< "W" (deep UFM) or "net_W" (network)
  std::string_view model;   ///< "model" or "network"
  std::string (*use)(std::size_t layers);  ///< the option that gives that many layers
};

const LayerFiles kUfmLayers{"W", "model", [](std::size_t S) { return "--layers " + std::to_string(S); }};
const LayerFiles kNetworkLayers{"net_W", "network", [](std::size_t S) {
                                  return "--widths with " + std::to_string(S - 1) + (S == 2 ? " entry" : " entries");
                                }};

/// <prefix>1.npy … <prefix>{L−1}.npy must be exactly the hidden weights of an L-layer model.
void check_layer_count(const fs::path& dir, std::size_t L, const DeclaredShapes& declared, const LayerFiles& kind) {
  std::vector<std::size_t> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (auto k = layer_index(it->path().filename().string(), kind.prefix)) files.push_back(*k);
  std::sort(files.begin(), files.end());
  const std::vector<std::size_t> listed = declared.layer_indices(kind.prefix);
  const std::size_t S = saved_layers(files, listed);
  const std::string model(kind.model);
  const std::string state_has = "the state is from a " + model + " with " + layers_text(S) + " (use " + kind.use(S) + ")";
  auto name = [&](std::size_t k) { return dir / (std::string(kind.prefix) + std::to_string(k) + ".npy"); };
  for (std::size_t k : files)
    if (k >= L) throw IoError(name(k).string() + ": present, but the " + model + " has " + layers_text(L) + "; " + state_has);
  for (std::size_t k : listed)
    if (k >= L)
      throw IoError(name(k).string() + ": listed in state.json's shapes, but the " + model + " has " + layers_text(L) +
                    "; " + state_has);
  for (std::size_t k = 1; k < L; ++k)
    if (std::find(files.begin(), files.end(), k) == files.end())
      throw IoError(name(k).string() + ": missing, but the " + model + " has " + layers_text(L) + " (hidden weights " +
                    std::string(kind.prefix) + "1.npy … " + std::string(kind.prefix) + std::to_string(L - 1) + ".npy)" +
                    (S < L ? "; " + state_has : std::string()));
}

/// state.json's meta (without "format" and "shapes") and declared shapes, if the file exists.
DeclaredShapes read_meta(const fs::path& dir, ModelState& s) {
  const fs::path meta_path = dir / "state.json";
  std::error_code ec;
  if (!fs::exists(meta_path, ec)) return {};
  Json j = read_state_json(meta_path);
  DeclaredShapes declared;
  if (j.contains("shapes")) declared = DeclaredShapes(meta_path, j["shapes"]);
  j.erase("format");
  j.erase("shapes");
  s.meta = std::move(j);
  return declared;
}

void check_is_directory(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw IoError("state directory '" + abbreviate(dir.string()) + "' does not exist");
  if (!fs::is_directory(dir, ec)) throw IoError("state directory '" + dir.string() + "' is not a directory");
}

/// W.npy (K × d) and b.npy (iff has_bias) into s.
void load_classifier(const fs::path& dir, Index K, Index d, bool has_bias, const DeclaredShapes& declared,
                     ModelState& s) {
  s.W = load_parameter(dir / "W.npy", "W", declared, K, d);
  const fs::path b_path = dir / "b.npy";
  std::error_code ec;
  const bool b_exists = fs::exists(b_path, ec);
  if (has_bias && !b_exists)
    throw IoError(b_path.string() + ": missing, but the model has a bias (K = " + std::to_string(K) + ")");
  if (!has_bias && b_exists)
    throw IoError(b_path.string() + ": present, but the model has no bias (bias mode none); remove it or choose "
                  "a bias mode");
  if (!b_exists && declared.find("b") != nullptr)
    throw IoError(b_path.string() + ": missing, but state.json's shapes list it as " +
                  shape_string(*declared.find("b")));
  if (b_exists && declared.declared_null("b"))
    throw IoError(b_path.string() + ": present, but state.json's shapes say the state has no bias");
  if (has_bias) s.b = load_parameter(b_path, "b", declared, K, 1).col(0);
}

}  // namespace

bool is_state_file_name(const std::string& name) {
  if (name == "H.npy" || name == "W.npy" || name == "b.npy" || name == "labels.npy" || name == "state.json")
    return true;
  const std::string_view digits_from = name.starts_with("net_W") ? std::string_view("net_W") : std::string_view("W");
  if (name.size() < digits_from.size() + 5 || !name.starts_with(digits_from) || !name.ends_with(".npy")) return false;
  for (std::size_t i = digits_from.size(); i + 4 < name.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  return true;
}

void check_state_dir_writable(const fs::path& dir) { (void)place(dir); }

void save_state(const fs::path& dir, const ModelState& s) {
  check_consistent(s);
  const fs::path target = place(dir).target;
  const fs::path tmp = make_temp_dir(dir, target);
  Placement now;
  try {
    write_files(tmp, s);
    // Checked again just before the swap: the directory may have changed while we wrote.
    now = place(dir);
    if (now.target != target) refuse(dir, "it changed while the state was written");
  } catch (...) {
    remove_temp_dir(tmp);
    throw;
  }
  install(dir, tmp, target, now.exists);
  sync_directory_itself(target.parent_path().empty() ? fs::path(".") : target.parent_path());
}

ModelState load_state(const fs::path& dir, Index d, Index N, Index K, bool has_bias) {
  return load_state(dir, std::vector<Index>{d}, N, K, has_bias);
}

ModelState load_state(const fs::path& dir, const std::vector<Index>& dims, Index N, Index K, bool has_bias) {
  check_is_directory(dir);
  ModelState s;
  const DeclaredShapes declared = read_meta(dir, s);
  check_layer_count(dir, dims.size(), declared, kUfmLayers);

  s.H = load_parameter(dir / "H.npy", "H", declared, dims.front(), N);
  for (std::size_t l = 1; l < dims.size(); ++l)
    s.hidden.push_back(load_parameter(dir / ("W" + std::to_string(l) + ".npy"), "W" + std::to_string(l), declared,
                                      dims[l], dims[l - 1]));
  load_classifier(dir, K, dims.back(), has_bias, declared, s);
  const fs::path labels_path = dir / "labels.npy";
  const NpyArray labels = read_npy(labels_path);
  declared.check("labels", labels_path, labels);
  s.labels = npy_to_labels(labels, labels_path, N, K);
  return s;
}

ModelState load_network_state(const fs::path& dir, const std::vector<Index>& dims, Index K, bool has_bias) {
  check_is_directory(dir);
  ModelState s;
  const DeclaredShapes declared = read_meta(dir, s);
  check_layer_count(dir, dims.size(), declared, kNetworkLayers);
  for (std::size_t l = 1; l < dims.size(); ++l) {
    const std::string key = "net_W" + std::to_string(l);
    s.network.push_back(load_parameter(dir / (key + ".npy"), key, declared, dims[l], dims[l - 1]));
  }
  load_classifier(dir, K, dims.back(), has_bias, declared, s);
  return s;
}

void save_matrix(const fs::path& dir, const std::string& name, const Mat& m) {
  ensure_directory(dir);
  write_npy(dir / (name + ".npy"), m);
}

Mat load_matrix(const fs::path& dir, const std::string& name, Index rows, Index cols) {
  return read_npy_matrix(dir / (name + ".npy"), rows, cols);
}

}  // namespace ufm::io
