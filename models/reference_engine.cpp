#include "models/reference_engine.h"

#include <fmt/format.h>

#include <algorithm>

#include "models/error.h"

namespace isimdl {


void gemm_s8s8s32(int m_count, int n_count, int k_count, const std::int8_t* a, const std::int8_t* w,
                  const std::int32_t* bias, std::int32_t* acc) {
  for (int n = 0; n < n_count; ++n) {
    const std::int8_t* __restrict wn = w + static_cast<std::size_t>(n) * k_count;
    std::int32_t* accn = acc + static_cast<std::size_t>(n) * m_count;
    for (int m = 0; m < m_count; ++m) {
      const std::int8_t* __restrict am = a + static_cast<std::size_t>(m) * k_count;
      std::int32_t sum = 0;
      for (int k = 0; k < k_count; ++k) sum += static_cast<std::int32_t>(am[k]) * static_cast<std::int32_t>(wn[k]);
      // The accumulator register wraps; the bias add is done unsigned to say so.
      accn[m] = static_cast<std::int32_t>(static_cast<std::uint32_t>(bias[n]) + static_cast<std::uint32_t>(sum));
    }
  }
}

void im2col_s8(const std::int8_t* x, const Im2col& im2col, const GemmShape& g, std::int8_t pad_value, std::int8_t* rows) {
  for (int m = 0; m < g.m; ++m) {
    std::int8_t* row = rows + static_cast<std::size_t>(m) * g.k;
    for (int k = 0; k < g.k; ++k) {
      const std::int64_t e = im2col.input_element(m, k);
      row[k] = e < 0 ? pad_value : x[e];
    }
  }
}

ReferenceEngine::ReferenceEngine(const QuantizedModel& model) : model_(model) {
  if (static_cast<int>(model.layers.size()) != model.arch.size())
    throw Error("reference engine: model has " + std::to_string(model.layers.size()) + " quantized layers for " +
                std::to_string(model.arch.size()) + " architecture layers");
  effective_bias_.resize(model.layers.size());
  for (int i = 0; i < model.arch.size(); ++i)
    if (model.arch.has_weights(i)) effective_bias_[static_cast<std::size_t>(i)] = model.effective_bias(i);
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

void ReferenceEngine::requantize_layer(int li, InferenceTrace& trace) const {
  const auto i = static_cast<std::size_t>(li);
  const QuantizedLayer& q = model_.layers[i];
  const GemmShape g = model_.arch.gemm(li);
  std::vector<std::int8_t>& y = trace.out[i];
  y.resize(static_cast<std::size_t>(g.m) * g.n);
  for (int n = 0; n < g.n; ++n)
    for (int m = 0; m < g.m; ++m) {
      const std::size_t e = static_cast<std::size_t>(n) * g.m + m;
      y[e] = requantize(trace.acc[i][e], q.multiplier[static_cast<std::size_t>(n)], q.output.zero_point, q.fused_relu);
    }
}

void ReferenceEngine::run_layer(int li, InferenceTrace& trace) const {
  const auto i = static_cast<std::size_t>(li);
  const LayerSpec& l = model_.arch.layer(li);
  const QuantizedLayer& q = model_.layers[i];
  const Shape in = model_.arch.output_shape(l.input);
  const Shape out = model_.arch.output_shape(li);
  const std::vector<std::int8_t>& x = tensor(trace, l.input);
  std::vector<std::int8_t>& y = trace.out[i];
  switch (l.kind) {
    case LayerKind::kConv2d: {
      const GemmShape g = model_.arch.gemm(li);
      thread_local std::vector<std::int8_t> rows;
      rows.resize(static_cast<std::size_t>(g.m) * g.k);
      im2col_s8(x.data(), model_.arch.im2col(li), g, static_cast<std::int8_t>(model_.tensor_qparams(l.input).zero_point),
                rows.data());
      trace.acc[i].resize(static_cast<std::size_t>(g.m) * g.n);
      gemm_s8s8s32(g.m, g.n, g.k, rows.data(), q.weight.data(), effective_bias_[i].data(), trace.acc[i].data());
      requantize_layer(li, trace);
      break;
    }
    case LayerKind::kLinear: {
      const GemmShape g = model_.arch.gemm(li);
      trace.acc[i].resize(static_cast<std::size_t>(g.n));
      gemm_s8s8s32(1, g.n, g.k, x.data(), q.weight.data(), effective_bias_[i].data(), trace.acc[i].data());
      requantize_layer(li, trace);
      break;
    }
    case LayerKind::kReLU: {
      const auto zp = static_cast<std::int8_t>(model_.tensor_qparams(l.input).zero_point);
      y.resize(x.size());
      for (std::size_t e = 0; e < x.size(); ++e) y[e] = std::max(x[e], zp);
      break;
    }
    case LayerKind::kMaxPool2d:
    case LayerKind::kAvgPool2d: {
      y.resize(out.size());
      const Window2d& w = l.window;
      const bool is_max = l.kind == LayerKind::kMaxPool2d;
      for (int c = 0; c < out.c; ++c)
        for (int oy = 0; oy < out.h; ++oy)
          for (int ox = 0; ox < out.w; ++ox) {
            int best = -128, sum = 0, inside = 0;
            for_each_window_position(w, in, oy, ox, [&](int yy, int xx) {
              const int v = x[(static_cast<std::size_t>(c) * in.h + yy) * in.w + xx];
              best = std::max(best, v);
              sum += v;
              ++inside;
            });
            int value = best;
            if (!is_max) {
              // Included padding holds the zero point (real 0); the mean of the
              // int8 values, rounded to nearest with ties away from zero.
              const int zp = model_.tensor_qparams(l.input).zero_point;
              const int count = l.count_include_pad ? pooling_divisor(w, oy, ox, in) : inside;
              const int total = sum + (count - inside) * zp;
              const int avg = total >= 0 ? (total + count / 2) / count : (total - count / 2) / count;
              value = std::clamp(avg, -128, 127);
            }
            y[(static_cast<std::size_t>(c) * out.h + oy) * out.w + ox] = static_cast<std::int8_t>(value);
          }
      break;
    }
    case LayerKind::kClip: {
      const QuantParams qp = model_.tensor_qparams(l.input);
      const std::int8_t lo = quantize_activation(l.clip_lo, qp), hi = quantize_activation(l.clip_hi, qp);
      y.resize(x.size());
      for (std::size_t e = 0; e < x.size(); ++e) y[e] = std::clamp(x[e], lo, hi);
      break;
    }
    case LayerKind::kLeakyReLU: {
      const std::int32_t zp = model_.tensor_qparams(l.input).zero_point;
      y.resize(x.size());
      for (std::size_t e = 0; e < x.size(); ++e) {
        const std::int32_t centred = x[e] - zp;
        const std::int32_t v = centred >= 0 ? centred : multiply_by_quantized_multiplier(centred, q.leaky_alpha);
        y[e] = static_cast<std::int8_t>(std::clamp(v + zp, -128, 127));
      }
      break;
    }
    case LayerKind::kConcat: {
      y.resize(out.size());
      std::size_t at = 0;
      const std::vector<int> from = l.inputs();
      for (std::size_t j = 0; j < from.size(); ++j) {
        const std::vector<std::int8_t>& xj = tensor(trace, from[j]);
        const QuantParams qj = model_.tensor_qparams(from[j]);
        for (const std::int8_t v : xj) {
          const std::int32_t scaled = multiply_by_quantized_multiplier((v - qj.zero_point) * (1 << q.add_left_shift),
                                                                      q.concat_input[j]);
          y[at++] = static_cast<std::int8_t>(std::clamp(scaled + q.output.zero_point, -128, 127));
        }
      }
      break;
    }
    case LayerKind::kFlatten:
      y = x;
      break;
    case LayerKind::kAdd: {
      const std::vector<std::int8_t>& x2 = tensor(trace, l.input2);
      const QuantParams q1 = model_.tensor_qparams(l.input), q2 = model_.tensor_qparams(l.input2);
      y.resize(x.size());
      for (std::size_t e = 0; e < x.size(); ++e) {
        const std::int32_t a = (x[e] - q1.zero_point) * (1 << q.add_left_shift);
        const std::int32_t b = (x2[e] - q2.zero_point) * (1 << q.add_left_shift);
        const std::int32_t sum = multiply_by_quantized_multiplier(a, q.add_input1) + multiply_by_quantized_multiplier(b, q.add_input2);
        const std::int64_t v = static_cast<std::int64_t>(multiply_by_quantized_multiplier(sum, q.add_output)) + q.output.zero_point;
        y[e] = static_cast<std::int8_t>(std::clamp<std::int64_t>(v, -128, 127));
      }
      break;
    }
  }
}

int ReferenceEngine::top1(const std::vector<std::int8_t>& logits) {
  return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

}  // namespace isimdl
