#include "models/quantized_model.h"

#include <fmt/format.h>

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
  // Images per forward pass: as many as fit in about 128 MiB of float
  // activations and im2col columns (a ResNet-18 at 64x64 needs ~10 MB per
  // image); the ranges do not depend on the chunking.
  std::size_t per_image = arch.input_shape().size();
  for (int l = 0; l < arch.size(); ++l) {
    per_image += arch.output_shape(l).size();
    if (arch.layer(l).kind == LayerKind::kConv2d) {
      const GemmShape g = arch.gemm(l);
      per_image += static_cast<std::size_t>(g.m) * static_cast<std::size_t>(g.k);
    }
  }
  const int chunk = static_cast<int>(std::clamp<std::size_t>((std::size_t{128} << 20) / (4 * per_image), 1, 256));
  const std::size_t in_size = arch.input_shape().size();
  const EffectiveParams effective = net.effective_params();
  for (int first = 0; first < count; first += chunk) {
    const int n = std::min(chunk, count - first);
    net.forward(inputs.data() + in_size * first, n, pass, nullptr, &effective);
    for (std::size_t i = 0; i < pass.outputs.size(); ++i) {
      const auto [lo, hi] = std::minmax_element(pass.outputs[i].begin(), pass.outputs[i].end());
      r.lo[i] = std::min(r.lo[i], *lo);
      r.hi[i] = std::max(r.hi[i], *hi);
    }
  }
  return r;
}

int requantization_target(const Architecture& arch, int li) {
  const LayerKind kind = arch.layer(li).kind;
  const bool gemm = kind == LayerKind::kConv2d || kind == LayerKind::kLinear;
  return gemm && li + 1 < arch.size() && arch.is_fused_relu(li + 1) && arch.layer(li + 1).input == li ? li + 1 : li;
}

namespace {

bool keeps_input_grid(LayerKind kind) {
  return kind == LayerKind::kReLU || kind == LayerKind::kClip || kind == LayerKind::kMaxPool2d ||
         kind == LayerKind::kAvgPool2d || kind == LayerKind::kFlatten;
}

// The one layer that reads layer li's output, or -1.
int only_reader(const Architecture& arch, int li) {
  int reader = -1;
  for (int j = li + 1; j < arch.size(); ++j)
    for (int from : arch.layer(j).inputs())
      if (from == li) {
        if (reader >= 0) return -1;
        reader = j;
      }
  return reader;
}

}  // namespace

bool requantizes(const Architecture& arch, int li) {
  const LayerKind kind = arch.layer(li).kind;
  return arch.has_weights(li) || kind == LayerKind::kAdd || kind == LayerKind::kConcat;
}

std::optional<QuantParams> given_output(const Architecture& arch, const QuantizationOverrides& given, int layer,
                                        std::vector<std::string>* why) {
  std::optional<QuantParams> result;
  int source = -1;
  for (int t = layer; t >= 0;) {
    if (const auto it = given.activations.find(t); it != given.activations.end()) {
      if (result && why && !(*result == it->second))
        why->push_back(fmt::format("layer {} ({}): its given quantization (scale {}, zero point {}) gives way to layer {}'s "
                                   "(scale {}, zero point {}), which keeps this grid",
                                   source, to_string(arch.layer(source).kind), result->scale, result->zero_point, t,
                                   it->second.scale, it->second.zero_point));
      result = it->second;
      source = t;
    }
    const int next = only_reader(arch, t);
    t = next >= 0 && keeps_input_grid(arch.layer(next).kind) && arch.layer(next).input == t ? next : -1;
  }
  return result;
}

bool QuantizationOverrides::covers(const Architecture& arch) const {
  if (!input) return false;
  for (int li = 0; li < arch.size(); ++li)
    if (requantizes(arch, li) && !given_output(arch, *this, li)) return false;
  return true;
}

FakeQuantization make_fake_quantization(const Architecture& arch, const CalibrationRanges& ranges, QuantParams input,
                                        const QuantizationOverrides* given) {
  FakeQuantization fq;
  fq.enabled = true;
  if (given && given->input) input = *given->input;
  fq.input = input;
  // Requantizing layer li's output: given (given_output), else from the
  // calibrated range of `index`.
  auto choose = [&](int li, int index) {
    if (given)
      if (const auto g = given_output(arch, *given, li)) return *g;
    return choose_activation_qparams(ranges.lo[static_cast<std::size_t>(index)], ranges.hi[static_cast<std::size_t>(index)]);
  };
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
        const int target = requantization_target(arch, li);
        fq.output[i] = choose(li, target);
        fq.quantize_output[i] = target == li;
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
        fq.output[i] = choose(li, li);
        fq.quantize_output[i] = true;
        break;
    }
  }
  return fq;
}

namespace {

// Layer li's int8 weights, scales and biases as a QDQ model gives them.
void use_given_weights(int li, const GemmShape& g, const GivenWeights& w, const LayerParams& p, float s_in,
                       QuantizedLayer& q, std::vector<std::string>* notes) {
  const auto n_count = static_cast<std::size_t>(g.n);
  if (w.weight.size() != n_count * static_cast<std::size_t>(g.k) || w.scale.size() != n_count ||
      (!w.bias.empty() && (w.bias.size() != n_count || w.bias_scale.size() != n_count)))
    throw Error(fmt::format("layer {}: the given int8 weights do not fit its {} x {} GEMM", li, g.n, g.k));
  for (float s : w.scale)
    if (!(s > 0.0f) || !std::isfinite(s)) throw Error(fmt::format("layer {}: weight scale {} is not positive and finite", li, s));
  q.weight = w.weight;
  q.weight_scale = w.scale;
  bool bias_requantized = false;
  for (std::size_t n = 0; n < n_count; ++n) {
    const double s_b = static_cast<double>(s_in) * w.scale[n];
    if (!w.bias.empty() && std::fabs(w.bias_scale[n] - s_b) <= 1e-6 * s_b) {
      q.bias[n] = w.bias[n];
    } else {
      // The real bias on isimdl's grid: from the given int32 where there is one.
      const double real = w.bias.empty() ? p.bias[n] : w.bias[n] * w.bias_scale[n];
      q.bias[n] = quantize_bias(static_cast<float>(real), static_cast<float>(s_b));
      bias_requantized = bias_requantized || !w.bias.empty();
    }
    q.multiplier[n] = quantize_multiplier(s_b / q.output.scale);
  }
  if (bias_requantized && notes)
    notes->push_back(fmt::format("layer {}: the given int32 bias's scale is not input scale x weight scale; the bias "
                                 "is requantized onto that grid",
                                 li));
}

}  // namespace

QuantizedModel quantize_network(const FloatNetwork& net, const FakeQuantization& fq, const QuantizationOverrides* given,
                                std::vector<std::string>* notes) {
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
      if (given && given->weights.count(li)) use_given_weights(li, g, given->weights.at(li), p, s_in, q, notes);
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
