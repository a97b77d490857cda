#include "ufm/app/output_paths.hpp"

#include <algorithm>
#include <filesystem>

#include "ufm/config/config_error.hpp"
#include "ufm/io/state_dir.hpp"

namespace ufm {

void check_output_paths(const std::string& out, const std::string& dir) {
  namespace fs = std::filesystem;
  if (dir.empty()) return;
  if (!out.empty()) {
    std::error_code ec;
    auto resolved = [&ec](const std::string& p) {  // absolute, symlinks resolved, no trailing separator
      fs::path r = fs::weakly_canonical(fs::absolute(p), ec);
      return r.has_filename() ? r : r.parent_path();
    };
    const fs::path out_path = resolved(out), dir_path = resolved(dir);
    const auto [d_end, o_it] = std::mismatch(dir_path.begin(), dir_path.end(), out_path.begin(), out_path.end());
    if (d_end == dir_path.end())  // out is dir or lies inside it
      throw ConfigError("--out", out,
                        "a path outside the --save-state directory '" + abbreviate(dir) + "'");
  }
  io::check_state_dir_writable(dir);
}

}  // namespace ufm
