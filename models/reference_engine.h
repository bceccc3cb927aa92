#pragma once

#include <cassert>
#include <cstdint>
#include <vector>

#include "models/gemm.h"
#include "models/quantized_model.h"

namespace isimdl {

// Every layer's values for one image: int32 accumulators (Conv2d/Linear,
// bias included, laid out [N][M] = channel-major like the outputs) and int8
// outputs ([C][H][W]). These are the golden values campaigns compare against.
struct InferenceTrace {
  std::vector<std::int8_t> input;                 // quantized image
  std::vector<std::vector<std::int32_t>> acc;     // per layer; empty for layers without GEMM
  std::vector<std::vector<std::int8_t>> out;      // per layer
  const std::vector<std::int8_t>& logits() const { return out.back(); }
};


// im2col of an int8 CHW tensor: row m (output pixel oy*OW+ox) holds the
// K = Cin*kh*kw inputs in the order (c, i, j), c slowest; positions in the
// padding hold `pad_value` (the input zero point).
void im2col_s8(const std::int8_t* x, const Im2col& im2col, const GemmShape& g, std::int8_t pad_value, std::int8_t* rows);

// The bit-exact int8 reference engine. Deterministic; thread-safe for
// concurrent run() calls on distinct traces.
class ReferenceEngine {
 public:
  explicit ReferenceEngine(const QuantizedModel& model);

  const QuantizedModel& model() const { return model_; }

  // The int8 network input of image `image`: its float input
  // (IdxImages::input) quantized with the model's input quantization.
  void quantize_input(const IdxImages& images, int image, std::vector<std::int8_t>& q) const;
  // Quantizes image `image` and runs every layer.
  void run(const IdxImages& images, int image, InferenceTrace& trace) const;
  // The same for byte pixels of a one-channel image read as pixel / 255
  // (MNIST; with the zoo's input quantization, q = pixel - 128 exactly).
  void run(const std::uint8_t* pixels, InferenceTrace& trace) const;
  // Re-runs layers [first, end) reading trace values of earlier layers as
  // they stand: the way a fault's corrupted tensor is carried to the logits.
  void run_from(int first, InferenceTrace& trace) const;
  // Runs one layer from the trace's earlier values into trace.acc/out[layer].
  void run_layer(int layer, InferenceTrace& trace) const;
  // Runs one layer on the given input tensors (its LayerSpec::inputs(), in
  // order) into `acc` (Conv2d/Linear; else left as is) and `out`.
  void compute_layer(int layer, const std::vector<const std::vector<std::int8_t>*>& inputs, std::vector<std::int32_t>& acc,
                     std::vector<std::int8_t>& out) const;
  // The same layer for several images: inputs[b] and *out[b] as
  // compute_layer's for image b, with the same bits. A Conv2d or Linear
  // layer runs one GEMM (per group) over the columns of up to
  // kBatchColumns / M images side by side (a K x (M * images) operand),
  // reading its weights once for all of them: a late layer of a few output
  // pixels is bound by streaming its weights (ResNet-18's 4-pixel 3x3
  // layers: 44 G MAC/s alone, 240 G MAC/s for 100 images), and a late
  // depthwise layer by its per-group calls. Other layers, and layers of
  // kBatchColumns pixels or more, run image by image.
  static constexpr int kBatchColumns = 512;
  void compute_layers(int layer, const std::vector<std::vector<const std::vector<std::int8_t>*>>& inputs,
                      const std::vector<std::vector<std::int8_t>*>& out) const;

  // The arithmetic of one output element, stated once: the dense loops of
  // compute_layer and the incremental propagation of a fault's effect
  // (models/delta_propagation.h) both call these.
  // Conv2d/Linear: output channel n's int8 output of accumulator `acc`.
  std::int8_t requantize_output(int layer, int n, std::int32_t acc) const {
    const QuantizedLayer& q = model_.layers[static_cast<std::size_t>(layer)];
    return requantize(acc, q.multiplier[static_cast<std::size_t>(n)], q.output.zero_point, q.fused_relu);
  }
  // ReLU, Clip, LeakyReLU, Flatten: the output of input value x.
  std::int8_t pointwise(int layer, std::int8_t x) const { return table(layer)[static_cast<std::uint8_t>(x)]; }
  // Add: the output of inputs a (input) and b (input2).
  std::int8_t add(int layer, std::int8_t a, std::int8_t b) const { return table(layer)[add_index(a, b)]; }
  // Concat: the output of value v of input j.
  std::int8_t concat(int layer, int j, std::int8_t v) const {
    return table(layer)[256 * static_cast<std::size_t>(j) + static_cast<std::uint8_t>(v)];
  }
  // The arithmetic itself (docs/quantization.md), from which the three
  // functions above are tabulated when the engine is built; tests compare
  // the tables with it over every input.
  std::int8_t pointwise_arithmetic(int layer, std::int8_t x) const;
  std::int8_t add_arithmetic(int layer, std::int8_t a, std::int8_t b) const;
  std::int8_t concat_arithmetic(int layer, int j, std::int8_t v) const;
  // MaxPool2d / AvgPool2d: output (c, oy, ox), reading input element e as x(e).
  template <typename X>
  std::int8_t pool(int layer, X&& x, int c, int oy, int ox) const;
  // The weights and effective bias (docs/quantization.md) of a Conv2d/Linear layer.
  const std::vector<std::int32_t>& effective_bias(int layer) const { return effective_bias_[static_cast<std::size_t>(layer)]; }

  // Top-1 class of int8 logits (lowest index on ties).
  static int top1(const std::vector<std::int8_t>& logits);

 private:
  const std::vector<std::int8_t>& tensor(const InferenceTrace& trace, int index) const;
  static std::size_t add_index(std::int8_t a, std::int8_t b) {
    return static_cast<std::size_t>(static_cast<std::uint8_t>(a)) << 8 | static_cast<std::uint8_t>(b);
  }
  // An element-wise layer's table (empty, and never read, for other kinds).
  const std::int8_t* table(int layer) const {
    const std::vector<std::int8_t>& t = constants_[static_cast<std::size_t>(layer)].table;
    assert(!t.empty());
    return t.data();
  }
  // Conv2d/Linear layer li's accumulators, N x columns (row n at acc + n *
  // columns), from a K x columns operand (row k at at + k * columns): one
  // image's columns (columns = M) or several images' side by side.
  void gemm_columns(int li, const std::int8_t* at, std::size_t columns, std::int32_t* acc) const;
  // Columns [first, first + M) of those accumulators requantized into one image's N x M output.
  void requantize_columns(int li, const std::int32_t* acc, std::size_t columns, std::size_t first, std::int8_t* y) const;
  const QuantizedModel& model_;
  std::vector<std::vector<std::int32_t>> effective_bias_;
  // Per layer: the zero points of its inputs (in inputs() order), a Clip's
  // int8 bounds, and an element-wise layer's outputs for every input: 256
  // entries (ReLU, Clip, LeakyReLU, Flatten), 256 per input (Concat) or
  // 65,536 indexed by add_index(a, b) (Add).
  struct Constants {
    std::vector<std::int32_t> zero_point;
    std::int8_t clip_lo = -128, clip_hi = 127;
    std::vector<std::int8_t> table;
  };
  std::vector<Constants> constants_;
};

template <typename X>
std::int8_t ReferenceEngine::pool(int layer, X&& x, int c, int oy, int ox) const {
  const LayerSpec& l = model_.arch.layer(layer);
  const Shape& in = model_.arch.output_shape(l.input);
  const std::size_t plane = static_cast<std::size_t>(c) * in.h;
  int best = -128, sum = 0, inside = 0;
  for_each_window_position(l.window, in, oy, ox, [&](int yy, int xx) {
    const int v = x((plane + static_cast<std::size_t>(yy)) * in.w + static_cast<std::size_t>(xx));
    best = v > best ? v : best;
    sum += v;
    ++inside;
  });
  if (l.kind == LayerKind::kMaxPool2d) return static_cast<std::int8_t>(best);
  // Included padding holds the zero point (real 0); the mean of the int8
  // values, rounded to nearest with ties away from zero.
  const int zp = constants_[static_cast<std::size_t>(layer)].zero_point[0];
  const int count = l.count_include_pad ? pooling_divisor(l.window, oy, ox, in) : inside;
  const int total = sum + (count - inside) * zp;
  const int avg = total >= 0 ? (total + count / 2) / count : (total - count / 2) / count;
  return static_cast<std::int8_t>(avg < -128 ? -128 : avg > 127 ? 127 : avg);
}

}  // namespace isimdl
