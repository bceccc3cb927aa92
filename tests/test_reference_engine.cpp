#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "model_fixtures.h"
#include "models/random.h"
#include "models/reference_engine.h"

namespace isimdl {
namespace {

using testing_fixtures::every_layer_architecture;
using testing_fixtures::mnist_subset;
using testing_fixtures::quantized_random_model;

__extension__ typedef __int128 Int128;

// A second, deliberately naive implementation of docs/quantization.md:
// direct convolution over valid positions with (x - zp) operands and the
// unfolded bias, and requantization in exact 128-bit arithmetic. It shares
// no code with the engine but the model data.
std::int64_t exact_requant(std::int64_t acc, const QuantizedMultiplier& m) {
  EXPECT_LE(m.shift, 0);
  const Int128 num = static_cast<Int128>(acc) * m.multiplier + (static_cast<Int128>(1) << 30);
  Int128 q = num / (static_cast<Int128>(1) << 31);
  if (num % (static_cast<Int128>(1) << 31) != 0 && num < 0) --q;
  const auto high = static_cast<std::int64_t>(q);
  const int e = -m.shift;
  if (e == 0) return high;
  const std::int64_t d = std::int64_t{1} << e;
  const std::int64_t mag = (std::llabs(high) + d / 2) / d;
  return high < 0 ? -mag : mag;
}

// The element-wise layers' arithmetic, one output at a time.
int naive_pointwise(const QuantizedModel& model, int li, int x) {
  const LayerSpec& l = model.arch.layer(li);
  const QuantizedLayer& q = model.layers[static_cast<std::size_t>(li)];
  const QuantParams qp = model.tensor_qparams(l.input);
  switch (l.kind) {
    case LayerKind::kReLU: return std::max(x, qp.zero_point);
    case LayerKind::kFlatten: return x;
    case LayerKind::kClip: {
      // The bounds on the input's grid, rounded half away from zero.
      const int lo = std::clamp(static_cast<int>(std::round(l.clip_lo / qp.scale)) + qp.zero_point, -128, 127);
      const int hi = std::clamp(static_cast<int>(std::round(l.clip_hi / qp.scale)) + qp.zero_point, -128, 127);
      return std::clamp(x, lo, hi);
    }
    case LayerKind::kLeakyReLU: {
      const int centred = x - qp.zero_point;
      const std::int64_t v = centred >= 0 ? centred : exact_requant(centred, q.leaky_alpha);
      return static_cast<int>(std::clamp<std::int64_t>(v + qp.zero_point, -128, 127));
    }
    default: ADD_FAILURE() << "layer " << li << " is not element-wise"; return 0;
  }
}

int naive_concat(const QuantizedModel& model, int li, int j, int v) {
  const QuantizedLayer& q = model.layers[static_cast<std::size_t>(li)];
  const int from = model.arch.layer(li).inputs()[static_cast<std::size_t>(j)];
  const std::int64_t scaled = exact_requant(
      static_cast<std::int64_t>(v - model.tensor_qparams(from).zero_point) * (std::int64_t{1} << q.add_left_shift),
      q.concat_input[static_cast<std::size_t>(j)]);
  return static_cast<int>(std::clamp<std::int64_t>(scaled + q.output.zero_point, -128, 127));
}

int naive_add(const QuantizedModel& model, int li, int x1, int x2) {
  const LayerSpec& l = model.arch.layer(li);
  const QuantizedLayer& q = model.layers[static_cast<std::size_t>(li)];
  const QuantParams q1 = model.tensor_qparams(l.input), q2 = model.tensor_qparams(l.input2);
  // Per input: (x - zp) * 2^20 scaled by its multiplier, then the sum requantized.
  const std::int64_t a = exact_requant(static_cast<std::int64_t>(x1 - q1.zero_point) * (std::int64_t{1} << q.add_left_shift), q.add_input1);
  const std::int64_t b = exact_requant(static_cast<std::int64_t>(x2 - q2.zero_point) * (std::int64_t{1} << q.add_left_shift), q.add_input2);
  return static_cast<int>(std::clamp<std::int64_t>(exact_requant(a + b, q.add_output) + q.output.zero_point, -128, 127));
}

struct NaiveTrace {
  std::vector<std::vector<std::int64_t>> acc;
  std::vector<std::vector<int>> out;
};

NaiveTrace naive_run(const QuantizedModel& model, const std::uint8_t* pixels) {
  const Architecture& arch = model.arch;
  std::vector<int> input(arch.input_shape().size());
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = pixels[i] - 128;
  NaiveTrace t;
  t.acc.resize(static_cast<std::size_t>(arch.size()));
  t.out.resize(static_cast<std::size_t>(arch.size()));
  auto tensor = [&](int i) -> const std::vector<int>& { return i < 0 ? input : t.out[static_cast<std::size_t>(i)]; };
  for (int li = 0; li < arch.size(); ++li) {
    const LayerSpec& l = arch.layer(li);
    const QuantizedLayer& q = model.layers[static_cast<std::size_t>(li)];
    const Shape in = arch.output_shape(l.input), out = arch.output_shape(li);
    const std::vector<int>& x = tensor(l.input);
    const int zp_in = model.tensor_qparams(l.input).zero_point;
    auto& acc = t.acc[static_cast<std::size_t>(li)];
    auto& y = t.out[static_cast<std::size_t>(li)];
    y.assign(out.size(), 0);
    if (arch.has_weights(li)) {
      const bool conv = l.kind == LayerKind::kConv2d;
      const Window2d w = l.window;
      const int kh = conv ? w.kernel_h : 1, kw = conv ? w.kernel_w : 1;
      const int cin = conv ? in.c : static_cast<int>(in.size());
      const int groups = conv ? l.groups : 1;
      const int cin_g = cin / groups, cout_g = out.c / groups;
      acc.assign(out.size(), 0);
      for (int n = 0; n < out.c; ++n)
        for (int oy = 0; oy < out.h; ++oy)
          for (int ox = 0; ox < out.w; ++ox) {
            std::int64_t sum = q.bias[static_cast<std::size_t>(n)];
            // Only the input channels of n's group.
            for (int c = (n / cout_g) * cin_g; c < (n / cout_g + 1) * cin_g; ++c)
              for (int i = 0; i < kh; ++i)
                for (int j = 0; j < kw; ++j) {
                  const int yy = oy * w.stride_h - w.pad_top + i * w.dilation_h;
                  const int xx = ox * w.stride_w - w.pad_left + j * w.dilation_w;
                  if (conv && (yy < 0 || yy >= in.h || xx < 0 || xx >= in.w)) continue;
                  const int v = conv ? x[static_cast<std::size_t>((c * in.h + yy) * in.w + xx)] : x[static_cast<std::size_t>(c)];
                  const int wt = q.weight[static_cast<std::size_t>(((n * cin + c) * kh + i) * kw + j)];
                  sum += static_cast<std::int64_t>(v - zp_in) * wt;
                }
            const std::size_t e = static_cast<std::size_t>((n * out.h + oy) * out.w + ox);
            acc[e] = sum;
            const std::int64_t r = exact_requant(sum, q.multiplier[static_cast<std::size_t>(n)]) + q.output.zero_point;
            y[e] = static_cast<int>(std::clamp<std::int64_t>(r, q.fused_relu ? q.output.zero_point : -128, 127));
          }
      continue;
    }
    switch (l.kind) {
      case LayerKind::kReLU:
        for (std::size_t e = 0; e < y.size(); ++e) y[e] = std::max(x[e], zp_in);
        break;
      case LayerKind::kFlatten:
        y = x;
        break;
      case LayerKind::kMaxPool2d:
      case LayerKind::kAvgPool2d: {
        const Window2d w = l.window;
        for (int c = 0; c < out.c; ++c)
          for (int oy = 0; oy < out.h; ++oy)
            for (int ox = 0; ox < out.w; ++ox) {
              std::vector<int> window;
              int padded = 0;  // window positions inside the padded input but outside the input
              for (int i = 0; i < w.kernel_h; ++i)
                for (int j = 0; j < w.kernel_w; ++j) {
                  const int yy = oy * w.stride_h - w.pad_top + i * w.dilation_h;
                  const int xx = ox * w.stride_w - w.pad_left + j * w.dilation_w;
                  if (yy >= 0 && yy < in.h && xx >= 0 && xx < in.w)
                    window.push_back(x[static_cast<std::size_t>((c * in.h + yy) * in.w + xx)]);
                  else if (yy >= -w.pad_top && yy < in.h + w.pad_bottom && xx >= -w.pad_left && xx < in.w + w.pad_right)
                    ++padded;
                }
              int v = *std::max_element(window.begin(), window.end());
              if (l.kind == LayerKind::kAvgPool2d) {
                double sum = 0;
                for (int e : window) sum += e;
                double count = static_cast<double>(window.size());
                if (l.count_include_pad) sum += padded * zp_in, count += padded;
                v = std::clamp(static_cast<int>(std::round(sum / count)), -128, 127);  // half away from zero
              }
              y[static_cast<std::size_t>((c * out.h + oy) * out.w + ox)] = v;
            }
        break;
      }
      case LayerKind::kClip:
      case LayerKind::kLeakyReLU:
        for (std::size_t e = 0; e < y.size(); ++e) y[e] = naive_pointwise(model, li, x[e]);
        break;
      case LayerKind::kConcat: {
        std::size_t at = 0;
        const std::vector<int> from = l.inputs();
        for (std::size_t j = 0; j < from.size(); ++j)
          for (int v : tensor(from[j])) y[at++] = naive_concat(model, li, static_cast<int>(j), v);
        break;
      }
      case LayerKind::kAdd: {
        const std::vector<int>& x2 = tensor(l.input2);
        for (std::size_t e = 0; e < y.size(); ++e) y[e] = naive_add(model, li, x[e], x2[e]);
        break;
      }
      default:
        break;
    }
  }
  return t;
}

// Every layer of the engine against the naive implementation on `images`
// images, run image by image (run) and for all images at once
// (compute_layers, whose GEMMs take several images' columns side by side).
void expect_engine_matches_naive(const QuantizedModel& model, int images) {
  ReferenceEngine engine(model);
  std::vector<InferenceTrace> traces(static_cast<std::size_t>(images));
  std::vector<NaiveTrace> naives;
  for (int img = 0; img < images; ++img) {
    const std::uint8_t* pixels = mnist_subset().images.image(img);
    InferenceTrace& trace = traces[static_cast<std::size_t>(img)];
    engine.run(pixels, trace);
    naives.push_back(naive_run(model, pixels));
    const NaiveTrace& naive = naives.back();
    for (int li = 0; li < model.arch.size(); ++li) {
      const auto i = static_cast<std::size_t>(li);
      ASSERT_EQ(trace.out[i].size(), naive.out[i].size());
      for (std::size_t e = 0; e < naive.out[i].size(); ++e)
        ASSERT_EQ(trace.out[i][e], naive.out[i][e]) << "image " << img << " layer " << li << " element " << e;
      for (std::size_t e = 0; e < naive.acc[i].size(); ++e)
        ASSERT_EQ(trace.acc[i][e], naive.acc[i][e]) << "image " << img << " layer " << li << " accumulator " << e;
    }
  }
  // All images at once, each layer from the (checked) tensors before it.
  std::vector<std::vector<std::int8_t>> outs(static_cast<std::size_t>(images));
  for (int li = 0; li < model.arch.size(); ++li) {
    const auto i = static_cast<std::size_t>(li);
    std::vector<std::vector<const std::vector<std::int8_t>*>> inputs;
    std::vector<std::vector<std::int8_t>*> out;
    for (int img = 0; img < images; ++img) {
      const InferenceTrace& t = traces[static_cast<std::size_t>(img)];
      inputs.emplace_back();
      for (const int from : model.arch.layer(li).inputs())
        inputs.back().push_back(from < 0 ? &t.input : &t.out[static_cast<std::size_t>(from)]);
      out.push_back(&outs[static_cast<std::size_t>(img)]);
    }
    engine.compute_layers(li, inputs, out);
    for (int img = 0; img < images; ++img) {
      const std::vector<int>& expected = naives[static_cast<std::size_t>(img)].out[i];
      const std::vector<std::int8_t>& got = outs[static_cast<std::size_t>(img)];
      ASSERT_EQ(got.size(), expected.size()) << "layer " << li;
      for (std::size_t e = 0; e < got.size(); ++e)
        ASSERT_EQ(got[e], expected[e]) << "all images at once: image " << img << " layer " << li << " element " << e;
    }
  }
}

TEST(ReferenceEngine, Lenet5MatchesNaiveImplementationBitForBit) {
  expect_engine_matches_naive(quantized_random_model(zoo_architecture("lenet5"), 11), 20);
}

TEST(ReferenceEngine, EveryLayerKindMatchesNaiveImplementation) {
  expect_engine_matches_naive(quantized_random_model(every_layer_architecture(), 12), 20);
}

TEST(ReferenceEngine, ModernLayersMatchNaiveImplementation) {
  const Architecture arch = testing_fixtures::modern_layer_architecture();
  EXPECT_EQ(arch.output_shape(2), (Shape{8, 14, 14}));
  EXPECT_EQ(arch.output_shape(5), (Shape{16, 14, 14}));
  EXPECT_EQ(arch.output_shape(7), (Shape{16, 8, 8}));  // ceil((14 + 2 - 3) / 2) + 1
  EXPECT_EQ(arch.output_shape(8), (Shape{16, 5, 5}));
  // Block-diagonal GEMMs: K spans every input channel; parameters exist per group only.
  EXPECT_EQ(arch.gemm(2).k, 8 * 9);
  EXPECT_EQ(arch.parameter_count(), (9 * 8 + 8) + (9 * 8 + 8) + (3 * 4 * 8 + 8) + (16 * 10 + 10));
  expect_engine_matches_naive(quantized_random_model(arch, 16), 20);
}

// The engine tabulates its element-wise layers; every entry of every table,
// i.e. every possible input, against the naive arithmetic.
TEST(ReferenceEngine, ElementWiseTablesMatchNaiveArithmeticOnEveryInput) {
  int add_layers = 0, concat_layers = 0, pointwise_layers = 0;
  for (const Architecture& arch : {every_layer_architecture(), testing_fixtures::modern_layer_architecture()}) {
    const QuantizedModel model = quantized_random_model(arch, 17);
    const ReferenceEngine engine(model);
    for (int li = 0; li < arch.size(); ++li) {
      const LayerSpec& l = arch.layer(li);
      for (int a = -128; a < 128; ++a) {
        const auto a8 = static_cast<std::int8_t>(a);
        switch (l.kind) {
          case LayerKind::kReLU:
          case LayerKind::kClip:
          case LayerKind::kLeakyReLU:
          case LayerKind::kFlatten:
            ASSERT_EQ(engine.pointwise(li, a8), naive_pointwise(model, li, a)) << "layer " << li << " input " << a;
            pointwise_layers += a == 127;
            break;
          case LayerKind::kConcat:
            for (int j = 0; j < static_cast<int>(l.inputs().size()); ++j)
              ASSERT_EQ(engine.concat(li, j, a8), naive_concat(model, li, j, a)) << "layer " << li << " input " << j << " value " << a;
            concat_layers += a == 127;
            break;
          case LayerKind::kAdd:
            for (int b = -128; b < 128; ++b)
              ASSERT_EQ(engine.add(li, a8, static_cast<std::int8_t>(b)), naive_add(model, li, a, b))
                  << "layer " << li << " inputs " << a << ", " << b;
            add_layers += a == 127;
            break;
          default: break;
        }
      }
    }
  }
  EXPECT_GT(add_layers, 0);
  EXPECT_GT(concat_layers, 0);
  EXPECT_GT(pointwise_layers, 3);
}

TEST(ReferenceEngine, MlpMatchesNaiveImplementation) {
  expect_engine_matches_naive(quantized_random_model(zoo_architecture("mlp"), 13), 5);
}

TEST(ReferenceEngine, IsDeterministicAndRunFromReproducesTail) {
  const QuantizedModel model = quantized_random_model(zoo_architecture("lenet5"), 14);
  ReferenceEngine engine(model);
  InferenceTrace a, b;
  engine.run(mnist_subset().images.image(3), a);
  engine.run(mnist_subset().images.image(3), b);
  EXPECT_EQ(a.out, b.out);
  b.out[5].assign(b.out[5].size(), 0);  // corrupt, then recompute from layer 3
  engine.run_from(3, b);
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.acc, b.acc);
}

TEST(ReferenceEngine, AgreesWithFakeQuantizedFloatNetwork) {
  // The dequantized network (fake quantization) and the int8 engine differ
  // only by rounding inside requantization: logits within a few steps.
  const QuantizedModel model = quantized_random_model(zoo_architecture("lenet5"), 15);
  ReferenceEngine engine(model);
  FloatNetwork net = dequantized_network(model);
  const std::vector<float> inputs = images_to_float(mnist_subset().images, 0, 50);
  ForwardPass pass;
  net.forward(inputs.data(), 50, pass);
  const QuantParams out_q = model.layers.back().output;
  int max_diff = 0;
  InferenceTrace trace;
  for (int img = 0; img < 50; ++img) {
    engine.run(mnist_subset().images.image(img), trace);
    for (int c = 0; c < 10; ++c) {
      const int fq = quantize_activation(pass.logits()[static_cast<std::size_t>(img * 10 + c)], out_q);
      max_diff = std::max(max_diff, std::abs(fq - trace.logits()[static_cast<std::size_t>(c)]));
    }
  }
  EXPECT_LE(max_diff, 3);
}

TEST(ReferenceEngine, GemmShapesAndKOrder) {
  const Architecture arch = zoo_architecture("lenet5");
  EXPECT_EQ(arch.gemm(0).m, 28 * 28);
  EXPECT_EQ(arch.gemm(0).k, 25);
  EXPECT_EQ(arch.gemm(0).n, 6);
  EXPECT_EQ(arch.gemm(3).m, 100);
  EXPECT_EQ(arch.gemm(3).k, 150);
  EXPECT_EQ(arch.gemm(7).k, 400);
  // K order (c, i, j), c slowest: element k of row m is x[c][y+i][x+j].
  LayerSpec l;
  l.kind = LayerKind::kConv2d, l.in_channels = 2, l.out_channels = 1, l.window = Window2d::square(2, 1, 1);
  std::vector<std::int8_t> x{1, 2, 3, 4, 5, 6, 7, 8};  // 2 channels of 2x2
  std::vector<std::int8_t> rows(9 * 8);
  im2col_s8(x.data(), Im2col(l, Shape{2, 2, 2}, Shape{1, 3, 3}), GemmShape{9, 8, 1}, -9, rows.data());
  // Output pixel (1,1) sees input rows 0..1, cols 0..1 of both channels.
  EXPECT_EQ(std::vector<std::int8_t>(rows.begin() + 4 * 8, rows.begin() + 5 * 8),
            (std::vector<std::int8_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  // Output pixel (0,0): only the bottom-right tap of each channel is inside.
  EXPECT_EQ(std::vector<std::int8_t>(rows.begin(), rows.begin() + 8),
            (std::vector<std::int8_t>{-9, -9, -9, 1, -9, -9, -9, 5}));
}

}  // namespace
}  // namespace isimdl

namespace isimdl {
namespace {

// The library GEMM (oneDNN) against the plain loop it replaced, bit for
// bit: shapes from 1x1x1 to long K and odd sizes, operands over the whole
// int8 range (extremes included) and biases that make the int32 sum wrap.
TEST(Gemm, LibraryEqualsThePlainLoop) {
  Random random(5);
  struct Shape {
    int m, n, k;
  };
  std::vector<Shape> shapes = {{1, 1, 1}, {1, 10, 400}, {784, 6, 25}, {100, 16, 150}, {7, 3, 4609}, {256, 256, 256}};
  for (int i = 0; i < 30; ++i)
    shapes.push_back({1 + static_cast<int>(random.uniform_below(300)), 1 + static_cast<int>(random.uniform_below(70)),
                      1 + static_cast<int>(random.uniform_below(1200))});
  for (const Shape& s : shapes)
    for (int extremes = 0; extremes < 2; ++extremes) {
      std::vector<std::int8_t> a(static_cast<std::size_t>(s.m) * s.k), w(static_cast<std::size_t>(s.n) * s.k);
      auto draw = [&] {
        return extremes ? static_cast<std::int8_t>(random.uniform_below(2) ? -128 : 127)
                        : static_cast<std::int8_t>(static_cast<int>(random.uniform_below(256)) - 128);
      };
      for (auto& v : a) v = draw();
      for (auto& v : w) v = draw();
      std::vector<std::int32_t> bias(static_cast<std::size_t>(s.n));
      for (auto& b : bias) b = static_cast<std::int32_t>(static_cast<std::uint32_t>(random.next_u64()));
      std::vector<std::int32_t> want(static_cast<std::size_t>(s.m) * s.n), got(want.size(), 12345);
      gemm_s8s8s32_plain(s.m, s.n, s.k, a.data(), w.data(), bias.data(), want.data());
      gemm_s8s8s32(s.m, s.n, s.k, a.data(), w.data(), bias.data(), got.data());
      ASSERT_EQ(got, want) << s.m << "x" << s.n << "x" << s.k << (extremes ? " extremes" : "");
      // The operand given as its K x M transpose, in a wider buffer (ldat > M):
      // the library and its own plain loop against the row-major plain loop.
      const int ldat = s.m + 3;
      std::vector<std::int8_t> at(static_cast<std::size_t>(s.k) * ldat, 99);
      for (int m = 0; m < s.m; ++m)
        for (int k = 0; k < s.k; ++k) at[static_cast<std::size_t>(k) * ldat + m] = a[static_cast<std::size_t>(m) * s.k + k];
      std::fill(got.begin(), got.end(), 12345);
      gemm_s8s8s32_kxm(s.m, s.n, s.k, at.data(), ldat, w.data(), s.k, bias.data(), got.data());
      ASSERT_EQ(got, want) << s.m << "x" << s.n << "x" << s.k << " K x M";
      std::fill(got.begin(), got.end(), 12345);
      gemm_s8s8s32_kxm_plain(s.m, s.n, s.k, at.data(), ldat, w.data(), s.k, bias.data(), got.data());
      ASSERT_EQ(got, want) << s.m << "x" << s.n << "x" << s.k << " K x M, plain";
      // A sub-block (a group's columns): the strided GEMM against the plain
      // loop on copies of the block.
      if (s.k < 4 || s.n < 2) continue;
      const int k0 = s.k / 4, kc = s.k / 2, n0 = s.n / 2, nc = s.n - n0;
      std::vector<std::int8_t> ab(static_cast<std::size_t>(s.m) * kc), wb(static_cast<std::size_t>(nc) * kc);
      for (int m = 0; m < s.m; ++m)
        for (int k = 0; k < kc; ++k) ab[static_cast<std::size_t>(m) * kc + k] = a[static_cast<std::size_t>(m) * s.k + k0 + k];
      for (int n = 0; n < nc; ++n)
        for (int k = 0; k < kc; ++k) wb[static_cast<std::size_t>(n) * kc + k] = w[static_cast<std::size_t>(n0 + n) * s.k + k0 + k];
      std::vector<std::int32_t> want_b(static_cast<std::size_t>(s.m) * nc), got_b(want_b.size());
      gemm_s8s8s32_plain(s.m, nc, kc, ab.data(), wb.data(), bias.data() + n0, want_b.data());
      gemm_s8s8s32_strided(s.m, nc, kc, a.data() + k0, s.k, w.data() + static_cast<std::size_t>(n0) * s.k + k0, s.k,
                           bias.data() + n0, got_b.data());
      ASSERT_EQ(got_b, want_b) << s.m << "x" << s.n << "x" << s.k << " block";
    }
}

// On the project's machines the library is what runs (a fallback to the
// plain loop would be correct but 5-20x slower, and says why).
TEST(Gemm, TheLibraryRunsHere) { EXPECT_EQ(gemm_backend(), "onednn"); }

}  // namespace
}  // namespace isimdl

namespace isimdl {
namespace {

// The engine's row gather equals im2col's element-wise definition
// (Im2col::input_element) on every convolution of the test architectures:
// strides, dilation, asymmetric padding, groups, rectangular kernels.
TEST(Im2col, GatherEqualsTheElementwiseDefinition) {
  Random random(3);
  int convs = 0, identity_operands = 0;
  for (const Architecture& arch : {testing_fixtures::every_layer_architecture(), testing_fixtures::modern_layer_architecture(),
                                   testing_fixtures::lenet5().arch})
    for (int l = 0; l < arch.size(); ++l) {
      if (!arch.has_weights(l)) continue;
      const GemmShape g = arch.gemm(l);
      const Im2col im2col = arch.im2col(l);
      std::vector<std::int8_t> x(arch.output_shape(arch.layer(l).input).size());
      for (auto& v : x) v = static_cast<std::int8_t>(static_cast<int>(random.uniform_below(256)) - 128);
      std::vector<std::int8_t> got(static_cast<std::size_t>(g.m) * g.k), want(got.size());
      im2col.gather(x.data(), -7, g.m, g.k, got.data());
      for (int m = 0; m < g.m; ++m)
        for (int k = 0; k < g.k; ++k) {
          const std::int64_t e = im2col.input_element(m, k);
          want[static_cast<std::size_t>(m) * g.k + static_cast<std::size_t>(k)] = e < 0 ? std::int8_t{-7} : x[static_cast<std::size_t>(e)];
        }
      ASSERT_EQ(got, want) << arch.name() << " layer " << l;
      // The transposed gather, and the input itself where that is the operand.
      std::vector<std::int8_t> columns(got.size(), 55);
      im2col.gather_columns(x.data(), -7, columns.data());
      const std::int8_t* at = im2col.columns_are_input() ? x.data() : columns.data();
      if (im2col.columns_are_input()) ++identity_operands;
      for (int m = 0; m < g.m; ++m)
        for (int k = 0; k < g.k; ++k)
          ASSERT_EQ(at[static_cast<std::size_t>(k) * g.m + static_cast<std::size_t>(m)], want[static_cast<std::size_t>(m) * g.k + static_cast<std::size_t>(k)])
              << arch.name() << " layer " << l << " m " << m << " k " << k;
      // The controller's address generator, from every start k.
      for (int m = 0; m < g.m; m += 1 + g.m / 7) {
        std::vector<std::int64_t> elements(static_cast<std::size_t>(g.k));
        for (int k0 = 0; k0 < g.k; k0 += 1 + g.k / 5) {
          const int count = g.k - k0;
          im2col.row_elements(m, k0, count, elements.data());
          for (int i = 0; i < count; ++i) ASSERT_EQ(elements[static_cast<std::size_t>(i)], im2col.input_element(m, k0 + i));
        }
      }
      ++convs;
    }
  EXPECT_GE(convs, 8);
  EXPECT_GE(identity_operands, 3);  // the Linear layers
  // A 1x1 convolution of stride 1 reads its input as the operand; strided or
  // padded it does not.
  LayerSpec l;
  l.kind = LayerKind::kConv2d, l.in_channels = 3, l.out_channels = 2, l.window = Window2d::square(1, 1, 0);
  EXPECT_TRUE(Im2col(l, Shape{3, 4, 5}, Shape{2, 4, 5}).columns_are_input());
  std::vector<std::int8_t> x(60), columns(60);
  for (std::size_t e = 0; e < x.size(); ++e) x[e] = static_cast<std::int8_t>(e);
  Im2col(l, Shape{3, 4, 5}, Shape{2, 4, 5}).gather_columns(x.data(), 0, columns.data());
  EXPECT_EQ(columns, x);
  l.window = Window2d::square(1, 2, 0);
  EXPECT_FALSE(Im2col(l, Shape{3, 4, 5}, Shape{2, 2, 3}).columns_are_input());
  l.window = Window2d::square(1, 1, 1);
  EXPECT_FALSE(Im2col(l, Shape{3, 4, 5}, Shape{2, 6, 7}).columns_are_input());
}

// The column gather (K x M, its rows ldc apart inside a wider operand, as
// ReferenceEngine::compute_layers places one image's columns among
// others') against the element-wise definition, over windows of every
// kind: kernels 1-5, strides 1-2, dilations 1-2, symmetric and asymmetric
// padding, planes from 1x1 to 9x8 — each of gather_columns' ways (1x1
// identity, stride-1 shifted copies, the general loop) and their edges
// (taps entirely in the padding). Bytes outside the columns stay untouched.
TEST(Im2col, ColumnsInsideAWiderOperandEqualTheDefinition) {
  Random random(5);
  int cases = 0;
  for (int kernel : {1, 2, 3, 5})
    for (int stride : {1, 2})
      for (int dilation : {1, 2})
        for (int pad : {0, 1, 2, 4})
          for (const auto& [h, wd] : {std::pair{1, 1}, std::pair{2, 2}, std::pair{4, 4}, std::pair{3, 7}, std::pair{9, 8}}) {
            LayerSpec l;
            l.kind = LayerKind::kConv2d, l.in_channels = 3, l.out_channels = 2;
            l.window = Window2d::square(kernel, stride, pad);
            l.window.dilation_h = l.window.dilation_w = dilation;
            if (pad == 4) l.window.pad_top = 1, l.window.pad_left = 0, l.window.pad_bottom = 2, l.window.pad_right = 3;
            const Shape in{3, h, wd};
            const int oh = l.window.output_h(h), ow = l.window.output_w(wd);
            if (oh <= 0 || ow <= 0) continue;
            const Im2col im2col(l, in, Shape{2, oh, ow});
            const std::size_t m = static_cast<std::size_t>(oh) * ow, k = static_cast<std::size_t>(3 * kernel * kernel);
            std::vector<std::int8_t> x(in.size());
            for (auto& v : x) v = static_cast<std::int8_t>(static_cast<int>(random.uniform_below(256)) - 128);
            const std::size_t ldc = m + 5, offset = 2;
            std::vector<std::int8_t> operand(k * ldc + offset, 99);
            im2col.gather_columns(x.data(), -7, operand.data() + offset, ldc);
            for (std::size_t kk = 0; kk < k; ++kk)
              for (std::size_t mm = 0; mm < m; ++mm) {
                const std::int64_t e = im2col.input_element(static_cast<int>(mm), static_cast<int>(kk));
                ASSERT_EQ(operand[offset + kk * ldc + mm], e < 0 ? std::int8_t{-7} : x[static_cast<std::size_t>(e)])
                    << "kernel " << kernel << " stride " << stride << " dilation " << dilation << " pad " << pad << " " << h << "x"
                    << wd << " k " << kk << " m " << mm;
              }
            for (std::size_t i = 0; i < operand.size(); ++i)
              if (i < offset || (i - offset) % ldc >= m) {
                ASSERT_EQ(operand[i], 99) << "byte " << i << " outside the columns";
              }
            ++cases;
          }
  EXPECT_GT(cases, 200);
}

}  // namespace
}  // namespace isimdl
