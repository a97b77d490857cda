#pragma once
/// The checks every command that writes --out and --save-state makes before its run.
#include <string>

namespace ufm {

/// --out and --save-state before the run, creating nothing: the state directory must be creatable
/// or replaceable (io::check_state_dir_writable), and --out must be neither that directory nor
/// inside it (saving replaces the directory as a whole). Empty strings: not given. Throws
/// ConfigError or io::IoError. (--out itself is checked by the TrajectoryWriter that opens it.)
void check_output_paths(const std::string& out, const std::string& save_state_dir);

}  // namespace ufm
