#include "models/reference_engine.h"

#include <fmt/format.h>

#include <algorithm>

#include "models/error.h"

namespace isimdl {


void im2col_s8(const std::int8_t* x, const Im2col& im2col, const GemmShape& g, std::int8_t pad_value, std::int8_t* rows) {
  im2col.gather(x, pad_value, g.m, g.k, rows);
}

ReferenceEngine::ReferenceEngine(const QuantizedModel& model) : model_(model) {
  if (static_cast<int>(model.layers.size()) != model.arch.size())
    throw Error("reference engine: model has " + std::to_string(model.layers.size()) + " quantized layers for " +
                std::to_string(model.arch.size()) + " architecture layers");
  effective_bias_.resize(model.layers.size());
  constants_.resize(model.layers.size());
  for (int i = 0; i < model.arch.size(); ++i) {
    const auto li = static_cast<std::size_t>(i);
    if (model.arch.has_weights(i)) effective_bias_[li] = model.effective_bias(i);
    const LayerSpec& l = model.arch.layer(i);
    for (const int from : l.inputs()) constants_[li].zero_point.push_back(model.tensor_qparams(from).zero_point);
    if (l.kind == LayerKind::kClip) {
      const QuantParams qp = model.tensor_qparams(l.input);
      constants_[li].clip_lo = quantize_activation(l.clip_lo, qp);
      constants_[li].clip_hi = quantize_activation(l.clip_hi, qp);
    }
  }
}

const std::vector<std::int8_t>& ReferenceEngine::tensor(const InferenceTrace& trace, int index) const {
  return index < 0 ? trace.input : trace.out[static_cast<std::size_t>(index)];
}

void ReferenceEngine::quantize_input(const IdxImages& images, int image, std::vector<std::int8_t>& q) const {
  const std::size_t n = model_.arch.input_shape().size();
  if (images.image_size() != n || image < 0 || image >= images.count)
    throw Error(fmt::format("image {} of a set of {} images of {}x{}x{} does not fit the model's input {}", image,
                            images.count, images.channels, images.rows, images.cols, to_string(model_.arch.input_shape())));
  thread_local std::vector<float> x;
  x.resize(n);
  images.input(image, x.data());
  q.resize(n);
  for (std::size_t e = 0; e < n; ++e) q[e] = quantize_activation(x[e], model_.input);
}

void ReferenceEngine::run(const IdxImages& images, int image, InferenceTrace& trace) const {
  quantize_input(images, image, trace.input);
  run_from(0, trace);
}

void ReferenceEngine::run(const std::uint8_t* pixels, InferenceTrace& trace) const {
  const std::size_t n = model_.arch.input_shape().size();
  trace.input.resize(n);
  for (std::size_t i = 0; i < n; ++i)
    trace.input[i] = quantize_activation(static_cast<float>(pixels[i]) / 255.0f, model_.input);
  run_from(0, trace);
}

void ReferenceEngine::run_from(int first, InferenceTrace& trace) const {
  trace.acc.resize(model_.layers.size());
  trace.out.resize(model_.layers.size());
  for (int i = first; i < model_.arch.size(); ++i) run_layer(i, trace);
}

std::int8_t ReferenceEngine::pointwise(int layer, std::int8_t x) const {
  const auto li = static_cast<std::size_t>(layer);
  const Constants& k = constants_[li];
  switch (model_.arch.layer(layer).kind) {
    case LayerKind::kReLU: return std::max(x, static_cast<std::int8_t>(k.zero_point[0]));
    case LayerKind::kClip: return std::clamp(x, k.clip_lo, k.clip_hi);
    case LayerKind::kLeakyReLU: {
      const std::int32_t centred = x - k.zero_point[0];
      const std::int32_t v =
          centred >= 0 ? centred : multiply_by_quantized_multiplier(centred, model_.layers[li].leaky_alpha);
      return static_cast<std::int8_t>(std::clamp(v + k.zero_point[0], -128, 127));
    }
    case LayerKind::kFlatten: return x;
    default: throw Error(fmt::format("layer {} ({}) is not a pointwise layer", layer, to_string(model_.arch.layer(layer).kind)));
  }
}

std::int8_t ReferenceEngine::add(int layer, std::int8_t a, std::int8_t b) const {
  const auto li = static_cast<std::size_t>(layer);
  const QuantizedLayer& q = model_.layers[li];
  const Constants& k = constants_[li];
  const std::int32_t x1 = (a - k.zero_point[0]) * (1 << q.add_left_shift);
  const std::int32_t x2 = (b - k.zero_point[1]) * (1 << q.add_left_shift);
  const std::int32_t sum = multiply_by_quantized_multiplier(x1, q.add_input1) + multiply_by_quantized_multiplier(x2, q.add_input2);
  const std::int64_t v = static_cast<std::int64_t>(multiply_by_quantized_multiplier(sum, q.add_output)) + q.output.zero_point;
  return static_cast<std::int8_t>(std::clamp<std::int64_t>(v, -128, 127));
}

std::int8_t ReferenceEngine::concat(int layer, int j, std::int8_t v) const {
  const auto li = static_cast<std::size_t>(layer);
  const QuantizedLayer& q = model_.layers[li];
  const std::int32_t scaled = multiply_by_quantized_multiplier(
      (v - constants_[li].zero_point[static_cast<std::size_t>(j)]) * (1 << q.add_left_shift),
      q.concat_input[static_cast<std::size_t>(j)]);
  return static_cast<std::int8_t>(std::clamp(scaled + q.output.zero_point, -128, 127));
}

void ReferenceEngine::run_layer(int li, InferenceTrace& trace) const {
  const auto i = static_cast<std::size_t>(li);
  std::vector<const std::vector<std::int8_t>*> inputs;
  for (const int from : model_.arch.layer(li).inputs()) inputs.push_back(&tensor(trace, from));
  compute_layer(li, inputs, trace.acc[i], trace.out[i]);
}

void ReferenceEngine::compute_layer(int li, const std::vector<const std::vector<std::int8_t>*>& inputs,
                                    std::vector<std::int32_t>& acc, std::vector<std::int8_t>& y) const {
  const auto i = static_cast<std::size_t>(li);
  const LayerSpec& l = model_.arch.layer(li);
  const QuantizedLayer& q = model_.layers[i];
  const Shape out = model_.arch.output_shape(li);
  const std::vector<std::int8_t>& x = *inputs.at(0);
  switch (l.kind) {
    case LayerKind::kConv2d:
    case LayerKind::kLinear: {
      const GemmShape g = model_.arch.gemm(li);
      const std::int8_t* a = x.data();
      if (l.kind == LayerKind::kConv2d) {
        thread_local std::vector<std::int8_t> rows;
        rows.resize(static_cast<std::size_t>(g.m) * g.k);
        im2col_s8(x.data(), model_.arch.im2col(li), g, static_cast<std::int8_t>(constants_[i].zero_point[0]), rows.data());
        a = rows.data();
      }
      acc.resize(static_cast<std::size_t>(g.m) * g.n);
      if (g.groups == 1) {
        gemm_s8s8s32(g.m, g.n, g.k, a, q.weight.data(), effective_bias_[i].data(), acc.data());
      } else {
        // A grouped convolution, one GEMM per group on its K- and N-columns:
        // the structural zeros outside the groups add nothing (docs/quantization.md).
        const int kg = g.k_per_group(), ng = g.n_per_group();
        for (int grp = 0; grp < g.groups; ++grp) {
          const std::size_t k0 = static_cast<std::size_t>(grp) * kg, n0 = static_cast<std::size_t>(grp) * ng;
          gemm_s8s8s32_strided(g.m, ng, kg, a + k0, g.k, q.weight.data() + n0 * g.k + k0, g.k,
                               effective_bias_[i].data() + n0, acc.data() + n0 * g.m);
        }
      }
      y.resize(acc.size());
      for (int n = 0; n < g.n; ++n) {
        const QuantizedMultiplier mult = q.multiplier[static_cast<std::size_t>(n)];
        const std::int32_t* an = acc.data() + static_cast<std::size_t>(n) * g.m;
        std::int8_t* yn = y.data() + static_cast<std::size_t>(n) * g.m;
        requantize_span(an, static_cast<std::size_t>(g.m), mult, q.output.zero_point, q.fused_relu, yn);
      }
      break;
    }
    case LayerKind::kReLU:
    case LayerKind::kClip:
    case LayerKind::kLeakyReLU:
    case LayerKind::kFlatten:
      y.resize(x.size());
      for (std::size_t e = 0; e < x.size(); ++e) y[e] = pointwise(li, x[e]);
      break;
    case LayerKind::kMaxPool2d:
    case LayerKind::kAvgPool2d: {
      y.resize(out.size());
      const auto read = [&x](std::size_t e) { return x[e]; };
      for (int c = 0; c < out.c; ++c)
        for (int oy = 0; oy < out.h; ++oy)
          for (int ox = 0; ox < out.w; ++ox)
            y[(static_cast<std::size_t>(c) * out.h + oy) * out.w + ox] = pool(li, read, c, oy, ox);
      break;
    }
    case LayerKind::kConcat: {
      y.resize(out.size());
      std::size_t at = 0;
      for (std::size_t j = 0; j < inputs.size(); ++j)
        for (const std::int8_t v : *inputs[j]) y[at++] = concat(li, static_cast<int>(j), v);
      break;
    }
    case LayerKind::kAdd: {
      const std::vector<std::int8_t>& x2 = *inputs.at(1);
      y.resize(x.size());
      for (std::size_t e = 0; e < x.size(); ++e) y[e] = add(li, x[e], x2[e]);
      break;
    }
  }
}

int ReferenceEngine::top1(const std::vector<std::int8_t>& logits) {
  return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

}  // namespace isimdl
