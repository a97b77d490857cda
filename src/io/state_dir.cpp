#include "ufm/io/state_dir.hpp"

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

#include "ufm/io/npy.hpp"

namespace ufm::io {
namespace fs = std::filesystem;

namespace {

void ensure_directory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir))
    throw IoError("cannot create state directory '" + dir.string() + "': " +
                  (ec ? ec.message() : std::string("a file of that name exists")));
}

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

nlohmann::ordered_json read_meta(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path.string() + ": cannot open for reading");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw IoError(path.string() + ": invalid JSON: " + e.what());
  }
  if (!j.is_object()) throw IoError(path.string() + ": expected a JSON object, found " + j.type_name());
  if (j.contains("format") && j["format"] != kStateFormat)
    throw IoError(path.string() + ": format " + j["format"].dump() + " but expected \"" + kStateFormat + "\"");
  j.erase("format");
  j.erase("shapes");
  return j;
}

}  // namespace

void save_state(const fs::path& dir, const ModelState& s) {
  check_consistent(s);
  ensure_directory(dir);
  write_npy(dir / "H.npy", s.H);
  for (std::size_t l = 0; l < s.hidden.size(); ++l) write_npy(dir / ("W" + std::to_string(l + 1) + ".npy"), s.hidden[l]);
  write_npy(dir / "W.npy", s.W);
  const fs::path b_path = dir / "b.npy";
  if (s.b.size() != 0) {
    write_npy(b_path, s.b);
  } else {
    std::error_code ec;
    fs::remove(b_path, ec);
    if (ec) throw IoError(b_path.string() + ": cannot remove the stale bias file: " + ec.message());
  }
  write_npy(dir / "labels.npy", std::span<const int>(s.labels));

  using Json = nlohmann::ordered_json;
  Json j = Json::object();
  j["format"] = kStateFormat;
  if (s.meta.is_object())
    for (const auto& [key, value] : s.meta.items())
      if (key != "format" && key != "shapes") j[key] = value;
  Json shapes = Json::object();
  shapes["H"] = {s.H.rows(), s.H.cols()};
  for (std::size_t l = 0; l < s.hidden.size(); ++l)
    shapes["W" + std::to_string(l + 1)] = {s.hidden[l].rows(), s.hidden[l].cols()};
  shapes["W"] = {s.W.rows(), s.W.cols()};
  shapes["b"] = s.b.size() != 0 ? Json::array({s.b.size()}) : Json(nullptr);
  shapes["labels"] = Json::array({s.labels.size()});
  j["shapes"] = std::move(shapes);
  write_file_atomic(dir / "state.json", j.dump(2) + "\n");
}

ModelState load_state(const fs::path& dir, Index d, Index N, Index K, bool has_bias) {
  return load_state(dir, std::vector<Index>{d}, N, K, has_bias);
}

ModelState load_state(const fs::path& dir, const std::vector<Index>& dims, Index N, Index K, bool has_bias) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw IoError("state directory '" + dir.string() + "' does not exist");
  if (!fs::is_directory(dir, ec)) throw IoError("state directory '" + dir.string() + "' is not a directory");

  ModelState s;
  s.H = read_npy_matrix(dir / "H.npy", dims.front(), N);
  for (std::size_t l = 1; l < dims.size(); ++l)
    s.hidden.push_back(read_npy_matrix(dir / ("W" + std::to_string(l) + ".npy"), dims[l], dims[l - 1]));
  s.W = read_npy_matrix(dir / "W.npy", K, dims.back());
  const fs::path b_path = dir / "b.npy";
  const bool b_exists = fs::exists(b_path, ec);
  if (has_bias && !b_exists)
    throw IoError(b_path.string() + ": missing, but the model has a bias (K = " + std::to_string(K) + ")");
  if (!has_bias && b_exists)
    throw IoError(b_path.string() + ": present, but the model has no bias (bias mode none); remove it or choose "
                  "a bias mode");
  if (has_bias) s.b = read_npy_vector(b_path, K);
  s.labels = read_npy_labels(dir / "labels.npy", N, K);
  const fs::path meta_path = dir / "state.json";
  if (fs::exists(meta_path, ec)) s.meta = read_meta(meta_path);
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
