#pragma once
/// NumPy .npy files (format 1.0 written; 1.0, 2.0 and 3.0 read).
///
/// Layout: magic "\x93NUMPY", major and minor version bytes, header length (little-endian uint16
/// in 1.0, uint32 in 2.0/3.0), then a Python dict literal such as
///   {'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }
/// padded with spaces and ended by '\n' so that the data starts at a multiple of 64 bytes.
///
/// Errors throw ufm::io::IoError whose message starts with the file's path, e.g.
///   "run/W.npy: shape (3, 5) but expected (4, 16)".
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ufm/io/atomic_file.hpp"
#include "ufm/linalg.hpp"

namespace ufm::io {

/// Writes m (rows×cols) as '<f8' with fortran_order True: Eigen's column-major data as is.
void write_npy(const std::filesystem::path& path, const Mat& m);
/// Writes v as '<f8', shape (n,).
void write_npy(const std::filesystem::path& path, const Vec& v);
/// Writes class labels as '<i8', shape (n,).
void write_npy(const std::filesystem::path& path, std::span<const int> labels);

/// A parsed .npy file: data_f64 (float dtypes) or data_i64 (integer dtypes) holds the prod(shape)
/// values in file order (row-major unless fortran_order); the other vector is empty.
struct NpyArray {
  std::vector<std::size_t> shape;
  bool fortran_order = false;
  std::string dtype;                 ///< descr as in the file, e.g. "<f4"
  std::vector<double> data_f64;      ///< float dtypes: '<f8' '<f4'
  std::vector<long long> data_i64;   ///< integer dtypes: '<i8' '<i4' '<i2' '|i1' '<u8' '<u4' '<u2' '|u1' '|b1'

  bool is_integer() const;           ///< dtype kind is i, u or b (data in data_i64)
  std::size_t size() const;          ///< prod(shape); 1 for shape ()
};

/// Reads any supported .npy file. Rejects bad magic, unknown versions, malformed headers,
/// big-endian / object / structured / unsupported dtypes, truncated data and trailing bytes.
NpyArray read_npy(const std::filesystem::path& path);

/// The same for the bytes of a whole .npy file held in memory; `name` is used in error messages.
NpyArray parse_npy(std::string_view bytes, const std::filesystem::path& name);

/// "(3, 5)", "(7,)", "()": a shape as NumPy prints it.
std::string shape_string(std::span<const std::size_t> shape);

/// Reads a rows×cols matrix; C- and Fortran-order files give the same matrix. When cols == 1 a 1-D
/// array of length rows is accepted too. Integer and '<f4' dtypes are converted to double (exactly).
/// A NaN or ±Inf anywhere is an IoError naming the file and the first bad index in file order, e.g.
///   "s/H.npy: non-finite value nan at index (2, 0) (parameters must be finite)", (2, 0) as NumPy indexes it.
Mat read_npy_matrix(const std::filesystem::path& path, Index rows, Index cols);

/// Reads a vector of length n: shape (n,) or (n, 1); finite values only, as read_npy_matrix.
Vec read_npy_vector(const std::filesystem::path& path, Index n);

/// Reads n class labels: an integer dtype, shape (n,) or (n, 1), every value in [0, K).
std::vector<int> read_npy_labels(const std::filesystem::path& path, Index n, Index K);

/// What read_npy_matrix / read_npy_vector / read_npy_labels do after read_npy, for an array already
/// read (`path` names it in errors).
Mat npy_to_matrix(const NpyArray& a, const std::filesystem::path& path, Index rows, Index cols);
Vec npy_to_vector(const NpyArray& a, const std::filesystem::path& path, Index n);
std::vector<int> npy_to_labels(const NpyArray& a, const std::filesystem::path& path, Index n, Index K);

/// Throws IoError "<path>: non-finite value <v> at index (i, j)" for the first NaN or ±Inf of a
/// float array, in file order; integer arrays always pass.
void check_finite(const NpyArray& a, const std::filesystem::path& path);

/// The NumPy index (i, j, …) of the k-th value in file order (C or Fortran order as the file says).
std::vector<std::size_t> npy_index(const NpyArray& a, std::size_t k);

}  // namespace ufm::io
