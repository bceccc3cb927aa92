#include <gtest/gtest.h>

#include <cmath>

#include "model_fixtures.h"
#include "models/float_network.h"
#include "models/gradients.h"
#include "models/random.h"
#include "models/reference_engine.h"

namespace isimdl {
namespace {

using testing_fixtures::every_layer_architecture;
using testing_fixtures::mnist_subset;
using testing_fixtures::quantized_random_model;

double loss_of(const FloatNetwork& net, const std::vector<float>& input, int batch, const std::vector<int>& labels) {
  ForwardPass pass;
  net.forward(input.data(), batch, pass);
  std::vector<float> d;
  return softmax_cross_entropy(pass.logits(), labels, net.arch().num_classes(), d);
}

// Central finite differences against backpropagation for every parameter of
// a sampled set, and for activations through a perturbation of layer outputs
// (checked via the weights that read them). Float arithmetic: tolerances
// allow for rounding, not for a wrong formula.
void check_gradients(FloatNetwork& net, std::vector<float> input, int batch, std::uint64_t seed) {
  // MNIST's blank background and zero initial biases put many values exactly
  // on ReLU's kink and make max-pooling windows tie, where finite differences
  // measure half-slopes. Gaussian inputs and random biases spread the values
  // out, so that an eps-step crosses almost no kink.
  Random noise(seed + 100);
  for (float& v : input) v = static_cast<float>(noise.normal());
  for (auto& p : net.params())
    for (float& b : p.bias) b = static_cast<float>(0.1 * noise.normal());
  std::vector<int> labels;
  for (int s = 0; s < batch; ++s) labels.push_back(s % net.arch().num_classes());
  ForwardPass pass;
  net.forward(input.data(), batch, pass);
  std::vector<float> dlogits;
  softmax_cross_entropy(pass.logits(), labels, net.arch().num_classes(), dlogits);
  net.zero_grads();
  net.backward(pass, dlogits, nullptr);
  Random random(seed);
  const float eps = 1e-3f;
  int checked = 0, agree = 0;
  for (int li = 0; li < net.arch().size(); ++li) {
    if (!net.arch().has_weights(li)) continue;
    auto& p = net.params()[static_cast<std::size_t>(li)];
    const auto& g = net.grads()[static_cast<std::size_t>(li)];
    for (int t = 0; t < 25; ++t) {
      const bool bias = t % 5 == 0;
      std::vector<float>& values = bias ? p.bias : p.weight;
      const std::size_t idx = random.uniform_below(values.size());
      const float saved = values[idx];
      values[idx] = saved + eps;
      const double up = loss_of(net, input, batch, labels);
      values[idx] = saved - eps;
      const double down = loss_of(net, input, batch, labels);
      values[idx] = saved;
      const double numeric = (up - down) / (2 * eps);
      const double analytic = (bias ? g.bias : g.weight)[idx];
      agree += std::fabs(analytic - numeric) <= 2e-3 + 2e-2 * std::fabs(numeric);
      ++checked;
    }
  }
  // Through a whole network some eps-steps cross a ReLU kink or switch a
  // max-pooling winner, where finite differences are not the derivative;
  // the per-layer tests below are exact, this one bounds the outliers.
  EXPECT_GE(agree, checked * 9 / 10) << agree << " of " << checked << " parameters agree";
}

TEST(FloatNetwork, GradientsMatchFiniteDifferencesEveryLayerKind) {
  FloatNetwork net(every_layer_architecture());
  net.initialize(21);
  const std::vector<float> input = images_to_float(mnist_subset().images, 0, 4);
  check_gradients(net, input, 4, 1);
}

TEST(FloatNetwork, GradientsMatchFiniteDifferencesLenet5) {
  FloatNetwork net(zoo_architecture("lenet5"));
  net.initialize(22);
  const std::vector<float> input = images_to_float(mnist_subset().images, 0, 3);
  check_gradients(net, input, 3, 2);
}

// One layer at a time, loss = sum_i r_i * y_i with random r, inputs chosen
// away from kinks (|x| >= 0.05, pooling windows without near-ties): finite
// differences of inputs and parameters must match backpropagation tightly.
void check_single_layer(const Architecture& arch, std::uint64_t seed) {
  FloatNetwork net(arch);
  net.initialize(seed);
  Random random(seed);
  for (auto& p : net.params())
    for (float& b : p.bias) b = static_cast<float>(0.1 * random.normal());
  const int batch = 2;
  std::vector<float> input(arch.input_shape().size() * batch);
  for (std::size_t i = 0; i < input.size(); ++i) {
    // Distinct values spaced >= 0.05 apart and away from 0.
    const double v = 0.05 * (1 + static_cast<double>((i * 7919) % input.size()));
    input[i] = static_cast<float>(random.uniform01() < 0.5 ? -v : v);
  }
  ForwardPass pass;
  net.forward(input.data(), batch, pass);
  std::vector<float> r(pass.logits().size());
  for (float& v : r) v = static_cast<float>(random.normal());
  auto loss = [&] {
    ForwardPass p;
    net.forward(input.data(), batch, p);
    double sum = 0;
    for (std::size_t i = 0; i < r.size(); ++i) sum += static_cast<double>(r[i]) * p.logits()[i];
    return sum;
  };
  net.zero_grads();
  ActivationGradients act;
  net.backward(pass, r, &act);
  const float eps = 1e-3f;
  auto numeric = [&](float& x) {
    const float saved = x;
    x = saved + eps;
    const double up = loss();
    x = saved - eps;
    const double down = loss();
    x = saved;
    return (up - down) / (2 * eps);
  };
  ASSERT_EQ(act.input.size(), input.size());
  for (int t = 0; t < 40; ++t) {
    const std::size_t i = random.uniform_below(input.size());
    EXPECT_NEAR(act.input[i], numeric(input[i]), 2e-3 + 1e-3 * std::fabs(act.input[i]))
        << to_string(arch.layer(arch.size() - 1).kind) << " input " << i;
  }
  for (int li = 0; li < arch.size(); ++li) {
    if (!arch.has_weights(li)) continue;
    auto& p = net.params()[static_cast<std::size_t>(li)];
    const auto& g = net.grads()[static_cast<std::size_t>(li)];
    for (int t = 0; t < 20; ++t) {
      const std::size_t w = random.uniform_below(p.weight.size());
      EXPECT_NEAR(g.weight[w], numeric(p.weight[w]), 2e-3 + 1e-3 * std::fabs(g.weight[w])) << "weight " << w;
      const std::size_t b = random.uniform_below(p.bias.size());
      EXPECT_NEAR(g.bias[b], numeric(p.bias[b]), 2e-3 + 1e-3 * std::fabs(g.bias[b])) << "bias " << b;
    }
  }
}

LayerSpec make_layer(LayerKind kind, int a = 0, int b = 0, int k = 0, int s = 1, int p = 0) {
  LayerSpec l;
  l.kind = kind;
  if (kind == LayerKind::kConv2d) l.in_channels = a, l.out_channels = b;
  if (kind == LayerKind::kLinear) l.in_features = a, l.out_features = b;
  if (k > 0) l.window = Window2d::square(k, s, p);
  return l;
}

TEST(FloatNetwork, EachLayerBackwardMatchesFiniteDifferences) {
  const Shape in{2, 6, 6};
  check_single_layer(Architecture("conv", in, {make_layer(LayerKind::kConv2d, 2, 3, 3, 1, 1)}), 1);
  check_single_layer(Architecture("conv-strided", in, {make_layer(LayerKind::kConv2d, 2, 3, 3, 2, 2)}), 2);
  check_single_layer(Architecture("linear", in, {make_layer(LayerKind::kFlatten), make_layer(LayerKind::kLinear, 72, 5)}), 3);
  check_single_layer(Architecture("relu", in, {make_layer(LayerKind::kReLU)}), 4);
  check_single_layer(Architecture("maxpool", in, {make_layer(LayerKind::kMaxPool2d, 0, 0, 2, 2)}), 5);
  check_single_layer(Architecture("maxpool-overlap", in, {make_layer(LayerKind::kMaxPool2d, 0, 0, 3, 1)}), 6);
  check_single_layer(Architecture("avgpool", in, {make_layer(LayerKind::kAvgPool2d, 0, 0, 2, 2)}), 7);
  check_single_layer(Architecture("flatten", in, {make_layer(LayerKind::kFlatten)}), 8);
  LayerSpec add = make_layer(LayerKind::kAdd);
  add.input = 0, add.input2 = -1;  // residual: relu(x) + x
  check_single_layer(Architecture("add", in, {make_layer(LayerKind::kReLU), add}), 9);
}

TEST(FloatNetwork, ImportedLayerKindsBackwardMatchFiniteDifferences) {
  const Shape in{2, 6, 6};
  LayerSpec grouped = make_layer(LayerKind::kConv2d, 2, 4);
  grouped.groups = 2;
  grouped.window.kernel_h = 2, grouped.window.kernel_w = 3, grouped.window.dilation_w = 2;
  grouped.window.pad_top = 1, grouped.window.pad_right = 2, grouped.window.stride_h = 2;
  check_single_layer(Architecture("grouped", in, {grouped}), 31);
  LayerSpec depthwise = make_layer(LayerKind::kConv2d, 2, 2, 3, 1, 1);
  depthwise.groups = 2;
  check_single_layer(Architecture("depthwise", in, {depthwise}), 32);
  LayerSpec clip = make_layer(LayerKind::kClip);
  clip.clip_lo = -0.275f, clip.clip_hi = 0.425f;  // between the inputs' 0.05 steps
  check_single_layer(Architecture("clip", in, {clip}), 33);
  LayerSpec leaky = make_layer(LayerKind::kLeakyReLU);
  leaky.alpha = 0.2f;
  check_single_layer(Architecture("leaky", in, {leaky}), 34);
  LayerSpec concat = make_layer(LayerKind::kConcat);
  concat.input = 0, concat.more_inputs = {-1, 0};
  check_single_layer(Architecture("concat", in, {make_layer(LayerKind::kLeakyReLU), concat}), 35);
  for (bool include : {true, false}) {
    LayerSpec avg = make_layer(LayerKind::kAvgPool2d, 0, 0, 3, 2, 1);
    avg.window.ceil_mode = true, avg.count_include_pad = include;
    check_single_layer(Architecture("avgpool-padded", Shape{2, 6, 6}, {avg}), include ? 36 : 37);
  }
  LayerSpec max = make_layer(LayerKind::kMaxPool2d, 0, 0, 3, 2, 1);
  max.window.ceil_mode = true;
  check_single_layer(Architecture("maxpool-padded", in, {max}), 38);
}

TEST(FloatNetwork, GradientsMatchFiniteDifferencesModernLayers) {
  FloatNetwork net(testing_fixtures::modern_layer_architecture());
  net.initialize(24);
  const std::vector<float> input = images_to_float(mnist_subset().images, 0, 3);
  check_gradients(net, input, 3, 3);
}

TEST(FloatNetwork, InputGradientsMatchFiniteDifferences) {
  // dL/d(activation) through every layer kind, checked by perturbing the
  // output of the first layer through a hook: perturb its bias per channel,
  // whose gradient is the sum over the channel's activation gradients.
  FloatNetwork net(every_layer_architecture());
  net.initialize(23);
  const std::vector<float> input = images_to_float(mnist_subset().images, 5, 7);
  std::vector<int> labels{1, 2};
  ForwardPass pass;
  net.forward(input.data(), 2, pass);
  std::vector<float> dlogits;
  softmax_cross_entropy(pass.logits(), labels, 10, dlogits);
  net.zero_grads();
  ActivationGradients act;
  net.backward(pass, dlogits, &act);
  const Shape s = net.arch().output_shape(0);
  for (int c = 0; c < s.c; ++c) {
    double sum = 0;
    for (int b = 0; b < 2; ++b)
      for (int e = 0; e < s.h * s.w; ++e) sum += act.outputs[0][static_cast<std::size_t>((b * s.c + c) * s.h * s.w + e)];
    EXPECT_NEAR(sum, net.grads()[0].bias[static_cast<std::size_t>(c)], 1e-4 + 1e-3 * std::fabs(sum));
  }
}

TEST(FloatNetwork, TrainingIsDeterministicAndLearns) {
  auto run = [] {
    FloatNetwork net(zoo_architecture("lenet5"));
    net.initialize(7);
    TrainOptions options;
    options.epochs = 2;
    options.train_images = 800;
    options.seed = 3;
    train(net, mnist_subset(), options);
    return net;
  };
  const FloatNetwork a = run(), b = run();
  for (std::size_t l = 0; l < a.params().size(); ++l) EXPECT_EQ(a.params()[l].weight, b.params()[l].weight);
  EXPECT_GT(evaluate(a, mnist_subset(), 800, 1000), 0.6);  // well above chance after 1,600 steps of data
}

TEST(FloatNetwork, SgdWithMomentumLearns) {
  FloatNetwork net(zoo_architecture("mlp"));
  net.initialize(8);
  TrainOptions options;
  options.optimizer = OptimizerKind::kSgd;
  options.learning_rate = 0.05;
  options.epochs = 2;
  options.train_images = 800;
  train(net, mnist_subset(), options);
  EXPECT_GT(evaluate(net, mnist_subset(), 800, 1000), 0.6);
}

TEST(Gradients, LastLayerAccumulatorGradientIsSoftmaxMinusTarget) {
  const QuantizedModel model = quantized_random_model(zoo_architecture("lenet5"), 31);
  const int batch = 8;
  for (LossTarget target : {LossTarget::kTrueLabel, LossTarget::kGoldenPrediction}) {
    const NetworkGradients g = compute_gradients(model, mnist_subset(), 0, batch, target);
    // Closed form at the logits: (softmax(z) - onehot(target)) / batch, where
    // z are the fake-quantized logits, masked where the accumulator fell
    // outside the int8 range.
    FloatNetwork net = dequantized_network(model);
    const std::vector<float> inputs = images_to_float(mnist_subset().images, 0, batch);
    ForwardPass pass;
    net.forward(inputs.data(), batch, pass);
    const int last = model.arch.size() - 1;
    const QuantParams q = model.layers.back().output;
    for (int b = 0; b < batch; ++b) {
      const float* z = pass.logits().data() + b * 10;
      double zmax = *std::max_element(z, z + 10), sum = 0;
      for (int c = 0; c < 10; ++c) sum += std::exp(z[c] - zmax);
      for (int c = 0; c < 10; ++c) {
        const float pre = pass.pre_quant[static_cast<std::size_t>(last)][static_cast<std::size_t>(b * 10 + c)];
        const bool in_range = pre >= dequantize(-128, q) && pre <= dequantize(127, q);
        const double expected =
            in_range ? (std::exp(z[c] - zmax) / sum - (c == g.targets[static_cast<std::size_t>(b)])) / batch : 0.0;
        EXPECT_NEAR(g.accumulator[static_cast<std::size_t>(last)][static_cast<std::size_t>(b * 10 + c)], expected, 1e-6);
      }
      if (target == LossTarget::kTrueLabel) {
        EXPECT_EQ(g.targets[static_cast<std::size_t>(b)], mnist_subset().labels[static_cast<std::size_t>(b)]);
      }
    }
    // Every layer has activation gradients; weighted layers have weight and accumulator gradients.
    for (int li = 0; li < model.arch.size(); ++li) {
      EXPECT_EQ(g.activation[static_cast<std::size_t>(li)].size(), model.arch.output_shape(li).size() * batch);
      if (model.arch.has_weights(li)) {
        EXPECT_EQ(g.weight[static_cast<std::size_t>(li)].size(), model.layers[static_cast<std::size_t>(li)].weight.size());
        EXPECT_EQ(g.accumulator[static_cast<std::size_t>(li)].size(), model.arch.output_shape(li).size() * batch);
      }
    }
  }
}

}  // namespace
}  // namespace isimdl

namespace isimdl {
namespace {

TEST(QuantizationAwareTraining, FakeQuantizedAccuracyPredictsInt8Accuracy) {
  FloatNetwork net(zoo_architecture("lenet5"));
  net.initialize(51);
  TrainOptions options;
  options.epochs = 2;
  options.train_images = 700;
  train(net, mnist_subset(), options);
  const std::vector<float> calib = images_to_float(mnist_subset().images, 0, 700);
  net.fake_quant() = make_fake_quantization(net.arch(), calibrate(net, calib, 700), mnist_input_qparams());
  options.epochs = 1;
  options.learning_rate = 1e-4;
  train(net, mnist_subset(), options);  // quantization-aware: fake quantization is on
  const double fake_quant_accuracy = evaluate(net, mnist_subset(), 700, 1000);
  const QuantizedModel model = quantize_network(net, net.fake_quant());
  ReferenceEngine engine(model);
  InferenceTrace trace;
  int correct = 0;
  for (int i = 700; i < 1000; ++i) {
    engine.run(mnist_subset().images.image(i), trace);
    correct += ReferenceEngine::top1(trace.logits()) == mnist_subset().labels[static_cast<std::size_t>(i)];
  }
  EXPECT_GT(fake_quant_accuracy, 0.6);
  EXPECT_NEAR(correct / 300.0, fake_quant_accuracy, 0.02);
}

}  // namespace
}  // namespace isimdl

#include "sampler/sensitivity.h"

namespace isimdl {
namespace {

// The sensitivity of the logits' accumulators is the closed form
// mean_i |softmax(z_i) - onehot(golden_i)| (each image's own loss), on the
// fake-quantized network; every tensor has one value per element.
TEST(Sensitivity, LogitAccumulatorsFollowTheClosedForm) {
  const QuantizedModel model = quantized_random_model(zoo_architecture("lenet5"), 61);
  const int images = 6;
  const auto s = compute_sensitivity(model, mnist_subset(), 0, images);
  const int last = model.arch.size() - 1;
  FloatNetwork net = dequantized_network(model);
  ReferenceEngine engine(model);
  std::vector<double> expected(10, 0.0);
  for (int i = 0; i < images; ++i) {
    const std::vector<float> input = images_to_float(mnist_subset().images, i, i + 1);
    ForwardPass pass;
    net.forward(input.data(), 1, pass);
    InferenceTrace trace;
    engine.run(mnist_subset().images.image(i), trace);
    const int golden = ReferenceEngine::top1(trace.logits());
    const float* z = pass.logits().data();
    const double zmax = *std::max_element(z, z + 10);
    double sum = 0;
    for (int c = 0; c < 10; ++c) sum += std::exp(z[c] - zmax);
    const QuantParams q = model.layers.back().output;
    for (int c = 0; c < 10; ++c) {
      const float pre = pass.pre_quant[static_cast<std::size_t>(last)][static_cast<std::size_t>(c)];
      const bool in_range = pre >= dequantize(-128, q) && pre <= dequantize(127, q);
      if (in_range) expected[static_cast<std::size_t>(c)] += std::fabs(std::exp(z[c] - zmax) / sum - (c == golden)) / images;
    }
  }
  for (int c = 0; c < 10; ++c)
    EXPECT_NEAR(s[static_cast<std::size_t>(last)].accumulator[static_cast<std::size_t>(c)], expected[static_cast<std::size_t>(c)], 1e-5);
  for (int l = 0; l < model.arch.size(); ++l) {
    EXPECT_EQ(s[static_cast<std::size_t>(l)].activation.size(), model.arch.output_shape(l).size());
    if (model.arch.has_weights(l)) {
      EXPECT_EQ(s[static_cast<std::size_t>(l)].weight.size(), model.layers[static_cast<std::size_t>(l)].weight.size());
      EXPECT_EQ(s[static_cast<std::size_t>(l)].accumulator.size(), model.arch.output_shape(l).size());
    }
  }
}

}  // namespace
}  // namespace isimdl
