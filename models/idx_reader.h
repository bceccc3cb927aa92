#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace isimdl {

// Images of an IDX file (magic 0x00000803: unsigned bytes, three dimensions),
// row-major, one byte per pixel.
struct IdxImages {
  int count = 0;
  int rows = 0;
  int cols = 0;
  std::vector<std::uint8_t> pixels;  // count * rows * cols

  const std::uint8_t* image(int i) const { return pixels.data() + static_cast<std::size_t>(i) * rows * cols; }
};

// Reads an IDX image file, plain or gzip-compressed. Throws FormatError naming
// the file when the magic number, the dimensions or the size are wrong.
IdxImages read_idx_images(const std::string& path);

// Reads an IDX label file (magic 0x00000801). Labels must be 0..9.
std::vector<std::uint8_t> read_idx_labels(const std::string& path);

// One MNIST split: images with their labels, sizes checked to agree.
struct MnistSplit {
  IdxImages images;
  std::vector<std::uint8_t> labels;
};

// Loads `<dir>/<prefix>-images-idx3-ubyte[.gz]` and the matching labels,
// prefix "train" or "t10k" as in the original distribution.
MnistSplit load_mnist(const std::string& dir, const std::string& prefix);

}  // namespace isimdl
