#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace isimdl {

// The images of a dataset, C x H x W each, row-major: bytes (an IDX file,
// magic 0x00000803, or a uint8 .npy) or floats (a float32 .npy). The
// network's float input of element e of channel c is
//   bytes:  (pixel / 255 - mean[c]) / std[c]
//   floats: (value - mean[c]) / std[c]
// computed in float in that order (mean 0 and std 1 give pixel / 255.0f
// exactly: the MNIST input the zoo was trained on). One mean/std value
// applies to every channel.
struct IdxImages {
  int count = 0;
  int channels = 1;
  int rows = 0;
  int cols = 0;
  std::vector<std::uint8_t> pixels;  // count * C * H * W, when the images are bytes
  std::vector<float> values;         // count * C * H * W, when they are floats
  std::vector<float> mean{0.0f}, std{1.0f};

  std::size_t image_size() const { return static_cast<std::size_t>(channels) * rows * cols; }
  bool bytes() const { return values.empty(); }
  // The bytes of image i (byte images only).
  const std::uint8_t* image(int i) const { return pixels.data() + static_cast<std::size_t>(i) * image_size(); }
  // The network's float input for image i: image_size() values into `out`.
  void input(int i, float* out) const;
};

// Reads an IDX image file, plain or gzip-compressed. Throws FormatError naming
// the file when the magic number, the dimensions or the size are wrong.
IdxImages read_idx_images(const std::string& path);

// Reads an IDX label file (magic 0x00000801). Labels must be 0..9.
std::vector<std::uint8_t> read_idx_labels(const std::string& path);

// One split of a dataset: images with their labels, sizes checked to agree.
// kUnlabelled marks images without a label (an .npy without labels); the
// commands label them with the model's fault-free prediction.
struct MnistSplit {
  IdxImages images;
  std::vector<std::uint8_t> labels;
};
inline constexpr std::uint8_t kUnlabelled = 255;

// Images from a .npy file (N x C x H x W, N x H x W x C or N x H x W; uint8 or
// float32 / float64), labels from a second .npy of integers 0..254 (empty path:
// every image kUnlabelled). `layout` is "nchw", "nhwc" or "auto" (the axis of
// size 1 or 3 is the channel axis; an ambiguous shape is an error asking for
// the layout). Throws FormatError naming the file.
MnistSplit load_npy_dataset(const std::string& images_path, const std::string& labels_path, const std::string& layout);

// Loads `<dir>/<prefix>-images-idx3-ubyte[.gz]` and the matching labels,
// prefix "train" or "t10k" as in the original distribution.
MnistSplit load_mnist(const std::string& dir, const std::string& prefix);

}  // namespace isimdl
