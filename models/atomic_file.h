#pragma once

#include <cstdint>
#include <string>

namespace isimdl {

// Writes `bytes` to `path` through a temporary file renamed into place, so
// that a killed run never leaves a half-written file. Throws Error.
void write_file_atomically(const std::string& path, const std::string& bytes);

// Reads a whole regular file of at most `max_bytes`. Throws Error naming the
// file and `what` it should be for a missing file, a directory, a device or
// pipe (/dev/zero would never end), or a file that is too large.
std::string read_regular_file(const std::string& path, std::uintmax_t max_bytes, const std::string& what);

}  // namespace isimdl
