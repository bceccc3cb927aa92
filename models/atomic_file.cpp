#include "models/atomic_file.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "models/error.h"

namespace isimdl {

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  // A missing directory is made; one that cannot be made is an error naming it.
  if (const auto parent = std::filesystem::path(path).parent_path(); !parent.empty()) {
    std::error_code made;
    std::filesystem::create_directories(parent, made);
    if (made) throw Error(fmt::format("{}: cannot create directory: {}", parent.string(), made.message()));
  }
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw Error(fmt::format("{}: cannot write", tmp));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw Error(fmt::format("{}: write failed", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw Error(fmt::format("{}: cannot rename into place: {}", path, ec.message()));
}

}  // namespace isimdl
