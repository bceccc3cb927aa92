#pragma once

#include <cstdint>
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

// Fake quantization parameters for `net` from calibration ranges, following
// the fusion rules of docs/quantization.md.
FakeQuantization make_fake_quantization(const Architecture& arch, const CalibrationRanges& ranges, QuantParams input);

// Post-training quantization of `net` with the given fake quantization
// (which fixes every activation's scale and zero point).
QuantizedModel quantize_network(const FloatNetwork& net, const FakeQuantization& fq);

// The float network the int8 model dequantizes to (its float weights when
// stored, else the dequantized int8 weights), with fake quantization on:
// the network whose gradients drive the sensitivity analysis.
FloatNetwork dequantized_network(const QuantizedModel& model);

}  // namespace isimdl
