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

std::string read_regular_file(const std::string& path, std::uintmax_t max_bytes, const std::string& what) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) throw Error(fmt::format("{}: cannot open {}: no such file", path, what));
  if (std::filesystem::is_directory(status)) throw Error(fmt::format("{}: is a directory, not {}", path, what));
  if (!std::filesystem::is_regular_file(status)) throw Error(fmt::format("{}: is not a regular file, not {}", path, what));
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw Error(fmt::format("{}: cannot read {}: {}", path, what, ec.message()));
  if (size > max_bytes) throw Error(fmt::format("{}: {} bytes is too large for {} (at most {})", path, size, what, max_bytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open {}", path, what));
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<std::uintmax_t>(in.gcount()) != size) throw Error(fmt::format("{}: short read of {}", path, what));
  return bytes;
}

}  // namespace isimdl
