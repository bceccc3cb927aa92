#pragma once

#include "models/idx_reader.h"
#include "models/model_file.h"
#include "models/quantized_model.h"
#include "models/trainer.h"
#include "models/zoo.h"

namespace isimdl::testing_fixtures {

inline const MnistSplit& mnist_subset() {
  static const MnistSplit split = load_mnist(ISIMDL_TEST_DATA, "t10k");
  return split;
}

// The committed zoo model, loaded once per test binary.
inline const QuantizedModel& lenet5() {
  static const QuantizedModel model = load_model(resolve_model_path("lenet5", default_zoo_dir()));
  return model;
}

// A network exercising every layer kind: strided and padded convs, a ReLU
// that is not fused (two readers), a residual Add, average and max pooling.
inline Architecture every_layer_architecture() {
  auto conv = [](int cin, int cout, int k, int s, int p) {
    LayerSpec l;
    l.kind = LayerKind::kConv2d, l.in_channels = cin, l.out_channels = cout, l.window = Window2d::square(k, s, p);
    return l;
  };
  auto simple = [](LayerKind kind, int input = -2, int k = 0, int s = 1) {
    LayerSpec l;
    l.kind = kind, l.input = input;
    if (k > 0) l.window = Window2d::square(k, s, 0);
    return l;
  };
  LayerSpec add = simple(LayerKind::kAdd, 2);
  add.input2 = 1;
  LayerSpec fc;
  fc.kind = LayerKind::kLinear, fc.in_features = 4 * 3 * 3, fc.out_features = 10;
  return Architecture("every-layer", Shape{1, 28, 28},
                      {conv(1, 4, 3, 2, 1),                    // 0: 4x14x14
                       simple(LayerKind::kReLU),               // 1: read by 2 and 3: not fused
                       conv(4, 4, 3, 1, 1),                    // 2
                       add,                                    // 3: 2 + 1
                       simple(LayerKind::kAvgPool2d, -2, 2, 2),  // 4: 4x7x7
                       simple(LayerKind::kMaxPool2d, -2, 3, 2),  // 5: 4x3x3
                       simple(LayerKind::kFlatten), fc, simple(LayerKind::kReLU),
                       [] { LayerSpec l; l.kind = LayerKind::kLinear; l.in_features = 10; l.out_features = 10; return l; }()});
}

// A network of the layers imported networks bring: ReLU6 (Clip), depthwise and
// grouped convolutions with asymmetric padding, a rectangular dilated kernel,
// LeakyReLU, a channel Concat, pooling with padding (count_include_pad both
// ways, ceil mode) and a global average pool.
inline Architecture modern_layer_architecture() {
  auto conv = [](int input, int cin, int cout, int groups, Window2d w) {
    LayerSpec l;
    l.kind = LayerKind::kConv2d, l.input = input, l.in_channels = cin, l.out_channels = cout, l.groups = groups;
    l.window = w;
    return l;
  };
  auto pool = [](LayerKind kind, Window2d w, bool count_include_pad) {
    LayerSpec l;
    l.kind = kind, l.window = w, l.count_include_pad = count_include_pad;
    return l;
  };
  auto simple = [](LayerKind kind) {
    LayerSpec l;
    l.kind = kind;
    return l;
  };
  LayerSpec relu6 = simple(LayerKind::kClip);
  relu6.clip_lo = 0.0f, relu6.clip_hi = 6.0f;
  LayerSpec leaky = simple(LayerKind::kLeakyReLU);
  leaky.alpha = 0.1f;
  Window2d depthwise = Window2d::square(3, 2, 0);
  depthwise.pad_bottom = depthwise.pad_right = 1;  // TensorFlow-style SAME padding of a stride-2 conv
  Window2d dilated;
  dilated.kernel_h = 1, dilated.kernel_w = 3, dilated.dilation_w = 2, dilated.pad_left = dilated.pad_right = 2;
  LayerSpec concat = simple(LayerKind::kConcat);
  concat.input = 4, concat.more_inputs = {3};
  Window2d ceil_pool = Window2d::square(3, 2, 1);
  ceil_pool.ceil_mode = true;
  LayerSpec fc;
  fc.kind = LayerKind::kLinear, fc.in_features = 16, fc.out_features = 10;
  return Architecture("modern-layers", Shape{1, 28, 28},
                      {conv(-1, 1, 8, 1, Window2d::square(3, 1, 1)),             // 0: 8x28x28
                       relu6,                                                     // 1
                       conv(1, 8, 8, 8, depthwise),                               // 2: depthwise, 8x14x14
                       leaky,                                                     // 3
                       conv(3, 8, 8, 2, dilated),                                 // 4: 2 groups, 8x14x14
                       concat,                                                    // 5: 16x14x14
                       pool(LayerKind::kAvgPool2d, Window2d::square(3, 1, 1), false),  // 6: 16x14x14
                       pool(LayerKind::kAvgPool2d, ceil_pool, true),              // 7: 16x8x8
                       pool(LayerKind::kMaxPool2d, ceil_pool, true),              // 8: 16x5x5
                       pool(LayerKind::kAvgPool2d, Window2d::square(5, 1, 0), true),  // 9: global, 16x1x1
                       simple(LayerKind::kFlatten), fc});
}

// Post-training quantization of a randomly initialised network, calibrated on
// the first 200 images of the committed MNIST subset.
inline QuantizedModel quantized_random_model(const Architecture& arch, std::uint64_t seed) {
  FloatNetwork net(arch);
  net.initialize(seed);
  const std::vector<float> inputs = images_to_float(mnist_subset().images, 0, 200);
  net.fake_quant() = make_fake_quantization(arch, calibrate(net, inputs, 200), mnist_input_qparams());
  return quantize_network(net, net.fake_quant());
}

}  // namespace isimdl::testing_fixtures
