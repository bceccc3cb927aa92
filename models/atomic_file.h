#pragma once

#include <string>

namespace isimdl {

// Writes `bytes` to `path` through a temporary file renamed into place, so
// that a killed run never leaves a half-written file. Throws Error.
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace isimdl
