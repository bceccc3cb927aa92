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

namespace {

struct ZooEntry {
  const char* name;
  const char* dataset;
  bool trained_by_isimdl;
};
const ZooEntry kZoo[] = {{"lenet5", "mnist", true},
                         {"cnn-small", "mnist", true},
                         {"mlp", "mnist", true},
                         {"resnet8", "fashion-mnist", false},
                         {"mobilenet-tiny", "fashion-mnist", false}};

}  // namespace

const std::vector<std::string>& zoo_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& e : kZoo) n.emplace_back(e.name);
    return n;
  }();
  return names;
}

std::string zoo_dataset(const std::string& name) {
  for (const auto& e : kZoo)
    if (name == e.name) return e.dataset;
  return "";
}

bool zoo_trained_by_isimdl(const std::string& name) {
  for (const auto& e : kZoo)
    if (name == e.name) return e.trained_by_isimdl;
  return false;
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
  if (!zoo_dataset(name).empty())
    throw Error(fmt::format("zoo model '{}' is trained by PyTorch (scripts/zoo/train_fashion_zoo.py) and imported; its "
                            "architecture is in models/zoo/{}.isq", name, name));
  std::string known;
  for (const auto& n : zoo_names())
    if (zoo_trained_by_isimdl(n)) known += (known.empty() ? "" : ", ") + n;
  throw Error(fmt::format("unknown zoo architecture '{}' (known: {})", name, known));
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
