#include "models/architecture.h"

#include <fmt/format.h>

#include <map>
#include <sstream>

#include "models/error.h"

namespace isimdl {
namespace {

const char* kKindNames[] = {"conv2d", "linear", "relu", "maxpool2d", "avgpool2d", "flatten", "add"};

int pooled(int size, int kernel, int stride, int padding) { return (size + 2 * padding - kernel) / stride + 1; }

}  // namespace

std::string to_string(const Shape& s) { return fmt::format("{}x{}x{}", s.c, s.h, s.w); }

const char* to_string(LayerKind kind) { return kKindNames[static_cast<int>(kind)]; }

LayerKind layer_kind_from_string(const std::string& name) {
  for (int i = 0; i < 7; ++i)
    if (name == kKindNames[i]) return static_cast<LayerKind>(i);
  throw Error(fmt::format("unknown layer kind '{}'", name));
}

bool operator==(const LayerSpec& a, const LayerSpec& b) {
  return a.kind == b.kind && a.input == b.input && a.input2 == b.input2 && a.in_channels == b.in_channels &&
         a.out_channels == b.out_channels && a.kernel == b.kernel && a.stride == b.stride && a.padding == b.padding &&
         a.in_features == b.in_features && a.out_features == b.out_features;
}

Architecture::Architecture(std::string name, Shape input, std::vector<LayerSpec> layers)
    : name_(std::move(name)), input_(input), layers_(std::move(layers)) {
  if (input_.c <= 0 || input_.h <= 0 || input_.w <= 0)
    throw Error(fmt::format("{}: invalid input shape {}", name_, to_string(input_)));
  if (layers_.empty()) throw Error(fmt::format("{}: a network needs at least one layer", name_));
  for (int i = 0; i < size(); ++i) {
    LayerSpec& l = layers_[static_cast<std::size_t>(i)];
    auto fail = [&](const std::string& what) {
      throw Error(fmt::format("{}: layer {} ({}): {}", name_, i, to_string(l.kind), what));
    };
    if (l.input == -2) l.input = i - 1;
    if (l.input < -1 || l.input >= i) fail(fmt::format("input {} is not an earlier layer", l.input));
    const Shape in = output_shape(l.input);
    Shape out = in;
    switch (l.kind) {
      case LayerKind::kConv2d:
        if (l.in_channels != in.c) fail(fmt::format("in_channels {} but input is {}", l.in_channels, to_string(in)));
        if (l.out_channels <= 0 || l.kernel <= 0 || l.stride <= 0 || l.padding < 0) fail("invalid conv parameters");
        out = Shape{l.out_channels, pooled(in.h, l.kernel, l.stride, l.padding),
                    pooled(in.w, l.kernel, l.stride, l.padding)};
        if (out.h <= 0 || out.w <= 0) fail("kernel larger than the padded input");
        break;
      case LayerKind::kLinear:
        if (l.in_features != static_cast<int>(in.size()))
          fail(fmt::format("in_features {} but input has {} values", l.in_features, in.size()));
        if (l.out_features <= 0) fail("out_features must be positive");
        out = Shape{l.out_features, 1, 1};
        break;
      case LayerKind::kMaxPool2d:
      case LayerKind::kAvgPool2d:
        if (l.kernel <= 0 || l.stride <= 0) fail("invalid pooling parameters");
        if (l.padding != 0) fail("pooling with padding is not supported");
        out = Shape{in.c, pooled(in.h, l.kernel, l.stride, 0), pooled(in.w, l.kernel, l.stride, 0)};
        if (out.h <= 0 || out.w <= 0) fail("window larger than the input");
        break;
      case LayerKind::kFlatten:
        out = Shape{static_cast<int>(in.size()), 1, 1};
        break;
      case LayerKind::kReLU:
        break;
      case LayerKind::kAdd:
        if (l.input2 < -1 || l.input2 >= i) fail(fmt::format("input2 {} is not an earlier layer", l.input2));
        if (output_shape(l.input2) != in)
          fail(fmt::format("adds {} to {}", to_string(output_shape(l.input2)), to_string(in)));
        break;
    }
    if (l.kind != LayerKind::kAdd) l.input2 = -2;
    shapes_.push_back(out);
  }
}

bool Architecture::has_weights(int i) const {
  const LayerKind k = layer(i).kind;
  return k == LayerKind::kConv2d || k == LayerKind::kLinear;
}

GemmShape Architecture::gemm(int i) const {
  const LayerSpec& l = layer(i);
  if (l.kind == LayerKind::kConv2d) {
    const Shape out = output_shape(i);
    return {out.h * out.w, l.in_channels * l.kernel * l.kernel, l.out_channels};
  }
  if (l.kind == LayerKind::kLinear) return {1, l.in_features, l.out_features};
  throw Error(fmt::format("{}: layer {} ({}) has no GEMM", name_, i, to_string(l.kind)));
}

int Architecture::consumers(int i) const {
  int n = 0;
  for (const auto& l : layers_) n += (l.input == i) + (l.kind == LayerKind::kAdd && l.input2 == i);
  return n;
}

bool Architecture::is_fused_relu(int i) const {
  const LayerSpec& l = layer(i);
  return l.kind == LayerKind::kReLU && l.input >= 0 && has_weights(l.input) && consumers(l.input) == 1;
}

std::size_t Architecture::parameter_count() const {
  std::size_t n = 0;
  for (int i = 0; i < size(); ++i)
    if (has_weights(i)) {
      const GemmShape g = gemm(i);
      n += static_cast<std::size_t>(g.k) * g.n + g.n;
    }
  return n;
}

std::string Architecture::describe() const {
  std::string out = fmt::format("input c={} h={} w={}\n", input_.c, input_.h, input_.w);
  for (int i = 0; i < size(); ++i) {
    const LayerSpec& l = layer(i);
    out += fmt::format("{} from={}", to_string(l.kind), l.input);
    switch (l.kind) {
      case LayerKind::kConv2d:
        out += fmt::format(" cin={} cout={} k={} s={} p={}", l.in_channels, l.out_channels, l.kernel, l.stride,
                           l.padding);
        break;
      case LayerKind::kLinear:
        out += fmt::format(" in={} out={}", l.in_features, l.out_features);
        break;
      case LayerKind::kMaxPool2d:
      case LayerKind::kAvgPool2d:
        out += fmt::format(" k={} s={}", l.kernel, l.stride);
        break;
      case LayerKind::kAdd:
        out += fmt::format(" from2={}", l.input2);
        break;
      default:
        break;
    }
    out += "\n";
  }
  return out;
}

Architecture Architecture::parse(const std::string& name, const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  Shape input;
  bool have_input = false;
  std::vector<LayerSpec> layers;
  int line_no = 0;
  while (std::getline(lines, line)) {
    ++line_no;
    if (line.empty()) continue;
    std::istringstream words(line);
    std::string kind;
    words >> kind;
    std::map<std::string, int> kv;
    std::string word;
    while (words >> word) {
      const auto eq = word.find('=');
      if (eq == std::string::npos) throw Error(fmt::format("architecture line {}: expected key=value, got '{}'", line_no, word));
      try {
        std::size_t used = 0;
        const std::string value = word.substr(eq + 1);
        kv[word.substr(0, eq)] = std::stoi(value, &used);
        if (used != value.size()) throw std::invalid_argument(value);
      } catch (const std::exception&) {
        throw Error(fmt::format("architecture line {}: '{}' is not an integer", line_no, word));
      }
    }
    auto get = [&](const char* key) {
      auto it = kv.find(key);
      if (it == kv.end()) throw Error(fmt::format("architecture line {} ({}): missing {}", line_no, kind, key));
      return it->second;
    };
    if (kind == "input") {
      input = Shape{get("c"), get("h"), get("w")};
      have_input = true;
      continue;
    }
    LayerSpec l;
    try {
      l.kind = layer_kind_from_string(kind);
    } catch (const Error& e) {
      throw Error(fmt::format("architecture line {}: {}", line_no, e.what()));
    }
    l.input = get("from");
    switch (l.kind) {
      case LayerKind::kConv2d:
        l.in_channels = get("cin");
        l.out_channels = get("cout");
        l.kernel = get("k");
        l.stride = get("s");
        l.padding = get("p");
        break;
      case LayerKind::kLinear:
        l.in_features = get("in");
        l.out_features = get("out");
        break;
      case LayerKind::kMaxPool2d:
      case LayerKind::kAvgPool2d:
        l.kernel = get("k");
        l.stride = get("s");
        break;
      case LayerKind::kAdd:
        l.input2 = get("from2");
        break;
      default:
        break;
    }
    layers.push_back(l);
  }
  if (!have_input) throw Error("architecture: missing 'input' line");
  return Architecture(name, input, layers);
}

}  // namespace isimdl
