#include "ufm/app/standard_streams.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "ufm/io/atomic_file.hpp"

namespace ufm {
namespace {

bool stdout_closed_at_start = false;

}  // namespace

void hold_closed_standard_descriptors() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    if (fd == 1) stdout_closed_at_start = true;
    // open returns the lowest free descriptor: fd itself, as every one below it is open by now.
    const int held = ::open("/dev/null", O_RDONLY);
    if (held >= 0 && held != fd) ::close(held);  // cannot happen; never leave a stray descriptor
  }
}

bool stdout_was_closed() { return stdout_closed_at_start; }

void write_stdout(std::string_view text) {
  std::cout.flush();
  std::fflush(stdout);
  const auto fail = [](const std::string& why) { throw io::IoError("stdout: cannot write (" + why + ")"); };
  if (stdout_closed_at_start) fail("it was closed when ufm-sim started; give --out FILE");
  while (!text.empty()) {
    const ssize_t n = ::write(1, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(std::strerror(errno));
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

void write_document(const std::string& path, std::string_view text, const std::string& option) {
  if (path.empty()) return write_stdout(text);
  try {
    io::write_file_atomic(path, text);
  } catch (const io::IoError& e) {
    throw io::IoError(option + ": " + e.what());
  }
}

}  // namespace ufm
