#pragma once
/// What npy.cpp (writing) and npy_parse.cpp (reading) share: the format's magic bytes and the error
/// every failure throws.
#include <filesystem>
#include <string>
#include <string_view>

#include "ufm/io/atomic_file.hpp"

namespace ufm::io::detail {

/// The first six bytes of every .npy file.
inline constexpr std::string_view kNpyMagic("\x93NUMPY", 6);

/// Throws IoError "<path>: <what>", the message every .npy error has.
[[noreturn]] inline void fail_npy(const std::filesystem::path& path, const std::string& what) {
  throw IoError(path.string() + ": " + what);
}

}  // namespace ufm::io::detail
