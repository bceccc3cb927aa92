#include "models/reference_engine.h"

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

void im2col_s8(const std::int8_t* x, const Shape& in, const LayerSpec& l, const Shape& out, std::int8_t pad_value,
               std::int8_t* rows) {
  const int k_count = in.c * l.kernel * l.kernel;
  for (int oy = 0; oy < out.h; ++oy)
    for (int ox = 0; ox < out.w; ++ox) {
      std::int8_t* row = rows + static_cast<std::size_t>(oy * out.w + ox) * k_count;
      int k = 0;
      for (int c = 0; c < in.c; ++c)
        for (int i = 0; i < l.kernel; ++i) {
          const int y = oy * l.stride - l.padding + i;
          for (int j = 0; j < l.kernel; ++j, ++k) {
            const int xx = ox * l.stride - l.padding + j;
            row[k] = (y >= 0 && y < in.h && xx >= 0 && xx < in.w) ? x[(static_cast<std::size_t>(c) * in.h + y) * in.w + xx]
                                                                   : pad_value;
          }
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

void ReferenceEngine::run(const std::uint8_t* pixels, InferenceTrace& trace) const {
  const std::size_t n = model_.arch.input_shape().size();
  trace.input.resize(n);
  // MNIST input quantization (scale 1/255, zero point -128) is exact.
  for (std::size_t i = 0; i < n; ++i) trace.input[i] = static_cast<std::int8_t>(static_cast<int>(pixels[i]) - 128);
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
      im2col_s8(x.data(), in, l, out, static_cast<std::int8_t>(model_.tensor_qparams(l.input).zero_point), rows.data());
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
      const int count = l.kernel * l.kernel;
      for (int c = 0; c < out.c; ++c)
        for (int oy = 0; oy < out.h; ++oy)
          for (int ox = 0; ox < out.w; ++ox) {
            int best = -128, sum = 0;
            for (int a = 0; a < l.kernel; ++a)
              for (int b = 0; b < l.kernel; ++b) {
                const int v = x[(static_cast<std::size_t>(c) * in.h + oy * l.stride + a) * in.w + ox * l.stride + b];
                best = std::max(best, v);
                sum += v;
              }
            // Average: rounded to nearest, ties away from zero.
            const int avg = sum >= 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
            y[(static_cast<std::size_t>(c) * out.h + oy) * out.w + ox] =
                static_cast<std::int8_t>(l.kind == LayerKind::kMaxPool2d ? best : std::clamp(avg, -128, 127));
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
