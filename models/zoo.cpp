#include "models/zoo.h"

#include <fmt/format.h>

#include <cstdlib>

#include "models/error.h"

namespace isimdl {
namespace {

LayerSpec conv(int cin, int cout, int k, int stride, int pad) {
  LayerSpec l;
  l.kind = LayerKind::kConv2d;
  l.in_channels = cin, l.out_channels = cout, l.window = Window2d::square(k, stride, pad);
  return l;
}
LayerSpec linear(int in, int out) {
  LayerSpec l;
  l.kind = LayerKind::kLinear;
  l.in_features = in, l.out_features = out;
  return l;
}
LayerSpec simple(LayerKind kind, int kernel = 0, int stride = 1) {
  LayerSpec l;
  l.kind = kind;
  if (kernel > 0) l.window = Window2d::square(kernel, stride, 0);
  return l;
}

}  // namespace

const std::vector<std::string>& zoo_names() {
  static const std::vector<std::string> names{"lenet5", "cnn-small", "mlp"};
  return names;
}

Architecture zoo_architecture(const std::string& name) {
  const LayerSpec relu = simple(LayerKind::kReLU), flatten = simple(LayerKind::kFlatten);
  const LayerSpec pool2 = simple(LayerKind::kMaxPool2d, 2, 2);
  if (name == "lenet5")
    return Architecture(name, Shape{1, 28, 28},
                        {conv(1, 6, 5, 1, 2), relu, pool2, conv(6, 16, 5, 1, 0), relu, pool2, flatten,
                         linear(400, 120), relu, linear(120, 84), relu, linear(84, 10)});
  if (name == "cnn-small")
    return Architecture(name, Shape{1, 28, 28},
                        {conv(1, 16, 3, 1, 1), relu, pool2, conv(16, 64, 3, 1, 1), relu, pool2, conv(64, 128, 3, 1, 1),
                         relu, pool2, flatten, linear(128 * 3 * 3, 10)});
  if (name == "mlp")
    return Architecture(name, Shape{1, 28, 28},
                        {flatten, linear(784, 512), relu, linear(512, 512), relu, linear(512, 10)});
  std::string known;
  for (const auto& n : zoo_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error(fmt::format("unknown zoo model '{}' (known: {})", name, known));
}

std::string resolve_model_path(const std::string& model, const std::string& zoo_dir) {
  for (const auto& n : zoo_names())
    if (model == n) return zoo_dir + "/" + n + ".isq";
  return model;
}

std::string default_zoo_dir() {
  if (const char* env = std::getenv("ISIMDL_ZOO")) return env;
  return ISIMDL_SOURCE_DIR "/models/zoo";
}

}  // namespace isimdl
