#include "models/reference_engine.h"

#include <fmt/format.h>

#include <algorithm>

#include "models/error.h"

namespace isimdl {


namespace {

// out[e] = table[(uint8) x[e]]: an element-wise layer of one input.
void lookup(const std::int8_t* __restrict table, const std::int8_t* __restrict x, std::size_t count,
            std::int8_t* __restrict out) {
  for (std::size_t e = 0; e < count; ++e) out[e] = table[static_cast<std::uint8_t>(x[e])];
}

}  // namespace

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
    // Every output of an element-wise layer is a function of one or two int8
    // inputs: tabulate it once from the arithmetic below, so that the dense
    // loops and the propagation of a fault's effect read one table entry per
    // element instead of evaluating up to three fixed-point multiplications.
    std::vector<std::int8_t>& table = constants_[li].table;
    switch (l.kind) {
      case LayerKind::kReLU:
      case LayerKind::kClip:
      case LayerKind::kLeakyReLU:
      case LayerKind::kFlatten:
        table.resize(256);
        for (int v = -128; v < 128; ++v) table[static_cast<std::uint8_t>(v)] = pointwise_arithmetic(i, static_cast<std::int8_t>(v));
        break;
      case LayerKind::kConcat:
        table.resize(256 * l.inputs().size());
        for (std::size_t j = 0; j < l.inputs().size(); ++j)
          for (int v = -128; v < 128; ++v)
            table[256 * j + static_cast<std::uint8_t>(v)] = concat_arithmetic(i, static_cast<int>(j), static_cast<std::int8_t>(v));
        break;
      case LayerKind::kAdd:
        table.resize(256 * 256);
        for (int a = -128; a < 128; ++a)
          for (int b = -128; b < 128; ++b)
            table[add_index(static_cast<std::int8_t>(a), static_cast<std::int8_t>(b))] =
                add_arithmetic(i, static_cast<std::int8_t>(a), static_cast<std::int8_t>(b));
        break;
      default: break;
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

std::int8_t ReferenceEngine::pointwise_arithmetic(int layer, std::int8_t x) const {
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

std::int8_t ReferenceEngine::add_arithmetic(int layer, std::int8_t a, std::int8_t b) const {
  const auto li = static_cast<std::size_t>(layer);
  const QuantizedLayer& q = model_.layers[li];
  const Constants& k = constants_[li];
  const std::int32_t x1 = (a - k.zero_point[0]) * (1 << q.add_left_shift);
  const std::int32_t x2 = (b - k.zero_point[1]) * (1 << q.add_left_shift);
  const std::int32_t sum = multiply_by_quantized_multiplier(x1, q.add_input1) + multiply_by_quantized_multiplier(x2, q.add_input2);
  const std::int64_t v = static_cast<std::int64_t>(multiply_by_quantized_multiplier(sum, q.add_output)) + q.output.zero_point;
  return static_cast<std::int8_t>(std::clamp<std::int64_t>(v, -128, 127));
}

std::int8_t ReferenceEngine::concat_arithmetic(int layer, int j, std::int8_t v) const {
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

namespace {

// Max pooling, as pool() defines it (the largest value at the window's
// positions inside the input), computed separably: each input row padded
// with -128 (which never exceeds a value inside, and is pool()'s start), the
// maximum over the kernel's columns for every output column, then over the
// kernel's rows. No branch per tap; the same bits as pool().
void max_pool(const Window2d& w, const Shape& in, const Shape& out, const std::int8_t* x, std::int8_t* y) {
  const int rows = (out.h - 1) * w.stride_h + (w.kernel_h - 1) * w.dilation_h + 1;
  const int cols = (out.w - 1) * w.stride_w + (w.kernel_w - 1) * w.dilation_w + 1;
  thread_local std::vector<std::int8_t> padded, row_max;
  padded.resize(static_cast<std::size_t>(cols));
  row_max.resize(static_cast<std::size_t>(rows) * out.w);
  std::int8_t* __restrict p = padded.data();
  for (int c = 0; c < in.c; ++c) {
    const std::int8_t* plane = x + static_cast<std::size_t>(c) * in.h * in.w;
    for (int r = 0; r < rows; ++r) {
      std::int8_t* __restrict m = row_max.data() + static_cast<std::size_t>(r) * out.w;
      const int yy = r - w.pad_top;
      if (yy < 0 || yy >= in.h) {
        std::fill(m, m + out.w, std::int8_t{-128});
        continue;
      }
      const std::int8_t* row = plane + static_cast<std::size_t>(yy) * in.w;
      for (int i = 0; i < cols; ++i) {
        const int xx = i - w.pad_left;
        p[i] = xx >= 0 && xx < in.w ? row[xx] : std::int8_t{-128};
      }
      for (int ox = 0; ox < out.w; ++ox) {
        const std::int8_t* q = p + static_cast<std::ptrdiff_t>(ox) * w.stride_w;
        std::int8_t best = q[0];
        for (int b = 1; b < w.kernel_w; ++b) best = std::max(best, q[static_cast<std::ptrdiff_t>(b) * w.dilation_w]);
        m[ox] = best;
      }
    }
    for (int oy = 0; oy < out.h; ++oy) {
      std::int8_t* __restrict o = y + (static_cast<std::size_t>(c) * out.h + oy) * out.w;
      const std::int8_t* first = row_max.data() + static_cast<std::size_t>(oy) * w.stride_h * out.w;
      std::copy(first, first + out.w, o);
      for (int a = 1; a < w.kernel_h; ++a) {
        const std::int8_t* m = first + static_cast<std::size_t>(a) * w.dilation_h * out.w;
        for (int ox = 0; ox < out.w; ++ox) o[ox] = std::max(o[ox], m[ox]);
      }
    }
  }
}

}  // namespace

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
      const Im2col im2col = model_.arch.im2col(li);
      const auto pad = static_cast<std::int8_t>(constants_[i].zero_point[0]);
      acc.resize(static_cast<std::size_t>(g.m) * g.n);
      // A grouped convolution runs one GEMM per group on its K- and
      // N-columns: the structural zeros outside the groups add nothing
      // (docs/quantization.md). The operand is K x M — the input itself for
      // a Linear or 1x1 layer, else im2col's columns — except for a grouped
      // layer of fewer than 16 output pixels (late depthwise layers), whose
      // per-group plain loops run faster on M x K rows (measured: 960 groups
      // of 4x1x9, 13 against 26 us; of 16x1x9, 41 against 30 us).
      thread_local std::vector<std::int8_t> operand;
      const bool rows = g.groups > 1 && g.m < 16;
      const std::int8_t* a = x.data();
      if (rows || !im2col.columns_are_input()) {
        operand.resize(static_cast<std::size_t>(g.m) * g.k);
        if (rows)
          im2col_s8(x.data(), im2col, g, pad, operand.data());
        else
          im2col.gather_columns(x.data(), pad, operand.data());
        a = operand.data();
      }
      if (rows) {
        const int kg = g.k_per_group(), ng = g.n_per_group();
        for (int grp = 0; grp < g.groups; ++grp) {
          const std::size_t k0 = static_cast<std::size_t>(grp) * kg, n0 = static_cast<std::size_t>(grp) * ng;
          gemm_s8s8s32_strided(g.m, ng, kg, a + k0, g.k, q.weight.data() + n0 * g.k + k0, g.k,
                               effective_bias_[i].data() + n0, acc.data() + n0 * g.m);
        }
      } else {
        gemm_columns(li, a, static_cast<std::size_t>(g.m), acc.data());
      }
      y.resize(acc.size());
      requantize_columns(li, acc.data(), static_cast<std::size_t>(g.m), 0, y.data());
      break;
    }
    case LayerKind::kReLU:
    case LayerKind::kClip:
    case LayerKind::kLeakyReLU:
    case LayerKind::kFlatten:
      y.resize(x.size());
      // Raw pointers: a byte store through y[e] would make the compiler
      // reload every vector's data pointer after it.
      lookup(constants_[i].table.data(), x.data(), x.size(), y.data());
      break;
    case LayerKind::kMaxPool2d:
      y.resize(out.size());
      max_pool(l.window, model_.arch.output_shape(l.input), out, x.data(), y.data());
      break;
    case LayerKind::kAvgPool2d: {
      y.resize(out.size());
      const std::int8_t* xp = x.data();
      std::int8_t* yp = y.data();
      const auto read = [xp](std::size_t e) { return xp[e]; };
      for (int c = 0; c < out.c; ++c)
        for (int oy = 0; oy < out.h; ++oy)
          for (int ox = 0; ox < out.w; ++ox) *yp++ = pool(li, read, c, oy, ox);
      break;
    }
    case LayerKind::kConcat: {
      y.resize(out.size());
      std::size_t at = 0;
      for (std::size_t j = 0; j < inputs.size(); ++j) {
        lookup(constants_[i].table.data() + 256 * j, inputs[j]->data(), inputs[j]->size(), y.data() + at);
        at += inputs[j]->size();
      }
      break;
    }
    case LayerKind::kAdd: {
      const std::vector<std::int8_t>& x2 = *inputs.at(1);
      y.resize(x.size());
      const std::int8_t* __restrict table = constants_[i].table.data();
      const std::int8_t* __restrict a = x.data();
      const std::int8_t* __restrict b = x2.data();
      std::int8_t* __restrict out_e = y.data();
      for (std::size_t e = 0; e < x.size(); ++e) out_e[e] = table[add_index(a[e], b[e])];
      break;
    }
  }
}

void ReferenceEngine::compute_layers(int li, const std::vector<std::vector<const std::vector<std::int8_t>*>>& inputs,
                                     const std::vector<std::vector<std::int8_t>*>& out) const {
  if (out.size() != inputs.size())
    throw Error(fmt::format("layer {}: {} images' inputs but {} outputs", li, inputs.size(), out.size()));
  thread_local std::vector<std::int32_t> acc;
  const std::size_t count = inputs.size();
  std::size_t per = 1;  // images per GEMM
  GemmShape g;
  if (model_.arch.has_weights(li)) {
    g = model_.arch.gemm(li);
    per = static_cast<std::size_t>(std::max(1, kBatchColumns / g.m));
  }
  const auto i = static_cast<std::size_t>(li);
  const Im2col im2col = per > 1 ? model_.arch.im2col(li) : Im2col();
  thread_local std::vector<std::int8_t> operand;
  for (std::size_t b0 = 0; b0 < count; b0 += per) {
    const std::size_t images = std::min(per, count - b0);
    if (images == 1) {
      compute_layer(li, inputs[b0], acc, *out[b0]);
      continue;
    }
    // Image b's columns are columns [b * M, (b + 1) * M) of every operand row.
    const std::size_t m = static_cast<std::size_t>(g.m), columns = images * m;
    const auto pad = static_cast<std::int8_t>(constants_[i].zero_point[0]);
    operand.resize(static_cast<std::size_t>(g.k) * columns);
    for (std::size_t b = 0; b < images; ++b)
      im2col.gather_columns(inputs[b0 + b].at(0)->data(), pad, operand.data() + b * m, columns);
    acc.resize(static_cast<std::size_t>(g.n) * columns);
    gemm_columns(li, operand.data(), columns, acc.data());
    for (std::size_t b = 0; b < images; ++b) {
      std::vector<std::int8_t>& y = *out[b0 + b];
      y.resize(static_cast<std::size_t>(g.n) * m);
      requantize_columns(li, acc.data(), columns, b * m, y.data());
    }
  }
}

void ReferenceEngine::gemm_columns(int li, const std::int8_t* at, std::size_t columns, std::int32_t* acc) const {
  // A grouped convolution runs one GEMM per group on its K-rows and
  // N-columns: the structural zeros outside the groups add nothing.
  const GemmShape g = model_.arch.gemm(li);
  const QuantizedLayer& q = model_.layers[static_cast<std::size_t>(li)];
  const int kg = g.k_per_group(), ng = g.n_per_group();
  for (int grp = 0; grp < g.groups; ++grp) {
    const std::size_t k0 = static_cast<std::size_t>(grp) * kg, n0 = static_cast<std::size_t>(grp) * ng;
    gemm_s8s8s32_kxm(static_cast<int>(columns), ng, kg, at + k0 * columns, static_cast<int>(columns),
                     q.weight.data() + n0 * g.k + k0, g.k, effective_bias_[static_cast<std::size_t>(li)].data() + n0,
                     acc + n0 * columns);
  }
}

void ReferenceEngine::requantize_columns(int li, const std::int32_t* acc, std::size_t columns, std::size_t first,
                                         std::int8_t* y) const {
  const GemmShape g = model_.arch.gemm(li);
  const QuantizedLayer& q = model_.layers[static_cast<std::size_t>(li)];
  const auto m = static_cast<std::size_t>(g.m);
  for (int n = 0; n < g.n; ++n)
    requantize_span(acc + static_cast<std::size_t>(n) * columns + first, m, q.multiplier[static_cast<std::size_t>(n)],
                    q.output.zero_point, q.fused_relu, y + static_cast<std::size_t>(n) * m);
}

int ReferenceEngine::top1(const std::vector<std::int8_t>& logits) {
  return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

}  // namespace isimdl
