#include "models/idx_reader.h"

#include <fmt/format.h>
#include <zlib.h>

#include <cmath>
#include <fstream>

#include "models/error.h"
#include "models/npy.h"

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

void IdxImages::input(int i, float* out) const {
  const std::size_t n = image_size(), plane = static_cast<std::size_t>(rows) * cols;
  const std::size_t first = static_cast<std::size_t>(i) * n;
  for (std::size_t e = 0; e < n; ++e) {
    const std::size_t c = e / plane;
    const float m = mean[c < mean.size() ? c : 0], s = std[c < std.size() ? c : 0];
    const float x = bytes() ? static_cast<float>(pixels[first + e]) / 255.0f : values[first + e];
    out[e] = (x - m) / s;
  }
}

MnistSplit load_npy_dataset(const std::string& images_path, const std::string& labels_path, const std::string& layout) {
  const NpyArray a = read_npy(images_path);
  std::vector<std::int64_t> d = a.shape;
  if (d.size() == 3) d.insert(d.begin() + 1, 1);
  if (d.size() != 4)
    throw FormatError(fmt::format("{}: images must be N x C x H x W, N x H x W x C or N x H x W; the array has {} dimensions",
                                  images_path, a.shape.size()));
  bool nhwc = layout == "nhwc";
  if (layout == "auto") {
    const bool c1 = d[1] == 1 || d[1] == 3, c3 = d[3] == 1 || d[3] == 3;
    if (c1 == c3 && a.shape.size() == 4)
      throw FormatError(fmt::format("{}: cannot tell the channel axis of shape ({}, {}, {}, {}); set dataset.layout to nchw "
                                    "or nhwc", images_path, d[0], d[1], d[2], d[3]));
    nhwc = c3 && !c1;
  } else if (layout != "nchw" && layout != "nhwc") {
    throw Error(fmt::format("dataset layout '{}': expected auto, nchw or nhwc", layout));
  }
  MnistSplit split;
  IdxImages& im = split.images;
  const std::int64_t c = nhwc ? d[3] : d[1], h = nhwc ? d[1] : d[2], w = nhwc ? d[2] : d[3];
  if (d[0] <= 0 || d[0] > (1 << 30) || c <= 0 || c > 4096 || h <= 0 || h > 4096 || w <= 0 || w > 4096)
    throw FormatError(fmt::format("{}: implausible shape {} images of {}x{}x{}", images_path, d[0], c, h, w));
  im.count = static_cast<int>(d[0]), im.channels = static_cast<int>(c), im.rows = static_cast<int>(h), im.cols = static_cast<int>(w);
  const bool bytes = a.dtype.find("u1") != std::string::npos;
  const bool floats = a.dtype.find('f') != std::string::npos;
  if (!bytes && !floats)
    throw FormatError(fmt::format("{}: images must be uint8 or float32/float64, not {}", images_path, a.dtype));
  const std::size_t n = im.image_size();
  if (bytes) im.pixels.resize(a.count()); else im.values.resize(a.count());
  for (std::size_t i = 0; i < static_cast<std::size_t>(im.count); ++i)
    for (std::size_t e = 0; e < n; ++e) {
      // Destination C x H x W index e; the source index depends on the layout.
      const std::size_t ch = e / (static_cast<std::size_t>(h) * w), y = e / static_cast<std::size_t>(w) % static_cast<std::size_t>(h),
                        x = e % static_cast<std::size_t>(w);
      const std::size_t src = i * n + (nhwc ? (y * static_cast<std::size_t>(w) + x) * static_cast<std::size_t>(c) + ch : e);
      const double v = a.values[src];
      if (bytes) im.pixels[i * n + e] = static_cast<std::uint8_t>(v);
      else if (!std::isfinite(v)) throw FormatError(fmt::format("{}: image {} holds a value that is not finite", images_path, i));
      else im.values[i * n + e] = static_cast<float>(v);
    }
  if (labels_path.empty()) {
    split.labels.assign(static_cast<std::size_t>(im.count), kUnlabelled);
    return split;
  }
  const NpyArray l = read_npy(labels_path);
  if (l.count() != static_cast<std::size_t>(im.count))
    throw FormatError(fmt::format("{}: {} labels for the {} images of {}", labels_path, l.count(), im.count, images_path));
  for (std::size_t i = 0; i < l.count(); ++i) {
    const double v = l.values[i];
    if (v != std::floor(v) || v < 0 || v > 254)
      throw FormatError(fmt::format("{}: label {} is {}, expected an integer in 0..254", labels_path, i, v));
    split.labels.push_back(static_cast<std::uint8_t>(v));
  }
  return split;
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
