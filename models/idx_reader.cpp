#include "models/idx_reader.h"

#include <fmt/format.h>
#include <zlib.h>

#include <fstream>

#include "models/error.h"

namespace isimdl {
namespace {

// gzread reads plain files transparently, so one path serves both.
std::vector<std::uint8_t> read_whole_file(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw FormatError(fmt::format("{}: cannot open file", path));
  std::vector<std::uint8_t> bytes;
  std::uint8_t chunk[1 << 16];
  for (;;) {
    const int got = gzread(file, chunk, sizeof chunk);
    if (got < 0) {
      int code = 0;
      const std::string why = gzerror(file, &code);
      gzclose(file);
      throw FormatError(fmt::format("{}: read error: {}", path, why));
    }
    if (got == 0) break;
    bytes.insert(bytes.end(), chunk, chunk + got);
  }
  // A gzip stream cut short reads without error but gzclose reports it.
  if (gzclose(file) != Z_OK) throw FormatError(fmt::format("{}: truncated or corrupt gzip stream", path));
  return bytes;
}

std::uint32_t big_endian_u32(const std::vector<std::uint8_t>& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) | (std::uint32_t{b[at + 2]} << 8) |
         std::uint32_t{b[at + 3]};
}

// Checks the header of an IDX file holding unsigned bytes in `dims`
// dimensions and returns the sizes; the payload must fill the file exactly.
std::vector<std::uint32_t> check_header(const std::string& path, const std::vector<std::uint8_t>& bytes, int dims) {
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(dims);
  if (bytes.size() < header)
    throw FormatError(fmt::format("{}: truncated IDX header ({} bytes, need {})", path, bytes.size(), header));
  const std::uint32_t magic = big_endian_u32(bytes, 0);
  const std::uint32_t expected = 0x0800u | static_cast<std::uint32_t>(dims);
  if (magic != expected)
    throw FormatError(fmt::format("{}: wrong IDX magic number 0x{:08x}, expected 0x{:08x} ({} of unsigned bytes)", path,
                                  magic, expected, dims == 1 ? "labels" : "images"));
  std::vector<std::uint32_t> sizes;
  std::size_t payload = 1;
  for (int d = 0; d < dims; ++d) {
    sizes.push_back(big_endian_u32(bytes, 4 + 4 * static_cast<std::size_t>(d)));
    payload *= sizes.back();
  }
  if (bytes.size() != header + payload)
    throw FormatError(fmt::format("{}: size mismatch: header promises {} bytes of data, file holds {}{}", path, payload,
                                  bytes.size() - header, bytes.size() < header + payload ? " (truncated)" : ""));
  return sizes;
}

}  // namespace

IdxImages read_idx_images(const std::string& path) {
  std::vector<std::uint8_t> bytes = read_whole_file(path);
  const auto sizes = check_header(path, bytes, 3);
  if (sizes[1] == 0 || sizes[2] == 0 || sizes[1] > 4096 || sizes[2] > 4096)
    throw FormatError(fmt::format("{}: implausible image size {}x{}", path, sizes[1], sizes[2]));
  IdxImages images;
  images.count = static_cast<int>(sizes[0]);
  images.rows = static_cast<int>(sizes[1]);
  images.cols = static_cast<int>(sizes[2]);
  images.pixels.assign(bytes.begin() + 16, bytes.end());
  return images;
}

std::vector<std::uint8_t> read_idx_labels(const std::string& path) {
  std::vector<std::uint8_t> bytes = read_whole_file(path);
  check_header(path, bytes, 1);
  std::vector<std::uint8_t> labels(bytes.begin() + 8, bytes.end());
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] > 9) throw FormatError(fmt::format("{}: label {} is {}, expected 0..9", path, i, labels[i]));
  return labels;
}

MnistSplit load_mnist(const std::string& dir, const std::string& prefix) {
  auto pick = [&](const std::string& stem) {
    const std::string plain = dir + "/" + stem;
    if (std::ifstream(plain).good()) return plain;
    if (std::ifstream(plain + ".gz").good()) return plain + ".gz";
    throw FormatError(fmt::format("{}: MNIST file not found (nor {}.gz); run scripts/setup to fetch MNIST", plain, plain));
  };
  const std::string images_path = pick(prefix + "-images-idx3-ubyte");
  const std::string labels_path = pick(prefix + "-labels-idx1-ubyte");
  MnistSplit split{read_idx_images(images_path), read_idx_labels(labels_path)};
  if (split.images.count != static_cast<int>(split.labels.size()))
    throw FormatError(fmt::format("{}: {} images but {} has {} labels", images_path, split.images.count, labels_path,
                                  split.labels.size()));
  return split;
}

}  // namespace isimdl
