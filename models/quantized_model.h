#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "models/architecture.h"
#include "models/float_network.h"
#include "models/idx_reader.h"
#include "models/quantization.h"

namespace isimdl {

// One layer of the int8 model (docs/quantization.md).
struct QuantizedLayer {
  QuantParams output;  // quantization of this layer's int8 output tensor
  // Conv2d / Linear: the GEMM operand W[n][k] (K in the documented order),
  // per-channel weight scales, int32 bias (scale s_in * s_w[n]) and the
  // requantization multiplier s_in * s_w[n] / s_out per output channel.
  std::vector<std::int8_t> weight;
  std::vector<float> weight_scale;
  std::vector<std::int32_t> bias;
  std::vector<QuantizedMultiplier> multiplier;
  bool fused_relu = false;  // the clamp's lower bound is output.zero_point
  // Add: each input rescaled to a common fixed point, then requantized.
  // Concat uses the same left shift: each input j is requantized onto the
  // output grid by concat_input[j] = s_j / (2^shift * s_out).
  int add_left_shift = 20;
  QuantizedMultiplier add_input1, add_input2, add_output;
  std::vector<QuantizedMultiplier> concat_input;
  // LeakyReLU: the slope of negative values, on the input's grid.
  QuantizedMultiplier leaky_alpha;
};

// A quantized network: what model files hold, what the reference engine and
// the hardware model execute.
struct QuantizedModel {
  Architecture arch;
  QuantParams input;
  std::vector<QuantizedLayer> layers;
  // The float weights the int8 ones were quantized from, kept so that
  // fault-aware training can fine-tune without loss (may be empty).
  std::vector<LayerParams> float_params;

  // The bias the array-side GEMM needs: the input zero point folded in,
  // bias[n] - zp_in * sum_k W[n][k], so that acc = bias_eff + sum A*W over
  // raw int8 operands (padding holds zp_in).
  std::vector<std::int32_t> effective_bias(int layer) const;
  // Quantization of tensor `index` (-1 = the network input).
  const QuantParams& tensor_qparams(int index) const;
};

// Activation ranges observed on calibration data: per layer output, the
// smallest and largest float value.
struct CalibrationRanges {
  std::vector<float> lo, hi;
};
CalibrationRanges calibrate(const FloatNetwork& net, const std::vector<float>& inputs, int count);

// The quantization a model brings with it (an ONNX QDQ model: docs/models.md):
// the scale and zero point of tensors, int8 weights with their scales, int32
// biases. What it gives is used as given; the rest is chosen as usual.
struct GivenWeights {
  std::vector<std::int8_t> weight;  // W[n][k] in the GEMM layout (a grouped conv's structural zeros included)
  std::vector<float> scale;         // per output channel, > 0
  std::vector<std::int32_t> bias;   // empty: the float bias is quantized
  std::vector<double> bias_scale;   // the scale the int32 bias was given with (per output channel)
};
struct QuantizationOverrides {
  std::optional<QuantParams> input;        // the network input
  std::map<int, QuantParams> activations;  // layer index -> its output tensor
  std::map<int, GivenWeights> weights;     // Conv2d / Linear layer -> its weights
  bool empty() const { return !input && activations.empty() && weights.empty(); }
  // True when every tensor whose quantization isimdl would choose (the input,
  // each Conv2d/Linear output — a fused ReLU's output in its place —, each
  // Add and Concat output) is given: no calibration is needed.
  bool covers(const Architecture& arch) const;
};

// The tensor whose range a layer's requantization targets: a Conv2d/Linear
// followed by a fused ReLU targets the ReLU's output; every other layer its own.
int requantization_target(const Architecture& arch, int layer);

// True for the layers that requantize onto an output grid of their own
// (Conv2d, Linear, Add, Concat); the others keep their input's grid.
bool requantizes(const Architecture& arch, int layer);

// The given quantization of the int8 tensor a requantizing layer (Conv2d,
// Linear, Add, Concat) writes. Layers that keep their input's grid (ReLU,
// Clip, MaxPool, AvgPool, Flatten) cannot requantize, so when such layers
// follow it — each the only reader of the one before — the grid given
// furthest down that chain is the one its output must have (clamping and
// max-pooling commute with quantization onto it: a fused ReLU is such a
// reader); else its own.
// Empty when nothing is given. `why`, when not null, gets the reason a
// given quantization in the chain is not used.
std::optional<QuantParams> given_output(const Architecture& arch, const QuantizationOverrides& given, int layer,
                                        std::vector<std::string>* why = nullptr);

// Fake quantization parameters for `net` from calibration ranges, following
// the fusion rules of docs/quantization.md; tensors `given` names keep their
// given scale and zero point (at the layers that choose one).
FakeQuantization make_fake_quantization(const Architecture& arch, const CalibrationRanges& ranges, QuantParams input,
                                        const QuantizationOverrides* given = nullptr);

// Post-training quantization of `net` with the given fake quantization
// (which fixes every activation's scale and zero point). Layers in
// given->weights keep their int8 weights, scales and int32 biases exactly;
// a given bias whose scale is not s_in * s_w[n] (to 1e-6, relative) is
// requantized from its real value instead, and `notes` says so. Throws
// Error when given weights do not fit the layer.
QuantizedModel quantize_network(const FloatNetwork& net, const FakeQuantization& fq,
                                const QuantizationOverrides* given = nullptr, std::vector<std::string>* notes = nullptr);

// The float network the int8 model dequantizes to (its float weights when
// stored, else the dequantized int8 weights), with fake quantization on:
// the network whose gradients drive the sensitivity analysis.
FloatNetwork dequantized_network(const QuantizedModel& model);

}  // namespace isimdl
