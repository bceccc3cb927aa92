#include "models/float_network.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "models/error.h"
#include "models/random.h"

// The forward and backward passes are compiled for AVX-512, AVX2 and the
// baseline, the version chosen when the program loads (GCC function
// multi-versioning): no -march in the build. This file is compiled with
// -ffp-contract=off (models/CMakeLists.txt), so no version fuses a multiply
// and an add: every version rounds every operation as the baseline does and
// gives the same bits.
#if defined(__x86_64__) && !defined(__clang__)
#define ISIMDL_FLOAT_CLONES __attribute__((target_clones("arch=skylake-avx512", "avx2", "default")))
#else
#define ISIMDL_FLOAT_CLONES
#endif

namespace isimdl {
namespace {

// y += a * x: the one inner loop of every float layer, written so that the
// compiler vectorizes it. Order of additions is fixed, so results are
// deterministic.
inline void axpy(int n, float a, const float* __restrict x, float* __restrict y) {
  for (int i = 0; i < n; ++i) y[i] += a * x[i];
}

// cols[k][m] = A[m][k] (docs/quantization.md), 0 in the padding; col2im_add
// is its transpose, accumulating into dx.
template <bool kGather>
void im2col_walk(const Im2col& im, const Shape& in, const Window2d& w, const Shape& out, int k_count, const float* x,
                 float* cols, float* dx) {
  const int m_count = out.h * out.w;
  for (int k = 0; k < k_count; ++k) {
    const int c = im.k_channel(k), dy = im.k_row(k) * w.dilation_h - w.pad_top, dxo = im.k_col(k) * w.dilation_w - w.pad_left;
    float* row = cols + static_cast<std::size_t>(k) * m_count;
    for (int oy = 0; oy < out.h; ++oy) {
      const int y = oy * w.stride_h + dy;
      const bool y_in = y >= 0 && y < in.h;
      for (int ox = 0; ox < out.w; ++ox) {
        const int xx = ox * w.stride_w + dxo;
        const bool inside = y_in && xx >= 0 && xx < in.w;
        const std::size_t e = (static_cast<std::size_t>(c) * in.h + y) * in.w + xx;
        if (kGather)
          row[oy * out.w + ox] = inside ? x[e] : 0.0f;
        else if (inside)
          dx[e] += row[oy * out.w + ox];
      }
    }
  }
}

QuantParams tensor_qparams(const FakeQuantization& fq, int index) {
  return index < 0 ? fq.input : fq.output[static_cast<std::size_t>(index)];
}

}  // namespace

FloatNetwork::FloatNetwork(Architecture arch) : arch_(std::move(arch)) {
  params_.resize(static_cast<std::size_t>(arch_.size()));
  for (int i = 0; i < arch_.size(); ++i) {
    if (!arch_.has_weights(i)) continue;
    const GemmShape g = arch_.gemm(i);
    params_[static_cast<std::size_t>(i)].weight.assign(static_cast<std::size_t>(g.k) * g.n, 0.0f);
    params_[static_cast<std::size_t>(i)].bias.assign(static_cast<std::size_t>(g.n), 0.0f);
  }
  grads_ = params_;
}

void FloatNetwork::initialize(std::uint64_t seed) {
  Random random(seed);
  for (int i = 0; i < arch_.size(); ++i) {
    if (!arch_.has_weights(i)) continue;
    const GemmShape g = arch_.gemm(i);
    const Im2col im2col = arch_.im2col(i);
    const int groups = arch_.layer(i).kind == LayerKind::kConv2d ? arch_.layer(i).groups : 1;
    const double stddev = std::sqrt(2.0 * groups / g.k);  // fan-in of one group
    std::vector<float>& w = params_[static_cast<std::size_t>(i)].weight;
    for (std::size_t e = 0; e < w.size(); ++e) {
      const float v = static_cast<float>(stddev * random.normal());
      w[e] = im2col.weight_exists(static_cast<int>(e / g.k), static_cast<int>(e % g.k)) ? v : 0.0f;
    }
    std::fill(params_[static_cast<std::size_t>(i)].bias.begin(), params_[static_cast<std::size_t>(i)].bias.end(), 0.0f);
  }
  zero_grads();
}

void FloatNetwork::zero_grads() {
  for (auto& g : grads_) {
    std::fill(g.weight.begin(), g.weight.end(), 0.0f);
    std::fill(g.bias.begin(), g.bias.end(), 0.0f);
  }
}

std::vector<float> FloatNetwork::effective_weight(int layer) const {
  std::vector<float> w = params_[static_cast<std::size_t>(layer)].weight;
  const GemmShape g = arch_.gemm(layer);
  if (arch_.layer(layer).kind == LayerKind::kConv2d && arch_.layer(layer).groups != 1) {
    // Structural zeros of a grouped convolution stay zero whatever params() holds.
    const Im2col im2col = arch_.im2col(layer);
    for (int n = 0; n < g.n; ++n)
      for (int k = 0; k < g.k; ++k)
        if (!im2col.weight_exists(n, k)) w[static_cast<std::size_t>(n) * g.k + k] = 0.0f;
  }
  if (!fake_quant_.enabled) return w;
  for (int n = 0; n < g.n; ++n) {
    float* row = w.data() + static_cast<std::size_t>(n) * g.k;
    const float scale = choose_weight_scale(row, g.k);
    for (int k = 0; k < g.k; ++k) row[k] = scale * static_cast<float>(quantize_weight(row[k], scale));
  }
  return w;
}

std::vector<float> FloatNetwork::effective_bias(int layer) const {
  const auto& p = params_[static_cast<std::size_t>(layer)];
  if (!fake_quant_.enabled) return p.bias;
  const GemmShape g = arch_.gemm(layer);
  const float input_scale = tensor_qparams(fake_quant_, arch_.layer(layer).input).scale;
  std::vector<float> b(p.bias.size());
  for (int n = 0; n < g.n; ++n) {
    const float wscale = choose_weight_scale(p.weight.data() + static_cast<std::size_t>(n) * g.k, g.k);
    const float s = input_scale * wscale;
    b[static_cast<std::size_t>(n)] = s * static_cast<float>(quantize_bias(p.bias[static_cast<std::size_t>(n)], s));
  }
  return b;
}

EffectiveParams FloatNetwork::effective_params() const {
  EffectiveParams e;
  e.weight.resize(static_cast<std::size_t>(arch_.size()));
  e.bias.resize(static_cast<std::size_t>(arch_.size()));
  for (int li = 0; li < arch_.size(); ++li)
    if (arch_.has_weights(li)) {
      e.weight[static_cast<std::size_t>(li)] = effective_weight(li);
      e.bias[static_cast<std::size_t>(li)] = effective_bias(li);
    }
  return e;
}

ISIMDL_FLOAT_CLONES void FloatNetwork::forward(const float* input, int batch, ForwardPass& pass,
                           const ForwardPerturbation* perturbation, const EffectiveParams* effective) const {
  const int layers = arch_.size();
  pass.batch = batch;
  pass.outputs.resize(static_cast<std::size_t>(layers));
  pass.cols.resize(static_cast<std::size_t>(layers));
  pass.argmax.resize(static_cast<std::size_t>(layers));
  pass.pre_quant.resize(static_cast<std::size_t>(layers));
  const std::size_t in_size = arch_.input_shape().size();
  pass.input.assign(input, input + in_size * batch);
  if (fake_quant_.enabled)
    for (float& v : pass.input) v = fake_quantize_activation(v, fake_quant_.input);

  for (int li = 0; li < layers; ++li) {
    const auto i = static_cast<std::size_t>(li);
    const LayerSpec& l = arch_.layer(li);
    const Shape in = arch_.output_shape(l.input);
    const Shape out = arch_.output_shape(li);
    const float* x = l.input < 0 ? pass.input.data() : pass.outputs[static_cast<std::size_t>(l.input)].data();
    std::vector<float>& y = pass.outputs[i];
    y.assign(out.size() * batch, 0.0f);
    switch (l.kind) {
      case LayerKind::kConv2d: {
        const GemmShape g = arch_.gemm(li);
        const Im2col im2col_of_layer = arch_.im2col(li);
        std::vector<float> own_w, own_b;
        const std::vector<float>& w = effective ? effective->weight[i] : (own_w = effective_weight(li));
        const std::vector<float>& b = effective ? effective->bias[i] : (own_b = effective_bias(li));
        pass.cols[i].resize(static_cast<std::size_t>(g.k) * g.m * batch);
        for (int s = 0; s < batch; ++s) {
          float* cols = pass.cols[i].data() + static_cast<std::size_t>(s) * g.k * g.m;
          im2col_walk<true>(im2col_of_layer, in, l.window, out, g.k, x + in.size() * s, cols, nullptr);
          float* ys = y.data() + out.size() * s;
          // Each output is its bias plus w[n][k] * cols[k][m] over k in
          // ascending order (zero weights skipped); tiles of kTileN output
          // channels x kTileM pixels keep their rows in cache while every k
          // is visited, without changing any output's order of additions.
          constexpr int kTileN = 8, kTileM = 512;
          for (int n = 0; n < g.n; ++n)
            std::fill(ys + static_cast<std::size_t>(n) * g.m, ys + static_cast<std::size_t>(n + 1) * g.m,
                      b[static_cast<std::size_t>(n)]);
          for (int m0 = 0; m0 < g.m; m0 += kTileM) {
            const int mt = std::min(kTileM, g.m - m0);
            for (int n0 = 0; n0 < g.n; n0 += kTileN) {
              const int n1 = std::min(g.n, n0 + kTileN);
              for (int k = 0; k < g.k; ++k) {
                const float* col = cols + static_cast<std::size_t>(k) * g.m + m0;
                for (int n = n0; n < n1; ++n) {
                  const float wk = w[static_cast<std::size_t>(n) * g.k + k];
                  if (wk != 0.0f) axpy(mt, wk, col, ys + static_cast<std::size_t>(n) * g.m + m0);
                }
              }
            }
          }
        }
        break;
      }
      case LayerKind::kLinear: {
        const GemmShape g = arch_.gemm(li);
        std::vector<float> own_w, own_b;
        const std::vector<float>& w = effective ? effective->weight[i] : (own_w = effective_weight(li));
        const std::vector<float>& b = effective ? effective->bias[i] : (own_b = effective_bias(li));
        std::vector<float> wt(w.size());
        for (int n = 0; n < g.n; ++n)
          for (int k = 0; k < g.k; ++k) wt[static_cast<std::size_t>(k) * g.n + n] = w[static_cast<std::size_t>(n) * g.k + k];
        for (int s = 0; s < batch; ++s) {
          float* ys = y.data() + static_cast<std::size_t>(s) * g.n;
          std::copy(b.begin(), b.end(), ys);
          const float* xs = x + static_cast<std::size_t>(s) * g.k;
          for (int k = 0; k < g.k; ++k)
            if (xs[k] != 0.0f) axpy(g.n, xs[k], wt.data() + static_cast<std::size_t>(k) * g.n, ys);
        }
        break;
      }
      case LayerKind::kReLU:
        for (std::size_t e = 0; e < y.size(); ++e) y[e] = std::max(x[e], 0.0f);
        break;
      case LayerKind::kMaxPool2d:
      case LayerKind::kAvgPool2d: {
        const bool is_max = l.kind == LayerKind::kMaxPool2d;
        const Window2d& w = l.window;
        if (is_max) pass.argmax[i].assign(y.size(), 0);
        for (int s = 0; s < batch; ++s)
          for (int c = 0; c < out.c; ++c)
            for (int oy = 0; oy < out.h; ++oy)
              for (int ox = 0; ox < out.w; ++ox) {
                const std::size_t o = ((static_cast<std::size_t>(s) * out.c + c) * out.h + oy) * out.w + ox;
                float best = -std::numeric_limits<float>::infinity();
                float sum = 0.0f;
                int inside = 0;
                std::int32_t where = 0;
                for_each_window_position(w, in, oy, ox, [&](int yy, int xx) {
                  const auto at = static_cast<std::int32_t>((c * in.h + yy) * in.w + xx);
                  const float v = x[in.size() * s + static_cast<std::size_t>(at)];
                  sum += v;
                  ++inside;
                  if (v > best) best = v, where = at;
                });
                if (is_max) {
                  y[o] = best;
                  pass.argmax[i][o] = where;
                } else {
                  y[o] = sum / static_cast<float>(l.count_include_pad ? pooling_divisor(w, oy, ox, in) : inside);
                }
              }
        break;
      }
      case LayerKind::kClip:
        for (std::size_t e = 0; e < y.size(); ++e) y[e] = std::clamp(x[e], l.clip_lo, l.clip_hi);
        break;
      case LayerKind::kLeakyReLU:
        for (std::size_t e = 0; e < y.size(); ++e) y[e] = x[e] >= 0.0f ? x[e] : l.alpha * x[e];
        break;
      case LayerKind::kConcat: {
        const std::vector<int> from = l.inputs();
        for (int s = 0; s < batch; ++s) {
          float* ys = y.data() + out.size() * s;
          for (int f : from) {
            const std::size_t n = arch_.output_shape(f).size();
            const float* xf = (f < 0 ? pass.input.data() : pass.outputs[static_cast<std::size_t>(f)].data()) + n * s;
            ys = std::copy(xf, xf + n, ys);
          }
        }
        break;
      }
      case LayerKind::kFlatten:
        std::copy(x, x + y.size(), y.begin());
        break;
      case LayerKind::kAdd: {
        const float* x2 = l.input2 < 0 ? pass.input.data() : pass.outputs[static_cast<std::size_t>(l.input2)].data();
        for (std::size_t e = 0; e < y.size(); ++e) y[e] = x[e] + x2[e];
        break;
      }
    }
    if (perturbation)
      for (const auto& c : perturbation->adds)
        if (c.layer == li) y.at(out.size() * static_cast<std::size_t>(c.sample) + c.element) += c.value;
    if (fake_quant_.enabled && fake_quant_.quantize_output[i]) {
      pass.pre_quant[i] = y;
      for (float& v : y) v = fake_quantize_activation(v, fake_quant_.output[i]);
    } else {
      pass.pre_quant[i].clear();
    }
    if (perturbation)
      for (const auto& c : perturbation->sets)
        if (c.layer == li) y.at(out.size() * static_cast<std::size_t>(c.sample) + c.element) = c.value;
  }
}

ISIMDL_FLOAT_CLONES void FloatNetwork::backward(const ForwardPass& pass, const std::vector<float>& dlogits,
                            ActivationGradients* activations, const EffectiveParams* effective) {
  const int layers = arch_.size();
  const int batch = pass.batch;
  std::vector<std::vector<float>> dout(static_cast<std::size_t>(layers));
  for (int li = 0; li < layers; ++li) dout[static_cast<std::size_t>(li)].assign(pass.outputs[static_cast<std::size_t>(li)].size(), 0.0f);
  std::vector<float> dinput;  // gradients reaching the network input are not needed
  if (dlogits.size() != dout.back().size()) throw Error("backward: dlogits has the wrong size");
  dout.back() = dlogits;
  if (activations) {
    activations->outputs.assign(static_cast<std::size_t>(layers), {});
    activations->pre_quant.assign(static_cast<std::size_t>(layers), {});
  }

  for (int li = layers - 1; li >= 0; --li) {
    const auto i = static_cast<std::size_t>(li);
    const LayerSpec& l = arch_.layer(li);
    const Shape in = arch_.output_shape(l.input);
    const Shape out = arch_.output_shape(li);
    std::vector<float> g = dout[i];
    if (activations) activations->outputs[i] = g;
    if (!pass.pre_quant[i].empty()) {
      // Straight-through: pass where the value was inside the int8 range.
      const QuantParams q = fake_quant_.output[i];
      const float lo = dequantize(-128, q), hi = dequantize(127, q);
      for (std::size_t e = 0; e < g.size(); ++e)
        if (pass.pre_quant[i][e] < lo || pass.pre_quant[i][e] > hi) g[e] = 0.0f;
    }
    if (activations) activations->pre_quant[i] = g;
    const std::vector<int> reads = l.inputs();
    const bool reads_only_input = std::all_of(reads.begin(), reads.end(), [](int f) { return f < 0; });
    if (reads_only_input && !activations && !arch_.has_weights(li)) continue;
    std::vector<float>& dx = l.input < 0 ? dinput : dout[static_cast<std::size_t>(l.input)];
    if (l.input < 0 && dx.empty()) dx.assign(in.size() * batch, 0.0f);
    const float* x = l.input < 0 ? pass.input.data() : pass.outputs[static_cast<std::size_t>(l.input)].data();
    switch (l.kind) {
      case LayerKind::kConv2d: {
        const GemmShape gm = arch_.gemm(li);
        const Im2col im2col_of_layer = arch_.im2col(li);
        std::vector<float> own_w;
        const std::vector<float>& w = effective ? effective->weight[i] : (own_w = effective_weight(li));
        LayerParams& grad = grads_[i];
        std::vector<float> cols_t(static_cast<std::size_t>(gm.m) * gm.k);
        std::vector<float> dcols(static_cast<std::size_t>(gm.k) * gm.m);
        for (int s = 0; s < batch; ++s) {
          const float* cols = pass.cols[i].data() + static_cast<std::size_t>(s) * gm.k * gm.m;
          const float* gs = g.data() + out.size() * s;
          for (int k = 0; k < gm.k; ++k)
            for (int m = 0; m < gm.m; ++m) cols_t[static_cast<std::size_t>(m) * gm.k + k] = cols[static_cast<std::size_t>(k) * gm.m + m];
          std::fill(dcols.begin(), dcols.end(), 0.0f);
          for (int n = 0; n < gm.n; ++n) {
            const float* grow = gs + static_cast<std::size_t>(n) * gm.m;
            float* dw = grad.weight.data() + static_cast<std::size_t>(n) * gm.k;
            float db = 0.0f;
            for (int m = 0; m < gm.m; ++m) {
              db += grow[m];
              if (grow[m] != 0.0f) axpy(gm.k, grow[m], cols_t.data() + static_cast<std::size_t>(m) * gm.k, dw);
            }
            grad.bias[static_cast<std::size_t>(n)] += db;
            for (int k = 0; k < gm.k; ++k) {
              const float wk = w[static_cast<std::size_t>(n) * gm.k + k];
              if (wk != 0.0f) axpy(gm.m, wk, grow, dcols.data() + static_cast<std::size_t>(k) * gm.m);
            }
          }
          if (l.input >= 0 || activations)
            im2col_walk<false>(im2col_of_layer, in, l.window, out, gm.k, nullptr, dcols.data(), dx.data() + in.size() * s);
        }
        // A grouped convolution's structural zeros are not parameters.
        if (l.groups != 1)
          for (int n = 0; n < gm.n; ++n)
            for (int k = 0; k < gm.k; ++k)
              if (!im2col_of_layer.weight_exists(n, k)) grad.weight[static_cast<std::size_t>(n) * gm.k + k] = 0.0f;
        break;
      }
      case LayerKind::kLinear: {
        const GemmShape gm = arch_.gemm(li);
        std::vector<float> own_w;
        const std::vector<float>& w = effective ? effective->weight[i] : (own_w = effective_weight(li));
        LayerParams& grad = grads_[i];
        for (int s = 0; s < batch; ++s) {
          const float* gs = g.data() + static_cast<std::size_t>(s) * gm.n;
          const float* xs = x + static_cast<std::size_t>(s) * gm.k;
          float* dxs = dx.data() + static_cast<std::size_t>(s) * gm.k;
          for (int n = 0; n < gm.n; ++n) {
            if (gs[n] == 0.0f) continue;
            grad.bias[static_cast<std::size_t>(n)] += gs[n];
            axpy(gm.k, gs[n], xs, grad.weight.data() + static_cast<std::size_t>(n) * gm.k);
            axpy(gm.k, gs[n], w.data() + static_cast<std::size_t>(n) * gm.k, dxs);
          }
        }
        break;
      }
      case LayerKind::kReLU: {
        const std::vector<float>& y = pass.outputs[i];
        const std::vector<float>& pre = pass.pre_quant[i].empty() ? y : pass.pre_quant[i];
        for (std::size_t e = 0; e < g.size(); ++e)
          if (pre[e] > 0.0f) dx[e] += g[e];
        break;
      }
      case LayerKind::kMaxPool2d:
        for (int s = 0; s < batch; ++s)
          for (std::size_t o = 0; o < out.size(); ++o) {
            const std::size_t e = out.size() * s + o;
            dx[in.size() * s + static_cast<std::size_t>(pass.argmax[i][e])] += g[e];
          }
        break;
      case LayerKind::kAvgPool2d: {
        const Window2d& w = l.window;
        for (int s = 0; s < batch; ++s)
          for (int c = 0; c < out.c; ++c)
            for (int oy = 0; oy < out.h; ++oy)
              for (int ox = 0; ox < out.w; ++ox) {
                int inside = 0;
                for_each_window_position(w, in, oy, ox, [&](int, int) { ++inside; });
                const int count = l.count_include_pad ? pooling_divisor(w, oy, ox, in) : inside;
                const float v = g[((static_cast<std::size_t>(s) * out.c + c) * out.h + oy) * out.w + ox] / static_cast<float>(count);
                for_each_window_position(w, in, oy, ox, [&](int yy, int xx) {
                  dx[in.size() * s + (static_cast<std::size_t>(c) * in.h + yy) * in.w + xx] += v;
                });
              }
        break;
      }
      case LayerKind::kClip:
        for (std::size_t e = 0; e < g.size(); ++e)
          if (x[e] > l.clip_lo && x[e] < l.clip_hi) dx[e] += g[e];
        break;
      case LayerKind::kLeakyReLU:
        for (std::size_t e = 0; e < g.size(); ++e) dx[e] += x[e] >= 0.0f ? g[e] : l.alpha * g[e];
        break;
      case LayerKind::kConcat: {
        const std::vector<int> from = l.inputs();
        for (int s = 0; s < batch; ++s) {
          const float* gs = g.data() + out.size() * s;
          for (int f : from) {
            const std::size_t n = arch_.output_shape(f).size();
            std::vector<float>& dxf = f < 0 ? dinput : dout[static_cast<std::size_t>(f)];
            if (dxf.empty()) dxf.assign(n * batch, 0.0f);
            float* d = dxf.data() + n * s;
            for (std::size_t e = 0; e < n; ++e) d[e] += gs[e];
            gs += n;
          }
        }
        break;
      }
      case LayerKind::kFlatten:
        for (std::size_t e = 0; e < g.size(); ++e) dx[e] += g[e];
        break;
      case LayerKind::kAdd: {
        for (std::size_t e = 0; e < g.size(); ++e) dx[e] += g[e];
        std::vector<float>& dx2 = l.input2 < 0 ? dinput : dout[static_cast<std::size_t>(l.input2)];
        if (dx2.empty()) dx2.assign(g.size(), 0.0f);
        for (std::size_t e = 0; e < g.size(); ++e) dx2[e] += g[e];
        break;
      }
    }
  }
  if (activations) activations->input = std::move(dinput);
}

double softmax_cross_entropy(const std::vector<float>& logits, const std::vector<int>& labels, int classes,
                             std::vector<float>& dlogits) {
  const int batch = static_cast<int>(labels.size());
  dlogits.assign(logits.size(), 0.0f);
  double loss = 0.0;
  for (int s = 0; s < batch; ++s) {
    const float* z = logits.data() + static_cast<std::size_t>(s) * classes;
    float* dz = dlogits.data() + static_cast<std::size_t>(s) * classes;
    const double zmax = *std::max_element(z, z + classes);
    double sum = 0.0;
    for (int c = 0; c < classes; ++c) sum += std::exp(z[c] - zmax);
    const double log_sum = std::log(sum) + zmax;
    loss += log_sum - z[labels[static_cast<std::size_t>(s)]];
    for (int c = 0; c < classes; ++c)
      dz[c] = static_cast<float>((std::exp(z[c] - log_sum) - (c == labels[static_cast<std::size_t>(s)] ? 1.0 : 0.0)) / batch);
  }
  return loss / batch;
}

int argmax(const float* values, int count) { return static_cast<int>(std::max_element(values, values + count) - values); }

}  // namespace isimdl
