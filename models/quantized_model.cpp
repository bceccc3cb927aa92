#include "models/quantized_model.h"

#include <algorithm>
#include <cmath>

#include "models/error.h"

namespace isimdl {

const QuantParams& QuantizedModel::tensor_qparams(int index) const {
  return index < 0 ? input : layers[static_cast<std::size_t>(index)].output;
}

std::vector<std::int32_t> QuantizedModel::effective_bias(int layer) const {
  const GemmShape g = arch.gemm(layer);
  const QuantizedLayer& q = layers[static_cast<std::size_t>(layer)];
  const std::int32_t zp = tensor_qparams(arch.layer(layer).input).zero_point;
  std::vector<std::int32_t> b(static_cast<std::size_t>(g.n));
  for (int n = 0; n < g.n; ++n) {
    std::int64_t sum = 0;
    for (int k = 0; k < g.k; ++k) sum += q.weight[static_cast<std::size_t>(n) * g.k + k];
    // int32 wrap-around, as the accumulator register holds it.
    b[static_cast<std::size_t>(n)] =
        static_cast<std::int32_t>(static_cast<std::uint32_t>(q.bias[static_cast<std::size_t>(n)]) -
                                  static_cast<std::uint32_t>(zp * sum));
  }
  return b;
}

CalibrationRanges calibrate(const FloatNetwork& net, const std::vector<float>& inputs, int count) {
  const Architecture& arch = net.arch();
  CalibrationRanges r;
  r.lo.assign(static_cast<std::size_t>(arch.size()), 0.0f);
  r.hi.assign(static_cast<std::size_t>(arch.size()), 0.0f);
  ForwardPass pass;
  const int chunk = 256;
  const std::size_t in_size = arch.input_shape().size();
  for (int first = 0; first < count; first += chunk) {
    const int n = std::min(chunk, count - first);
    net.forward(inputs.data() + in_size * first, n, pass);
    for (std::size_t i = 0; i < pass.outputs.size(); ++i) {
      const auto [lo, hi] = std::minmax_element(pass.outputs[i].begin(), pass.outputs[i].end());
      r.lo[i] = std::min(r.lo[i], *lo);
      r.hi[i] = std::max(r.hi[i], *hi);
    }
  }
  return r;
}

FakeQuantization make_fake_quantization(const Architecture& arch, const CalibrationRanges& ranges, QuantParams input) {
  FakeQuantization fq;
  fq.enabled = true;
  fq.input = input;
  const auto layers = static_cast<std::size_t>(arch.size());
  fq.output.assign(layers, QuantParams{});
  fq.quantize_output.assign(layers, false);
  auto tensor = [&](int index) { return index < 0 ? fq.input : fq.output[static_cast<std::size_t>(index)]; };
  for (int li = 0; li < arch.size(); ++li) {
    const auto i = static_cast<std::size_t>(li);
    const LayerSpec& l = arch.layer(li);
    switch (l.kind) {
      case LayerKind::kConv2d:
      case LayerKind::kLinear: {
        // A fused ReLU's output range is the requantization target.
        const bool fused = li + 1 < arch.size() && arch.is_fused_relu(li + 1) && arch.layer(li + 1).input == li;
        const std::size_t range = fused ? i + 1 : i;
        fq.output[i] = choose_activation_qparams(ranges.lo[range], ranges.hi[range]);
        fq.quantize_output[i] = !fused;
        break;
      }
      case LayerKind::kReLU:
      case LayerKind::kClip:
      case LayerKind::kLeakyReLU:
        // Elementwise on the input's grid.
        fq.output[i] = tensor(l.input);
        fq.quantize_output[i] = true;
        break;
      case LayerKind::kMaxPool2d:
      case LayerKind::kFlatten:
        fq.output[i] = tensor(l.input);
        break;
      case LayerKind::kAvgPool2d:
        fq.output[i] = tensor(l.input);
        fq.quantize_output[i] = true;
        break;
      case LayerKind::kAdd:
      case LayerKind::kConcat:
        fq.output[i] = choose_activation_qparams(ranges.lo[i], ranges.hi[i]);
        fq.quantize_output[i] = true;
        break;
    }
  }
  return fq;
}

QuantizedModel quantize_network(const FloatNetwork& net, const FakeQuantization& fq) {
  const Architecture& arch = net.arch();
  QuantizedModel model;
  model.arch = arch;
  model.input = fq.input;
  model.layers.resize(static_cast<std::size_t>(arch.size()));
  model.float_params = net.params();
  for (int li = 0; li < arch.size(); ++li) {
    const auto i = static_cast<std::size_t>(li);
    const LayerSpec& l = arch.layer(li);
    QuantizedLayer& q = model.layers[i];
    q.output = fq.output[i];
    if (arch.has_weights(li)) {
      const GemmShape g = arch.gemm(li);
      const LayerParams& p = net.params()[i];
      const float s_in = model.tensor_qparams(l.input).scale;
      const Im2col im2col = arch.im2col(li);
      q.fused_relu = li + 1 < arch.size() && arch.is_fused_relu(li + 1) && arch.layer(li + 1).input == li;
      q.weight.resize(p.weight.size());
      for (int n = 0; n < g.n; ++n) {
        const float* row = p.weight.data() + static_cast<std::size_t>(n) * g.k;
        const float s_w = choose_weight_scale(row, g.k);
        q.weight_scale.push_back(s_w);
        for (int k = 0; k < g.k; ++k)
          q.weight[static_cast<std::size_t>(n) * g.k + k] =
              im2col.weight_exists(n, k) ? quantize_weight(row[k], s_w) : std::int8_t{0};
        q.bias.push_back(quantize_bias(p.bias[static_cast<std::size_t>(n)], s_in * s_w));
        q.multiplier.push_back(quantize_multiplier(static_cast<double>(s_in) * s_w / q.output.scale));
      }
    } else if (l.kind == LayerKind::kAdd) {
      const double s1 = model.tensor_qparams(l.input).scale, s2 = model.tensor_qparams(l.input2).scale;
      const double twice_max = 2.0 * std::max(s1, s2);
      q.add_input1 = quantize_multiplier(s1 / twice_max);
      q.add_input2 = quantize_multiplier(s2 / twice_max);
      q.add_output = quantize_multiplier(twice_max / (static_cast<double>(1 << q.add_left_shift) * q.output.scale));
    } else if (l.kind == LayerKind::kConcat) {
      for (int from : l.inputs())
        q.concat_input.push_back(quantize_multiplier(static_cast<double>(model.tensor_qparams(from).scale) /
                                                     (static_cast<double>(1 << q.add_left_shift) * q.output.scale)));
    } else if (l.kind == LayerKind::kLeakyReLU) {
      q.leaky_alpha = quantize_multiplier(l.alpha);
    }
  }
  return model;
}

FloatNetwork dequantized_network(const QuantizedModel& model) {
  FloatNetwork net(model.arch);
  for (int li = 0; li < model.arch.size(); ++li) {
    if (!model.arch.has_weights(li)) continue;
    const auto i = static_cast<std::size_t>(li);
    if (!model.float_params.empty() && !model.float_params[i].weight.empty()) {
      net.params()[i] = model.float_params[i];
      continue;
    }
    const GemmShape g = model.arch.gemm(li);
    const QuantizedLayer& q = model.layers[i];
    const float s_in = model.tensor_qparams(model.arch.layer(li).input).scale;
    for (int n = 0; n < g.n; ++n) {
      for (int k = 0; k < g.k; ++k) {
        const std::size_t e = static_cast<std::size_t>(n) * g.k + k;
        net.params()[i].weight[e] = q.weight_scale[static_cast<std::size_t>(n)] * q.weight[e];
      }
      net.params()[i].bias[static_cast<std::size_t>(n)] =
          s_in * q.weight_scale[static_cast<std::size_t>(n)] * static_cast<float>(q.bias[static_cast<std::size_t>(n)]);
    }
  }
  FakeQuantization& fq = net.fake_quant();
  fq.enabled = true;
  fq.input = model.input;
  CalibrationRanges none{std::vector<float>(static_cast<std::size_t>(model.arch.size()), 0.0f),
                         std::vector<float>(static_cast<std::size_t>(model.arch.size()), 0.0f)};
  const FakeQuantization rules = make_fake_quantization(model.arch, none, model.input);
  fq.quantize_output = rules.quantize_output;
  fq.output.clear();
  for (const auto& l : model.layers) fq.output.push_back(l.output);
  return net;
}

}  // namespace isimdl
