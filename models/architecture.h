#pragma once

#include <string>
#include <vector>

#include "models/tensor.h"

namespace isimdl {

enum class LayerKind { kConv2d, kLinear, kReLU, kMaxPool2d, kAvgPool2d, kFlatten, kAdd };

const char* to_string(LayerKind kind);
LayerKind layer_kind_from_string(const std::string& name);  // throws Error

// One layer of a network. Layers form a list; each reads the output of an
// earlier layer (`input`, -1 = the network input, default the previous
// layer); Add also reads `input2` (a residual connection).
struct LayerSpec {
  LayerKind kind = LayerKind::kReLU;
  int input = -2;   // -2: the previous layer (resolved by Architecture)
  int input2 = -2;  // Add only
  // Conv2d
  int in_channels = 0;
  int out_channels = 0;
  int kernel = 0;  // also the pooling window
  int stride = 1;
  int padding = 0;
  // Linear
  int in_features = 0;
  int out_features = 0;
};

// The GEMM a Conv2d or Linear layer lowers to (docs/quantization.md):
// out[m][n] = sum_k A[m][k] * W[k][n], M = output pixels (Linear: 1 per
// image), K = Cin*kh*kw in the order (c, i, j) with c slowest, N = Cout.
struct GemmShape {
  int m = 0;
  int k = 0;
  int n = 0;
};

// A network: an input shape and its layers, with shapes inferred and checked.
class Architecture {
 public:
  Architecture() = default;
  Architecture(std::string name, Shape input, std::vector<LayerSpec> layers);  // validates; throws Error

  const std::string& name() const { return name_; }
  const Shape& input_shape() const { return input_; }
  const std::vector<LayerSpec>& layers() const { return layers_; }
  const LayerSpec& layer(int i) const { return layers_[static_cast<std::size_t>(i)]; }
  int size() const { return static_cast<int>(layers_.size()); }
  // Output shape of layer i; i = -1 gives the input shape.
  const Shape& output_shape(int i) const { return i < 0 ? input_ : shapes_[static_cast<std::size_t>(i)]; }
  // True for Conv2d and Linear, the layers with weights that map to the array.
  bool has_weights(int i) const;
  GemmShape gemm(int i) const;
  int num_classes() const { return static_cast<int>(shapes_.back().size()); }
  // Number of layers reading layer i's output.
  int consumers(int i) const;
  // Layer i is a ReLU that the quantized model fuses into the clamp of the
  // Conv2d/Linear that feeds it (it is the only reader of that output).
  bool is_fused_relu(int i) const;
  std::size_t parameter_count() const;

  // One line per layer, e.g. "conv2d in=1 out=6 k=5 s=1 p=2 from=-1";
  // the textual form used by model files. parse() is its inverse.
  std::string describe() const;
  static Architecture parse(const std::string& name, const std::string& text);  // throws Error

 private:
  std::string name_;
  Shape input_;
  std::vector<LayerSpec> layers_;
  std::vector<Shape> shapes_;
};

bool operator==(const LayerSpec& a, const LayerSpec& b);

}  // namespace isimdl
