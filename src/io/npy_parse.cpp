/// Reading .npy files: header parsing, dtype decoding, size checks.
#include "ufm/io/npy.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>

#include "ufm/io/detail/npy_format.hpp"
#include "ufm/io/whole_file.hpp"

namespace ufm::io {
namespace fs = std::filesystem;

namespace {

using detail::fail_npy;
using detail::kNpyMagic;

template <class U>
U load_le(const unsigned char* p) {
  U v = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) v |= static_cast<U>(p[i]) << (8 * i);
  return v;
}

/// Recursive-descent reader of the header's Python dict literal.
class HeaderParser {
 public:
  HeaderParser(const fs::path& path, std::string_view text) : path_(path), s_(text) {}

  void parse(NpyArray& a) {
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (!consume('}')) {
      const std::string key = parse_string();
      expect(':');
      if (key == "descr") {
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == '[') fail_npy(path_, "structured dtypes are not supported");
        a.dtype = parse_string();
        have_descr = true;
      } else if (key == "fortran_order") {
        a.fortran_order = parse_bool();
        have_order = true;
      } else if (key == "shape") {
        a.shape = parse_shape();
        have_shape = true;
      } else {
        error("unexpected key '" + key + "'");
      }
      if (!consume(',')) {
        expect('}');
        break;
      }
    }
    skip_ws();
    if (pos_ != s_.size()) error("text after the closing '}'");
    if (!have_descr || !have_order || !have_shape) error("needs the keys 'descr', 'fortran_order' and 'shape'");
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    fail_npy(path_, "malformed header (" + what + " at offset " + std::to_string(pos_) + "): " + std::string(s_));
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) ++pos_;
  }
  bool consume(char c) {
    skip_ws();
    if (pos_ >= s_.size() || s_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!consume(c)) error(std::string("expected '") + c + "'");
  }
  bool consume_word(std::string_view w) {
    skip_ws();
    if (s_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }
  std::string parse_string() {
    skip_ws();
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) error("expected a string");
    const char quote = s_[pos_++];
    const std::size_t end = s_.find(quote, pos_);
    if (end == std::string_view::npos) error("unterminated string");
    std::string out(s_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return out;
  }
  bool parse_bool() {
    if (consume_word("True")) return true;
    if (consume_word("False")) return false;
    error("expected True or False");
  }
  std::vector<std::size_t> parse_shape() {
    std::vector<std::size_t> shape;
    expect('(');
    while (!consume(')')) {
      skip_ws();
      std::size_t v = 0, digits = 0;
      for (; pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9'; ++pos_, ++digits) {
        if (v > (std::numeric_limits<std::size_t>::max() - 9) / 10) error("dimension too large");
        v = v * 10 + static_cast<std::size_t>(s_[pos_] - '0');
      }
      if (digits == 0) error("expected a non-negative integer dimension");
      if (pos_ < s_.size() && s_[pos_] == 'L') ++pos_;  // Python 2 long literal
      shape.push_back(v);
      if (!consume(',')) {
        expect(')');
        break;
      }
    }
    return shape;
  }

  const fs::path& path_;
  std::string_view s_;
  std::size_t pos_ = 0;
};

/// The file's bytes: an array is read from a regular file only (a pipe of a state directory would wait
/// for a writer; whole_file.hpp).
std::string read_array_file(const fs::path& path) {
  try {
    return read_whole_file(path, Readable::kRegularFile);
  } catch (const ReadRefused& e) {
    fail_npy(path, e.what());
  }
}

/// Bytes per element of a supported dtype; throws IoError naming the file for any other.
std::size_t checked_item_size(const fs::path& path, const std::string& d) {
  const char order = d.empty() ? '?' : d[0];
  if (order == '>') fail_npy(path, "big-endian dtype '" + d + "' is not supported (save with '<' byte order)");
  if (d.find('O') != std::string::npos) fail_npy(path, "object dtype '" + d + "' is not supported (pickled data)");
  static constexpr std::array<std::string_view, 11> kSupported{"f8", "f4", "i8", "i4", "i2", "i1",
                                                               "u8", "u4", "u2", "u1", "b1"};
  const std::string_view ks = d.size() == 3 ? std::string_view(d).substr(1) : std::string_view();
  const bool known = std::find(kSupported.begin(), kSupported.end(), ks) != kSupported.end();
  if (!known || (order != '<' && order != '|' && order != '='))
    fail_npy(path, "unsupported dtype '" + d + "' (supported: <f8 <f4 <i8 <i4 <i2 |i1 <u8 <u4 <u2 |u1 |b1)");
  return static_cast<std::size_t>(ks[1] - '0');
}

/// Decodes `count` elements of the (checked) a.dtype into a.data_f64 or a.data_i64.
void decode(const fs::path& path, const unsigned char* p, std::size_t count, NpyArray& a) {
  const std::string_view ks = std::string_view(a.dtype).substr(1);
  auto each_f = [&](auto load, std::size_t size) {
    a.data_f64.resize(count);
    for (std::size_t i = 0; i < count; ++i) a.data_f64[i] = static_cast<double>(load(p + i * size));
  };
  auto each_i = [&](auto load, std::size_t size) {
    a.data_i64.resize(count);
    for (std::size_t i = 0; i < count; ++i) a.data_i64[i] = static_cast<long long>(load(p + i * size));
  };
  if (ks == "f8") each_f([](auto q) { return std::bit_cast<double>(load_le<std::uint64_t>(q)); }, 8);
  else if (ks == "f4") each_f([](auto q) { return std::bit_cast<float>(load_le<std::uint32_t>(q)); }, 4);
  else if (ks == "i8") each_i([](auto q) { return static_cast<std::int64_t>(load_le<std::uint64_t>(q)); }, 8);
  else if (ks == "i4") each_i([](auto q) { return static_cast<std::int32_t>(load_le<std::uint32_t>(q)); }, 4);
  else if (ks == "i2") each_i([](auto q) { return static_cast<std::int16_t>(load_le<std::uint16_t>(q)); }, 2);
  else if (ks == "i1") each_i([](auto q) { return static_cast<std::int8_t>(q[0]); }, 1);
  else if (ks == "u4") each_i([](auto q) { return load_le<std::uint32_t>(q); }, 4);
  else if (ks == "u2") each_i([](auto q) { return load_le<std::uint16_t>(q); }, 2);
  else if (ks == "u1" || ks == "b1") each_i([](auto q) { return q[0]; }, 1);
  else  // u8
    each_i([&](auto q) {
      const std::uint64_t v = load_le<std::uint64_t>(q);
      if (v > static_cast<std::uint64_t>(std::numeric_limits<long long>::max()))
        fail_npy(path, "uint64 value too large");
      return v;
    }, 8);
}

}  // namespace

NpyArray read_npy(const fs::path& path) { return parse_npy(read_array_file(path), path); }

NpyArray parse_npy(std::string_view bytes, const fs::path& path) {
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 10 || bytes.substr(0, 6) != kNpyMagic)
    fail_npy(path, "not a .npy file (bad magic; expected \\x93NUMPY)");
  const int major = u[6];
  if (major < 1 || major > 3)
    fail_npy(path, "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(u[7]));
  const std::size_t preamble = major == 1 ? 10 : 12;
  if (bytes.size() < preamble) fail_npy(path, "truncated header");
  const std::size_t header_len = major == 1 ? load_le<std::uint16_t>(u + 8) : load_le<std::uint32_t>(u + 8);
  if (bytes.size() - preamble < header_len)
    fail_npy(path, "truncated header (" + std::to_string(header_len) + " bytes declared, " +
                   std::to_string(bytes.size() - preamble) + " present)");
  NpyArray a;
  HeaderParser(path, bytes.substr(preamble, header_len)).parse(a);

  const std::size_t item = checked_item_size(path, a.dtype);
  const std::size_t available = bytes.size() - preamble - header_len;
  std::size_t count = 1;
  for (std::size_t s : a.shape) {
    if (s != 0 && count > available / s) count = available + 1;  // cannot fit: reported below
    else count *= s;
  }
  const std::size_t needed = count > available ? std::numeric_limits<std::size_t>::max() : count * item;
  if (needed > available)
    fail_npy(path, "truncated data: shape " + shape_string(a.shape) + " of '" + a.dtype + "' needs " +
                   (count > available ? "more bytes than the " + std::to_string(available) + " present"
                                      : std::to_string(needed) + " bytes but only " + std::to_string(available) +
                                            " are present"));
  if (needed < available)
    fail_npy(path, std::to_string(available - needed) + " unexpected bytes after the data of shape " +
                   shape_string(a.shape));
  decode(path, u + preamble + header_len, count, a);
  return a;
}

}  // namespace ufm::io
