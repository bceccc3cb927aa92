#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/tensor.h"

namespace isimdl {

// kClip clamps to [clip_lo, clip_hi] (ReLU6 is clip 0..6); kLeakyReLU scales
// negative values by `alpha`; kConcat joins its inputs along channels.
enum class LayerKind { kConv2d, kLinear, kReLU, kMaxPool2d, kAvgPool2d, kFlatten, kAdd, kConcat, kClip, kLeakyReLU };

const char* to_string(LayerKind kind);
LayerKind layer_kind_from_string(const std::string& name);  // throws Error

// The sliding window of a convolution or a pooling layer (ONNX's kernel_shape,
// strides, dilations, pads in the order top, left, bottom, right).
// Output size along one axis (docs/quantization.md, "Output sizes"):
//   span = dilation * (kernel - 1) + 1
//   floor mode: (in + pad_begin + pad_end - span) / stride + 1      (integer division)
//   ceil mode:  ceil((in + pad_begin + pad_end - span) / stride) + 1, minus one when
//               the last window would start at or past in + pad_begin (PyTorch's rule)
struct Window2d {
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool ceil_mode = false;

  static Window2d square(int kernel, int stride, int padding);
  int output_h(int in_h) const;
  int output_w(int in_w) const;
  bool has_padding() const { return pad_top || pad_left || pad_bottom || pad_right; }
  bool operator==(const Window2d& o) const;
};

// Divisor of an average-pooling window at output (oy, ox) with
// count_include_pad: the window clipped to the padded input.
int pooling_divisor(const Window2d& w, int oy, int ox, const Shape& in);

// The window of output (oy, ox) over an input of H x W: fn(y, x) for each of
// its positions inside the input (padding skipped), kernel rows then columns,
// at y = oy*stride_h - pad_top + a*dilation_h, x likewise. Stated once for the
// pooling layers of the reference engine and of the float network's forward
// and backward passes (convolutions walk it through Im2col).
template <typename Fn>
void for_each_window_position(const Window2d& w, const Shape& in, int oy, int ox, Fn&& fn) {
  for (int a = 0; a < w.kernel_h; ++a) {
    const int y = oy * w.stride_h - w.pad_top + a * w.dilation_h;
    if (y < 0 || y >= in.h) continue;
    for (int b = 0; b < w.kernel_w; ++b) {
      const int x = ox * w.stride_w - w.pad_left + b * w.dilation_w;
      if (x >= 0 && x < in.w) fn(y, x);
    }
  }
}

// The inverse: every output (oy, ox) of an out.h x out.w output whose
// window covers input position (y, x), with the kernel offset (a, b) at
// which it does: fn(oy, ox, a, b). Convolutions (Im2col::uses_of) and the
// incremental propagation of pooling layers (models/delta_propagation.h) ask it.
template <typename Fn>
void for_each_window_covering(const Window2d& w, const Shape& out, int y, int x, Fn&& fn) {
  for (int a = 0; a < w.kernel_h; ++a) {
    const int oy_s = y + w.pad_top - a * w.dilation_h;
    if (oy_s < 0 || oy_s % w.stride_h) continue;
    const int oy = oy_s / w.stride_h;
    if (oy >= out.h) continue;
    for (int b = 0; b < w.kernel_w; ++b) {
      const int ox_s = x + w.pad_left - b * w.dilation_w;
      if (ox_s < 0 || ox_s % w.stride_w) continue;
      const int ox = ox_s / w.stride_w;
      if (ox < out.w) fn(oy, ox, a, b);
    }
  }
}

// One layer of a network. Layers form a list; each reads the output of an
// earlier layer (`input`, -1 = the network input, default the previous
// layer); Add also reads `input2` (a residual connection); Concat reads
// `input` followed by `more_inputs`.
struct LayerSpec {
  LayerKind kind = LayerKind::kReLU;
  int input = -2;   // -2: the previous layer (resolved by Architecture)
  int input2 = -2;  // Add only
  std::vector<int> more_inputs;  // Concat only: its inputs after the first
  // Conv2d (window), MaxPool2d / AvgPool2d (window)
  int in_channels = 0;
  int out_channels = 0;
  int groups = 1;  // Conv2d: input and output channels split into this many groups
  Window2d window;
  bool count_include_pad = true;  // AvgPool2d: divide by the whole window, padding included
  // Linear
  int in_features = 0;
  int out_features = 0;
  // Clip bounds, LeakyReLU slope
  float clip_lo = 0.0f, clip_hi = 0.0f;
  float alpha = 0.0f;

  // Every tensor this layer reads, in order (-1 = the network input).
  std::vector<int> inputs() const;
};

// The GEMM a Conv2d or Linear layer lowers to (docs/quantization.md):
// out[m][n] = sum_k A[m][k] * W[k][n], M = output pixels (Linear: 1 per
// image), K = Cin*kh*kw in the order (c, i, j) with c slowest, N = Cout.
// A grouped convolution (groups > 1) is a block-diagonal GEMM: W[n][k] = 0
// unless k's channel is in n's group. Group g owns the K-columns
// [g*K/groups, (g+1)*K/groups) and the N-columns [g*N/groups, (g+1)*N/groups);
// the array runs it as one GEMM per group (hw/fold_schedule.h), the engine
// as one over all channels with the structural zeros stored.
struct GemmShape {
  int m = 0;
  int k = 0;
  int n = 0;
  int groups = 1;

  int k_per_group() const { return k / groups; }
  int n_per_group() const { return n / groups; }
  // Multiply-accumulates the layer needs (structural zeros not counted).
  std::int64_t useful_macs() const { return static_cast<std::int64_t>(m) * k_per_group() * n; }
  // Weights that exist (structural zeros not counted).
  std::int64_t weights() const { return static_cast<std::int64_t>(k_per_group()) * n; }
  // The weight buffer holds the weights that exist, n-major: word
  // n*K/groups + (k - first K-column of n's group). For groups == 1 this is
  // n*K + k. W[n][k] must be a weight (k in n's group).
  std::int64_t weight_word(int n_index, int k_index) const {
    return static_cast<std::int64_t>(n_index) * k_per_group() + (k_index - n_index / n_per_group() * k_per_group());
  }
  // The (n, k) of weight-buffer word w (the inverse of weight_word).
  std::pair<int, int> weight_of_word(std::int64_t w) const {
    const int n_index = static_cast<int>(w / k_per_group());
    return {n_index, n_index / n_per_group() * k_per_group() + static_cast<int>(w % k_per_group())};
  }
};

// im2col of one Conv2d or Linear layer: which input element the GEMM operand
// A[m][k] reads. Stated once; the reference engine, the float network, the
// controller, the register oracle and liveness all ask it.
class Im2col {
 public:
  Im2col() = default;
  Im2col(const LayerSpec& spec, Shape in, Shape out);

  bool conv() const { return conv_; }
  int k_channel(int k) const { return conv_ ? k / (window_.kernel_h * window_.kernel_w) : k; }
  int k_row(int k) const { return conv_ ? k / window_.kernel_w % window_.kernel_h : 0; }
  int k_col(int k) const { return conv_ ? k % window_.kernel_w : 0; }
  // Index into the C x H x W input of A[m][k], or -1 where A reads padding
  // (which holds the input zero point).
  std::int64_t input_element(int m, int k) const;
  // The whole M x K operand at once: rows[m][k] = x[input_element(m, k)],
  // `pad` where that is -1 (what the reference engine runs; equal to the
  // element-wise definition, tests/test_reference_engine.cpp).
  void gather(const std::int8_t* x, std::int8_t pad, int m_count, int k_count, std::int8_t* rows) const;
  // Row m alone.
  void gather_row(const std::int8_t* x, std::int8_t pad, int m, int k_count, std::int8_t* row) const;
  // The operand's transpose, K x M: columns[k][m] = rows[m][k]. Row k of it
  // is one kernel tap (c, i, j) over every output pixel, gathered one
  // output row at a time (a contiguous copy where the stride is 1): far
  // fewer and longer copies than the M x K gather for 3x3 kernels, and none
  // at all when columns_are_input() — then the input tensor (C x H x W) is
  // already the K x M operand. Row k is written at columns + k * ldc
  // (ldc = 0: M, rows back to back; larger: one image's columns of a
  // batch's operand, ReferenceEngine::compute_layers).
  void gather_columns(const std::int8_t* x, std::int8_t pad, std::int8_t* columns, std::size_t ldc = 0) const;
  bool columns_are_input() const;
  // input_element(m, k) for k in [k0, k0 + count), into out[0..count):
  // the address generator of the controller, walking (c, i, j) without a
  // division per element.
  void row_elements(int m, int k0, int count, std::int64_t* out) const;
  // Every (m, k) whose A[m][k] reads input element `element`.
  std::vector<std::pair<int, int>> uses_of(std::int64_t element) const;
  // The same without allocating: fn(m, k) for each.
  template <typename Fn>
  void for_each_use(std::int64_t element, Fn&& fn) const {
    if (!conv_) {
      fn(0, static_cast<int>(element));  // a Linear layer's M is one row per image
      return;
    }
    const int ch = static_cast<int>(element / (static_cast<std::int64_t>(in_.h) * in_.w));
    const int y = static_cast<int>(element / in_.w % in_.h), x = static_cast<int>(element % in_.w);
    for_each_window_covering(window_, out_, y, x, [&](int oy, int ox, int a, int b) {
      fn(oy * out_.w + ox, (ch * window_.kernel_h + a) * window_.kernel_w + b);
    });
  }
  // The group of input channel c, and the first input channel and output
  // channel of each group.
  int group_of_channel(int c) const { return c / (in_.c / groups_); }
  int group_of_output(int n) const { return n / (out_.c / groups_); }
  // True where W[n][k] is a weight of the layer (false: a structural zero
  // of a grouped convolution's block-diagonal GEMM).
  bool weight_exists(int n, int k) const { return group_of_output(n) == group_of_channel(k_channel(k)); }

 private:
  bool conv_ = false;
  Shape in_, out_;
  Window2d window_;
  int groups_ = 1;
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
  Im2col im2col(int i) const;
  int num_classes() const { return static_cast<int>(shapes_.back().size()); }
  // Number of reads of layer i's output by later layers.
  int consumers(int i) const;
  // Layer i is a ReLU that the quantized model fuses into the clamp of the
  // Conv2d/Linear that feeds it (it is the only reader of that output).
  bool is_fused_relu(int i) const;
  // Weights and biases the network has (structural zeros not counted).
  std::size_t parameter_count() const;

  // One line per layer, e.g. "conv2d from=-1 cin=1 cout=6 k=5 s=1 p=2";
  // the textual form used by model files (docs/models.md gives the grammar).
  // parse() is its inverse.
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
