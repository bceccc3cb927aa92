#pragma once

#include <cstdint>
#include <vector>

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

// int8 GEMM core: acc[n][m] = bias[n] + sum_k a[m][k] * w[n][k], int32,
// a: M x K row-major, w: N x K row-major, acc: N x M.
void gemm_s8s8s32(int m_count, int n_count, int k_count, const std::int8_t* a, const std::int8_t* w,
                  const std::int32_t* bias, std::int32_t* acc);

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
  // Requantizes layer `layer`'s accumulators (already in the trace) into its output.
  void requantize_layer(int layer, InferenceTrace& trace) const;

  // Top-1 class of int8 logits (lowest index on ties).
  static int top1(const std::vector<std::int8_t>& logits);

 private:
  const std::vector<std::int8_t>& tensor(const InferenceTrace& trace, int index) const;
  const QuantizedModel& model_;
  std::vector<std::vector<std::int32_t>> effective_bias_;
};

}  // namespace isimdl
