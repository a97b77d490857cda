#include "ufm/io/npy.hpp"

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

#include "ufm/io/detail/npy_format.hpp"

namespace ufm::io {
namespace fs = std::filesystem;

namespace {

using detail::fail_npy;
using detail::kNpyMagic;

constexpr std::size_t kAlign = 64;

template <class U>
void store_le(std::string& out, U v) {
  for (std::size_t i = 0; i < sizeof(U); ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string make_header(std::string_view descr, bool fortran_order, std::span<const std::size_t> shape) {
  std::string dict = "{'descr': '" + std::string(descr) + "', 'fortran_order': " + (fortran_order ? "True" : "False") +
                     ", 'shape': " + shape_string(shape) + ", }";
  const std::size_t unpadded = kNpyMagic.size() + 4 + dict.size() + 1;
  dict.append((kAlign - unpadded % kAlign) % kAlign, ' ');
  dict.push_back('\n');
  std::string out(kNpyMagic);
  out.push_back('\x01');
  out.push_back('\x00');
  store_le<std::uint16_t>(out, static_cast<std::uint16_t>(dict.size()));  // < 65536: shapes here are short
  return out + dict;
}

/// Header, then `count` doubles from `data`, written atomically.
void write_f64(const fs::path& path, const double* data, std::size_t count, bool fortran_order,
               std::span<const std::size_t> shape) {
  const std::string header = make_header("<f8", fortran_order, shape);
  std::string converted;
  std::string_view body;
  if constexpr (std::endian::native == std::endian::little) {
    body = std::string_view(reinterpret_cast<const char*>(data), count * sizeof(double));
  } else {
    for (std::size_t i = 0; i < count; ++i) store_le(converted, std::bit_cast<std::uint64_t>(data[i]));
    body = converted;
  }
  const std::array<std::string_view, 2> parts{header, body};
  write_file_atomic(path, parts);
}

/// Throws unless a.shape is one of `accepted`; `expected` is how the error names them.
void check_shape(const fs::path& path, const NpyArray& a, std::initializer_list<std::vector<std::size_t>> accepted,
                 const std::string& expected) {
  for (const auto& s : accepted)
    if (a.shape == s) return;
  fail_npy(path, "shape " + shape_string(a.shape) + " but expected " + expected);
}

double value_as_double(const NpyArray& a, std::size_t k) {
  return a.data_f64.empty() ? static_cast<double>(a.data_i64[k]) : a.data_f64[k];
}

std::vector<std::size_t> dims(std::initializer_list<Index> v) { return {v.begin(), v.end()}; }

}  // namespace

bool NpyArray::is_integer() const {
  return dtype.size() > 1 && (dtype[1] == 'i' || dtype[1] == 'u' || dtype[1] == 'b');
}

std::size_t NpyArray::size() const {
  std::size_t n = 1;
  for (std::size_t s : shape) n *= s;
  return n;
}

std::string shape_string(std::span<const std::size_t> shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + (shape.size() == 1 ? ",)" : ")");
}

void write_npy(const fs::path& path, const Mat& m) {
  const std::array<std::size_t, 2> shape{static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols())};
  write_f64(path, m.data(), static_cast<std::size_t>(m.size()), true, shape);
}

void write_npy(const fs::path& path, const Vec& v) {
  const std::array<std::size_t, 1> shape{static_cast<std::size_t>(v.size())};
  write_f64(path, v.data(), shape[0], false, shape);
}

void write_npy(const fs::path& path, std::span<const int> labels) {
  const std::array<std::size_t, 1> shape{labels.size()};
  std::string bytes = make_header("<i8", false, shape);
  bytes.reserve(bytes.size() + 8 * labels.size());
  for (int y : labels) store_le(bytes, static_cast<std::uint64_t>(static_cast<std::int64_t>(y)));
  write_file_atomic(path, bytes);
}

std::vector<std::size_t> npy_index(const NpyArray& a, std::size_t k) {
  std::vector<std::size_t> index(a.shape.size());
  if (a.fortran_order) {
    for (std::size_t axis = 0; axis < a.shape.size(); ++axis) {
      const std::size_t n = a.shape[axis] == 0 ? 1 : a.shape[axis];
      index[axis] = k % n;
      k /= n;
    }
  } else {
    for (std::size_t axis = a.shape.size(); axis-- > 0;) {
      const std::size_t n = a.shape[axis] == 0 ? 1 : a.shape[axis];
      index[axis] = k % n;
      k /= n;
    }
  }
  return index;
}

void check_finite(const NpyArray& a, const fs::path& path) {
  for (std::size_t k = 0; k < a.data_f64.size(); ++k) {
    const double v = a.data_f64[k];
    if (std::isfinite(v)) continue;
    const std::string value = std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
    fail_npy(path, "non-finite value " + value + " at index " + shape_string(npy_index(a, k)) +
                   " (parameters must be finite)");
  }
}

Mat npy_to_matrix(const NpyArray& a, const fs::path& path, Index rows, Index cols) {
  if (cols == 1)
    check_shape(path, a, {dims({rows, 1}), dims({rows})}, shape_string(dims({rows, 1})) + " or " +
                                                               shape_string(dims({rows})));
  else
    check_shape(path, a, {dims({rows, cols})}, shape_string(dims({rows, cols})));
  check_finite(a, path);
  Mat m(rows, cols);
  const bool column_major = a.fortran_order || a.shape.size() == 1;
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i)
      m(i, j) = value_as_double(a, static_cast<std::size_t>(column_major ? i + j * rows : i * cols + j));
  return m;
}

Vec npy_to_vector(const NpyArray& a, const fs::path& path, Index n) { return npy_to_matrix(a, path, n, 1).col(0); }

std::vector<int> npy_to_labels(const NpyArray& a, const fs::path& path, Index n, Index K) {
  if (!a.is_integer()) fail_npy(path, "dtype '" + a.dtype + "' is not an integer type; labels need one");
  check_shape(path, a, {dims({n}), dims({n, 1})}, shape_string(dims({n})));
  std::vector<int> labels(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const long long y = a.data_i64[i];
    if (y < 0 || y >= K)
      fail_npy(path, "label " + std::to_string(y) + " at index " + std::to_string(i) + " is outside [0, " +
                     std::to_string(K) + ")");
    labels[i] = static_cast<int>(y);
  }
  return labels;
}

Mat read_npy_matrix(const fs::path& path, Index rows, Index cols) { return npy_to_matrix(read_npy(path), path, rows, cols); }

Vec read_npy_vector(const fs::path& path, Index n) { return npy_to_vector(read_npy(path), path, n); }

std::vector<int> read_npy_labels(const fs::path& path, Index n, Index K) {
  return npy_to_labels(read_npy(path), path, n, K);
}

}  // namespace ufm::io
