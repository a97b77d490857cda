#pragma once
/// The standard descriptors: held open when the program starts with one closed, and the documents
/// the commands write to stdout checked like any output file.
#include <string>
#include <string_view>

namespace ufm {

/// Opens /dev/null read-only on each of descriptors 0, 1 and 2 that is closed (`ufm-sim >&-`), so
/// that no file the program opens takes that number: an output file opened as descriptor 2 would
/// receive every message written to stderr. Called first in main. A write to a descriptor held so
/// fails, as it did while it was closed, and write_stdout reports it.
void hold_closed_standard_descriptors();

/// true when descriptor 1 was closed when hold_closed_standard_descriptors ran.
bool stdout_was_closed();

/// Writes text to stdout whole, after what std::cout and C's stdout hold. Throws io::IoError
/// ("stdout: cannot write (…)") when it cannot: a full disk under `> file`, a closed stdout. Such
/// an output is lost, so the command exits 5 (exit_status.hpp) rather than 0.
void write_stdout(std::string_view text);

/// A command's document: to stdout when path is empty (write_stdout), else to the file at path
/// (io::write_file_atomic). Throws io::IoError, prefixed by `option` ("--out: …") for the file.
void write_document(const std::string& path, std::string_view text, const std::string& option);

}  // namespace ufm
