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
