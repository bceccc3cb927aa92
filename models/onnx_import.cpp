#include "models/onnx_import.h"

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "models/error.h"

namespace isimdl {
namespace {

const char* const kSupported[] = {
    "Conv", "Gemm", "MatMul", "Add", "Relu", "Clip", "LeakyRelu", "MaxPool", "AveragePool", "GlobalAveragePool",
    "ReduceMean", "Concat", "Flatten", "Reshape", "Identity", "Dropout", "BatchNormalization", "Pad", "Softmax",
    "LogSoftmax", "QuantizeLinear", "DequantizeLinear",
    // constant folding of shape computations
    "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Cast", "Mul", "Sub", "Div", "Round", "Slice", "Transpose",
    "ConstantOfShape"};

bool is_floating(int type) {
  return type == onnx::TensorProto::FLOAT || type == onnx::TensorProto::DOUBLE || type == onnx::TensorProto::FLOAT16 ||
         type == onnx::TensorProto::BFLOAT16 || type == 0;
}

// How a constant was quantized (QuantizeLinear / DequantizeLinear): its
// integer values, and per slice along `axis` (or one for the whole tensor)
// the scale and zero point.
struct Quantized {
  std::vector<double> values;  // the integers (int8, uint8 or int32)
  std::vector<double> scale, zero_point;
  std::int64_t axis = 0;
  int type = 0;  // onnx::TensorProto element type of the integers
};

// A constant tensor (initializer, Constant node or folded shape arithmetic).
struct Constant {
  std::vector<std::int64_t> dims;
  std::vector<double> data;
  int type = 0;  // onnx::TensorProto element type it was read as
  std::optional<Quantized> dequantized_from;  // set by a folded DequantizeLinear
  std::size_t count() const { return data.size(); }
};

// The quantization of an activation a QuantizeLinear produced, waiting for
// its DequantizeLinear.
struct PendingQuantize {
  std::string input;
  double scale = 0;
  std::int32_t zero_point = 0;  // in isimdl's int8 form (uint8 zero points minus 128)
};

// A tensor that the network computes: the layer producing it (-1: the
// network input), its per-image shape and its ONNX rank (4: N,C,H,W; 2: N,F).
struct Activation {
  int layer = -1;
  Shape shape;
  int rank = 4;
  // A Pad node's zero padding waiting for the Conv that absorbs it (top, left, bottom, right).
  int pad[4] = {0, 0, 0, 0};
  bool padded() const { return pad[0] || pad[1] || pad[2] || pad[3]; }
};

Constant tensor_constant(const onnx::TensorProto& t, const std::string& where) {
  Constant c;
  std::size_t n = 1;
  for (auto d : t.dims()) {
    if (d < 0 || d > (1LL << 31)) throw FormatError(fmt::format("{}: dimension {} out of range", where, d));
    c.dims.push_back(d);
    n *= static_cast<std::size_t>(d);
    if (n > (std::size_t{1} << 31)) throw FormatError(fmt::format("{}: tensor too large", where));
  }
  if (t.has_data_location() && t.data_location() == onnx::TensorProto::EXTERNAL)
    throw Error(fmt::format("{}: tensors stored in external files are not supported", where));
  const std::string& raw = t.raw_data();
  auto from_raw = [&](auto sample) {
    using T = decltype(sample);
    if (raw.size() != n * sizeof(T))
      throw FormatError(fmt::format("{}: raw data holds {} bytes, the shape needs {}", where, raw.size(), n * sizeof(T)));
    c.data.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      T v;
      std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));
      c.data[i] = static_cast<double>(v);
    }
  };
  auto from_field = [&](const auto& field) {
    if (static_cast<std::size_t>(field.size()) != n)
      throw FormatError(fmt::format("{}: holds {} values, the shape needs {}", where, field.size(), n));
    c.data.assign(field.begin(), field.end());
  };
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      raw.empty() && n ? from_field(t.float_data()) : from_raw(float{});
      break;
    case onnx::TensorProto::DOUBLE:
      raw.empty() && n ? from_field(t.double_data()) : from_raw(double{});
      break;
    case onnx::TensorProto::INT64:
      raw.empty() && n ? from_field(t.int64_data()) : from_raw(std::int64_t{});
      break;
    case onnx::TensorProto::INT32:
      raw.empty() && n ? from_field(t.int32_data()) : from_raw(std::int32_t{});
      break;
    case onnx::TensorProto::INT8:  // int8 and uint8 live in int32_data when not raw
      raw.empty() && n ? from_field(t.int32_data()) : from_raw(std::int8_t{});
      break;
    case onnx::TensorProto::UINT8:
      raw.empty() && n ? from_field(t.int32_data()) : from_raw(std::uint8_t{});
      break;
    default:
      throw Error(fmt::format("{}: tensor element type {} is not supported (float, double, int8, uint8, int32, int64)",
                              where, t.data_type()));
  }
  c.type = t.data_type();
  return c;
}

const onnx::AttributeProto* find_attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

class Importer {
 public:
  explicit Importer(std::string path) : path_(std::move(path)) {}

  ImportedNetwork run() {
    onnx::ModelProto model = load();
    const onnx::GraphProto& graph = model.graph();
    for (const auto& init : graph.initializer())
      constants_[init.name()] = tensor_constant(init, fmt::format("{}: initializer '{}'", path_, init.name()));
    read_input(graph);
    for (const auto& node : graph.node())
      for (const auto& in : node.input()) ++readers_[in];
    for (const auto& out : graph.output()) ++readers_[out.name()], graph_outputs_.insert(out.name());
    for (int i = 0; i < graph.node_size(); ++i) {
      node_index_ = i;
      convert(graph.node(i));
    }
    if (graph.output_size() != 1) throw Error(fmt::format("{}: the graph has {} outputs; isimdl needs one", path_, graph.output_size()));
    const std::string& out = graph.output(0).name();
    const auto it = activations_.find(out);
    if (it == activations_.end()) throw Error(fmt::format("{}: the graph output '{}' is not computed from the input", path_, out));
    if (layers_.empty()) throw Error(fmt::format("{}: the graph has no layer isimdl can run", path_));
    if (it->second.layer != static_cast<int>(layers_.size()) - 1)
      throw Error(fmt::format("{}: the graph output '{}' is not the last layer", path_, out));
    const std::string name = std::filesystem::path(path_).stem().string();
    ImportedNetwork result;
    result.net = FloatNetwork(Architecture(name, input_shape_, layers_));
    for (std::size_t i = 0; i < layers_.size(); ++i) result.net.params()[i] = params_[i];
    result.notes = notes_;
    result.quantization = overrides_;
    return result;
  }

 private:
  onnx::ModelProto load() {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path_, ec))
      throw FormatError(fmt::format("{}: {}", path_, std::filesystem::exists(path_, ec) ? "is not a regular file, not an ONNX model"
                                                                                       : "cannot open ONNX file: no such file"));
    std::ifstream in(path_, std::ios::binary);
    if (!in) throw FormatError(fmt::format("{}: cannot open ONNX file", path_));
    google::protobuf::io::IstreamInputStream raw(&in);
    google::protobuf::io::CodedInputStream coded(&raw);
    coded.SetTotalBytesLimit(std::numeric_limits<int>::max());
    onnx::ModelProto model;
    if (!model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage())
      throw FormatError(fmt::format("{}: not a valid ONNX model (malformed or truncated protobuf)", path_));
    if (!model.has_graph()) throw FormatError(fmt::format("{}: the ONNX model has no graph", path_));
    for (const auto& opset : model.opset_import())
      if (opset.domain().empty() || opset.domain() == "ai.onnx") opset_ = static_cast<int>(opset.version());
    return model;
  }

  [[noreturn]] void fail(const onnx::NodeProto& node, const std::string& what) const {
    throw Error(fmt::format("{}: node {} '{}' ({}): {}", path_, node_index_, node.name(), node.op_type(), what));
  }

  void read_input(const onnx::GraphProto& graph) {
    for (const auto& in : graph.input()) {
      if (constants_.count(in.name())) continue;
      if (have_input_) throw Error(fmt::format("{}: the graph has more than one input ('{}' and '{}')", path_, input_name_, in.name()));
      have_input_ = true;
      input_name_ = in.name();
      const auto& shape = in.type().tensor_type().shape();
      std::vector<std::int64_t> dims;
      for (int d = 0; d < shape.dim_size(); ++d)
        dims.push_back(shape.dim(d).has_dim_value() ? shape.dim(d).dim_value() : -1);
      auto fixed = [&](std::size_t d) {
        if (dims[d] <= 0)
          throw Error(fmt::format("{}: input '{}' dimension {} is not fixed (only the batch dimension may be dynamic)", path_,
                                  in.name(), d));
        if (dims[d] > (1 << 20))
          throw Error(fmt::format("{}: input '{}' dimension {} is {}; at most {}", path_, in.name(), d, dims[d], 1 << 20));
        return static_cast<int>(dims[d]);
      };
      Activation a;
      if (dims.size() == 4) {
        input_shape_ = Shape{fixed(1), fixed(2), fixed(3)};
        if (static_cast<std::int64_t>(input_shape_.c) * input_shape_.h * input_shape_.w > (std::int64_t{1} << 28))
          throw Error(fmt::format("{}: input '{}' of {} values is larger than isimdl simulates (2^28)", path_, in.name(),
                                  to_string(input_shape_)));
      } else if (dims.size() == 2) {
        input_shape_ = Shape{fixed(1), 1, 1};
        a.rank = 2;
      } else {
        throw Error(fmt::format("{}: input '{}' has rank {}; isimdl needs N x C x H x W or N x F", path_, in.name(), dims.size()));
      }
      a.shape = input_shape_;
      activations_[in.name()] = a;
    }
    if (!have_input_) throw Error(fmt::format("{}: the graph has no input", path_));
  }

  const Activation& activation(const onnx::NodeProto& node, int i) const {
    if (i >= node.input_size()) fail(node, fmt::format("missing input {}", i));
    const auto it = activations_.find(node.input(i));
    if (it == activations_.end()) {
      if (pending_.count(node.input(i)))
        fail(node, fmt::format("reads the quantized tensor '{}': only a DequantizeLinear may read a QuantizeLinear of an "
                               "activation (QDQ models are imported; QOperator models, e.g. QLinearConv, are not)",
                               node.input(i)));
      fail(node, fmt::format("input '{}' is not a tensor computed from the network input", node.input(i)));
    }
    return it->second;
  }
  const Constant* constant(const onnx::NodeProto& node, int i) const {
    if (i >= node.input_size() || node.input(i).empty()) return nullptr;
    const auto it = constants_.find(node.input(i));
    return it == constants_.end() ? nullptr : &it->second;
  }
  const Constant& required_constant(const onnx::NodeProto& node, int i, const char* what) const {
    const Constant* c = constant(node, i);
    if (!c) fail(node, fmt::format("{} must be a constant (an initializer)", what));
    return *c;
  }
  std::int64_t int_attr(const onnx::NodeProto& node, const char* name, std::int64_t fallback) const {
    const auto* a = find_attribute(node, name);
    return a ? a->i() : fallback;
  }
  float float_attr(const onnx::NodeProto& node, const char* name, float fallback) const {
    const auto* a = find_attribute(node, name);
    return a ? a->f() : fallback;
  }
  std::vector<std::int64_t> ints_attr(const onnx::NodeProto& node, const char* name) const {
    const auto* a = find_attribute(node, name);
    return a ? std::vector<std::int64_t>(a->ints().begin(), a->ints().end()) : std::vector<std::int64_t>{};
  }
  std::string string_attr(const onnx::NodeProto& node, const char* name, const std::string& fallback) const {
    const auto* a = find_attribute(node, name);
    return a ? a->s() : fallback;
  }

  // A constant's value as an integer (shape arithmetic, indices, axes), or
  // an error naming the node: never an out-of-range conversion.
  std::int64_t integer(const onnx::NodeProto& node, double v, const char* what) const {
    if (!(v >= -9.2e18 && v <= 9.2e18) || v != std::trunc(v)) fail(node, fmt::format("{} {} is not a 64-bit integer", what, v));
    return static_cast<std::int64_t>(v);
  }
  // An attribute's value as a window size, stride, dilation, pad or group:
  // 0..2^20, or an error naming the node.
  int small(const onnx::NodeProto& node, std::int64_t v, const char* what) const {
    if (v < 0 || v > (1 << 20)) fail(node, fmt::format("{} {} is out of range (0..{})", what, v, 1 << 20));
    return static_cast<int>(v);
  }
  // A constant's value as a float weight, bias or bound (infinities and NaN
  // pass; a finite value beyond float's range is an error).
  float real(const onnx::NodeProto& node, double v, const char* what) const {
    if (std::isfinite(v) && std::fabs(v) > std::numeric_limits<float>::max())
      fail(node, fmt::format("{} {} does not fit a 32-bit float", what, v));
    return static_cast<float>(v);
  }

  int add_layer(const onnx::NodeProto& node, LayerSpec l, LayerParams p, Shape shape, int rank) {
    l.input = l.input;  // already the producing layer
    layers_.push_back(l);
    params_.push_back(std::move(p));
    try {
      Architecture("check", input_shape_, layers_);  // validates the new layer with the earlier ones
    } catch (const Error& e) {
      fail(node, e.what());
    }
    const int index = static_cast<int>(layers_.size()) - 1;
    Activation a;
    a.layer = index;
    a.shape = Architecture("check", input_shape_, layers_).output_shape(index);
    a.rank = rank;
    (void)shape;
    activations_[node.output(0)] = a;
    return index;
  }

  void alias(const onnx::NodeProto& node, const Activation& a) { activations_[node.output(0)] = a; }

  // The window of a Conv / pooling node: kernel_shape, strides, dilations, pads or auto_pad.
  Window2d window(const onnx::NodeProto& node, const Shape& in, std::vector<std::int64_t> kernel) const {
    if (kernel.empty()) kernel = ints_attr(node, "kernel_shape");
    if (kernel.size() != 2) fail(node, "only 2-D kernels are supported");
    Window2d w;
    w.kernel_h = small(node, kernel[0], "kernel size"), w.kernel_w = small(node, kernel[1], "kernel size");
    const auto strides = ints_attr(node, "strides"), dilations = ints_attr(node, "dilations");
    if (!strides.empty()) {
      if (strides.size() != 2) fail(node, "strides must have two values");
      w.stride_h = small(node, strides[0], "stride"), w.stride_w = small(node, strides[1], "stride");
    }
    if (!dilations.empty()) {
      if (dilations.size() != 2) fail(node, "dilations must have two values");
      w.dilation_h = small(node, dilations[0], "dilation"), w.dilation_w = small(node, dilations[1], "dilation");
    }
    w.ceil_mode = int_attr(node, "ceil_mode", 0) != 0;
    const std::string auto_pad = string_attr(node, "auto_pad", "NOTSET");
    if (auto_pad == "NOTSET") {
      const auto pads = ints_attr(node, "pads");
      if (!pads.empty()) {
        if (pads.size() != 4) fail(node, "pads must have four values");
        w.pad_top = small(node, pads[0], "pad"), w.pad_left = small(node, pads[1], "pad");
        w.pad_bottom = small(node, pads[2], "pad"), w.pad_right = small(node, pads[3], "pad");
      }
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      auto same = [&](int size, int k, int s, int d, int& begin, int& end) {
        const int out = (size + s - 1) / s;
        const int total = std::max(0, (out - 1) * s + (k - 1) * d + 1 - size);
        begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        end = total - begin;
      };
      same(in.h, w.kernel_h, w.stride_h, w.dilation_h, w.pad_top, w.pad_bottom);
      same(in.w, w.kernel_w, w.stride_w, w.dilation_w, w.pad_left, w.pad_right);
    } else if (auto_pad != "VALID") {
      fail(node, fmt::format("auto_pad '{}' is not supported", auto_pad));
    }
    return w;
  }

  void need_rank4(const onnx::NodeProto& node, const Activation& a) const {
    if (a.rank != 4) fail(node, "needs an N x C x H x W tensor");
  }
  void need_unpadded(const onnx::NodeProto& node, const Activation& a) const {
    if (a.padded()) fail(node, "reads the output of a Pad node; only a Conv can absorb a Pad");
  }

  // Weights W[n][k] of a GEMM from an ONNX Conv weight [Cout][Cin/g][kh][kw].
  void conv(const onnx::NodeProto& node) {
    const Activation& x = activation(node, 0);
    need_rank4(node, x);
    const Constant& wt = required_constant(node, 1, "the weight");
    if (wt.dims.size() != 4) fail(node, "the weight must be 4-D");
    LayerSpec l;
    l.kind = LayerKind::kConv2d;
    l.input = x.layer;
    l.in_channels = x.shape.c;
    l.out_channels = small(node, wt.dims[0], "output channels");
    l.groups = small(node, int_attr(node, "group", 1), "group");
    if (l.groups <= 0 || x.shape.c % l.groups || wt.dims[1] * l.groups != x.shape.c)
      fail(node, fmt::format("weight {}x{}x{}x{} does not fit {} input channels in {} groups", wt.dims[0], wt.dims[1],
                             wt.dims[2], wt.dims[3], x.shape.c, l.groups));
    l.window = window(node, x.shape, {wt.dims[2], wt.dims[3]});
    l.window.pad_top += x.pad[0], l.window.pad_left += x.pad[1], l.window.pad_bottom += x.pad[2], l.window.pad_right += x.pad[3];
    const int kh = l.window.kernel_h, kw = l.window.kernel_w, cin_g = x.shape.c / l.groups, cout_g = l.out_channels / l.groups;
    if (static_cast<std::int64_t>(x.shape.c) * kh * kw * l.out_channels > (std::int64_t{1} << 28))
      fail(node, "the weight matrix is larger than isimdl simulates (2^28 values)");
    const int k_count = x.shape.c * kh * kw;
    LayerParams p;
    p.weight.assign(static_cast<std::size_t>(l.out_channels) * k_count, 0.0f);
    p.bias.assign(static_cast<std::size_t>(l.out_channels), 0.0f);
    for (int n = 0; n < l.out_channels; ++n)
      for (int c = 0; c < cin_g; ++c)
        for (int i = 0; i < kh; ++i)
          for (int j = 0; j < kw; ++j) {
            const int channel = (n / cout_g) * cin_g + c;
            p.weight[static_cast<std::size_t>(n) * k_count + static_cast<std::size_t>((channel * kh + i) * kw + j)] =
                real(node, wt.data[((static_cast<std::size_t>(n) * cin_g + c) * kh + i) * kw + j], "weight");
          }
    if (const Constant* b = constant(node, 2)) {
      if (b->count() != static_cast<std::size_t>(l.out_channels)) fail(node, "the bias must have one value per output channel");
      for (int n = 0; n < l.out_channels; ++n) p.bias[static_cast<std::size_t>(n)] = real(node, b->data[static_cast<std::size_t>(n)], "bias");
    }
    std::optional<GivenWeights> given;
    if (wt.dequantized_from) {
      // The int8 weight of element (n, c, i, j) of the ONNX weight, on the GEMM's (n, k).
      given = given_weights(node, wt, 0, l.out_channels);
      if (given) {
        std::vector<std::int8_t> gemm(static_cast<std::size_t>(l.out_channels) * k_count, 0);
        for (int n = 0; n < l.out_channels; ++n)
          for (int c = 0; c < cin_g; ++c)
            for (int i = 0; i < kh; ++i)
              for (int j = 0; j < kw; ++j) {
                const int channel = (n / cout_g) * cin_g + c;
                gemm[static_cast<std::size_t>(n) * k_count + static_cast<std::size_t>((channel * kh + i) * kw + j)] =
                    given->weight[((static_cast<std::size_t>(n) * cin_g + c) * kh + i) * kw + j];
              }
        given->weight = std::move(gemm);
        given_bias(node, constant(node, 2), *given);
      }
    }
    const int index = add_layer(node, l, std::move(p), {}, 4);
    if (given) overrides_.weights[index] = std::move(*given);
  }

  // The int8 weights of a DequantizeLinear'd weight constant, in the
  // constant's own element order, with one scale per output channel (the
  // constant's `n_axis` has n_count slices). Empty (and a note) when isimdl
  // cannot keep them: asymmetric weights, or a quantization along another
  // axis.
  std::optional<GivenWeights> given_weights(const onnx::NodeProto& node, const Constant& w, std::int64_t n_axis, int n_count) {
    const Quantized& q = *w.dequantized_from;
    const bool per_tensor = q.scale.size() == 1;
    auto refuse = [&](const std::string& why) -> std::optional<GivenWeights> {
      notes_.push_back(fmt::format("node {} '{}' ({}): the weights' own quantization is not kept ({}); they are "
                                   "requantized per channel",
                                   node_index_, node.name(), node.op_type(), why));
      return std::nullopt;
    };
    if (q.type != onnx::TensorProto::INT8 && q.type != onnx::TensorProto::UINT8) return refuse("not 8-bit integers");
    if (!per_tensor && (q.axis != n_axis || q.scale.size() != static_cast<std::size_t>(n_count)))
      return refuse("quantized along an axis other than the output channels");
    const double offset = q.type == onnx::TensorProto::UINT8 ? 128.0 : 0.0;  // uint8 (x - 128) is int8
    for (double z : q.zero_point)
      if (z - offset != 0.0) return refuse(fmt::format("zero point {}: isimdl's weights are symmetric", z));
    GivenWeights g;
    g.weight.reserve(q.values.size());
    for (double v : q.values) {
      if (!(v - offset >= -128.0 && v - offset <= 127.0)) return refuse(fmt::format("value {} is not an 8-bit integer", v));
      g.weight.push_back(static_cast<std::int8_t>(v - offset));
    }
    for (int n = 0; n < n_count; ++n) g.scale.push_back(real(node, q.scale[per_tensor ? 0 : static_cast<std::size_t>(n)], "scale"));
    return g;
  }

  // A DequantizeLinear'd int32 bias (zero point 0) joins the given weights.
  void given_bias(const onnx::NodeProto& node, const Constant* b, GivenWeights& g) {
    if (!b || !b->dequantized_from) return;
    const Quantized& q = *b->dequantized_from;
    const std::size_t n_count = g.scale.size();
    if (q.type != onnx::TensorProto::INT32 || q.values.size() != n_count ||
        std::any_of(q.zero_point.begin(), q.zero_point.end(), [](double z) { return z != 0.0; })) {
      notes_.push_back(fmt::format("node {} '{}' ({}): the bias is not an int32 with zero point 0; it is requantized",
                                   node_index_, node.name(), node.op_type()));
      return;
    }
    g.bias.clear();
    g.bias_scale.clear();
    for (std::size_t n = 0; n < n_count; ++n) {
      if (!(std::fabs(q.values[n]) <= 2147483647.0)) fail(node, fmt::format("bias value {} is not an int32", q.values[n]));
      g.bias.push_back(static_cast<std::int32_t>(q.values[n]));
      g.bias_scale.push_back(q.scale[q.scale.size() == 1 ? 0 : n]);
    }
  }

  void linear(const onnx::NodeProto& node, const Activation& x, const Constant& w, bool transposed, float alpha,
              const Constant* bias, float beta) {
    if (w.dims.size() != 2) fail(node, "the weight must be 2-D");
    const int k_count = small(node, transposed ? w.dims[1] : w.dims[0], "input features");
    const int n_count = small(node, transposed ? w.dims[0] : w.dims[1], "output features");
    if (static_cast<std::size_t>(k_count) != x.shape.size())
      fail(node, fmt::format("the weight takes {} features, the input has {}", k_count, x.shape.size()));
    LayerSpec l;
    l.kind = LayerKind::kLinear;
    l.input = x.layer;
    l.in_features = k_count;
    l.out_features = n_count;
    LayerParams p;
    p.weight.resize(static_cast<std::size_t>(n_count) * k_count);
    p.bias.assign(static_cast<std::size_t>(n_count), 0.0f);
    for (int n = 0; n < n_count; ++n)
      for (int k = 0; k < k_count; ++k)
        p.weight[static_cast<std::size_t>(n) * k_count + k] = real(
            node, alpha * w.data[transposed ? static_cast<std::size_t>(n) * k_count + k : static_cast<std::size_t>(k) * n_count + n],
            "weight");
    if (bias) {
      if (bias->count() == 1)
        std::fill(p.bias.begin(), p.bias.end(), real(node, beta * bias->data[0], "bias"));
      else if (bias->count() == static_cast<std::size_t>(n_count))
        for (int n = 0; n < n_count; ++n) p.bias[static_cast<std::size_t>(n)] = real(node, beta * bias->data[static_cast<std::size_t>(n)], "bias");
      else
        fail(node, "the bias must have one value per output feature");
    }
    std::optional<GivenWeights> given;
    if (w.dequantized_from) {
      if (alpha != 1.0f) {
        notes_.push_back(fmt::format("node {} '{}' ({}): alpha {} scales the weights; their own quantization is not kept",
                                     node_index_, node.name(), node.op_type(), alpha));
      } else if ((given = given_weights(node, w, transposed ? 0 : 1, n_count))) {
        std::vector<std::int8_t> gemm(static_cast<std::size_t>(n_count) * k_count);
        for (int n = 0; n < n_count; ++n)
          for (int k = 0; k < k_count; ++k)
            gemm[static_cast<std::size_t>(n) * k_count + k] =
                given->weight[transposed ? static_cast<std::size_t>(n) * k_count + k : static_cast<std::size_t>(k) * n_count + n];
        given->weight = std::move(gemm);
        if (beta == 1.0f && bias && bias->count() == static_cast<std::size_t>(n_count)) given_bias(node, bias, *given);
      }
    }
    const int index = add_layer(node, l, std::move(p), {}, 2);
    if (given) overrides_.weights[index] = std::move(*given);
  }

  // A per-channel affine y = scale[c] * x + shift[c]: folded into the
  // Conv/Linear that produced x when nothing else reads it, else a depthwise
  // 1x1 convolution (which runs on the array like any other).
  void affine(const onnx::NodeProto& node, const Activation& x, const std::vector<double>& scale,
              const std::vector<double>& shift, const char* what) {
    const int channels = x.shape.c;
    if (x.layer >= 0 && readers_[node.input(0)] == 1 && !x.padded() &&
        (layers_[static_cast<std::size_t>(x.layer)].kind == LayerKind::kConv2d ||
         layers_[static_cast<std::size_t>(x.layer)].kind == LayerKind::kLinear) &&
        x.layer == static_cast<int>(layers_.size()) - 1) {
      LayerParams& p = params_[static_cast<std::size_t>(x.layer)];
      if (overrides_.weights.erase(x.layer))
        notes_.push_back(fmt::format("node {} '{}' ({}) is folded into layer {}, whose int8 weights then no longer hold; "
                                     "they are requantized",
                                     node_index_, node.name(), what, x.layer));
      const std::size_t k_count = p.weight.size() / p.bias.size();
      for (std::size_t n = 0; n < p.bias.size(); ++n) {
        for (std::size_t k = 0; k < k_count; ++k) p.weight[n * k_count + k] = real(node, p.weight[n * k_count + k] * scale[n], "folded weight");
        p.bias[n] = real(node, p.bias[n] * scale[n] + shift[n], "folded bias");
      }
      alias(node, x);
      return;
    }
    need_rank4(node, x);
    need_unpadded(node, x);
    LayerSpec l;
    l.kind = LayerKind::kConv2d;
    l.input = x.layer;
    l.in_channels = l.out_channels = l.groups = channels;
    LayerParams p;
    p.weight.assign(static_cast<std::size_t>(channels) * channels, 0.0f);
    p.bias.resize(static_cast<std::size_t>(channels));
    for (int c = 0; c < channels; ++c) {
      p.weight[static_cast<std::size_t>(c) * channels + c] = real(node, scale[static_cast<std::size_t>(c)], "scale");
      p.bias[static_cast<std::size_t>(c)] = real(node, shift[static_cast<std::size_t>(c)], "shift");
    }
    notes_.push_back(fmt::format("node {} '{}' ({}) is kept as a per-channel affine: a depthwise 1x1 convolution", node_index_,
                                 node.name(), what));
    add_layer(node, l, std::move(p), {}, 4);
  }

  void pooling(const onnx::NodeProto& node, LayerKind kind) {
    const Activation& x = activation(node, 0);
    need_rank4(node, x);
    if (node.output_size() > 1 && !node.output(1).empty()) fail(node, "the Indices output is not supported");
    LayerSpec l;
    l.kind = kind;
    l.input = x.layer;
    l.window = window(node, x.shape, {});
    l.count_include_pad = int_attr(node, "count_include_pad", 0) != 0;
    if (x.padded()) {
      // Zero padding before an average pool without padding of its own is the
      // pool's padding with the padded zeros counted (PyTorch exports
      // count_include_pad=True this way).
      if (kind != LayerKind::kAvgPool2d || l.window.has_padding() || l.window.ceil_mode)
        fail(node, "reads the output of a Pad node; only a Conv or an AveragePool without padding of its own can absorb it");
      l.window.pad_top = x.pad[0], l.window.pad_left = x.pad[1], l.window.pad_bottom = x.pad[2], l.window.pad_right = x.pad[3];
      l.count_include_pad = true;
    }
    if (int_attr(node, "storage_order", 0) != 0) fail(node, "storage_order 1 is not supported");
    add_layer(node, l, {}, {}, 4);
  }

  void global_average(const onnx::NodeProto& node, const Activation& x, int rank) {
    need_rank4(node, x);
    need_unpadded(node, x);
    LayerSpec l;
    l.kind = LayerKind::kAvgPool2d;
    l.input = x.layer;
    l.window.kernel_h = x.shape.h, l.window.kernel_w = x.shape.w;
    add_layer(node, l, {}, {}, rank);
  }

  void flatten(const onnx::NodeProto& node, const Activation& x) {
    need_unpadded(node, x);
    if (x.rank == 2) {
      alias(node, x);
      return;
    }
    LayerSpec l;
    l.kind = LayerKind::kFlatten;
    l.input = x.layer;
    add_layer(node, l, {}, {}, 2);
  }

  // Shape arithmetic on constants; returns false when `node` is not foldable.
  bool fold(const onnx::NodeProto& node) {
    const std::string& op = node.op_type();
    // Every folded constant's shape matches its values (a Reshape or
    // Unsqueeze may not invent a shape): later folds index by the shape.
    auto out = [&](Constant c) {
      std::size_t product = 1;
      for (std::int64_t d : c.dims) {
        if (d < 0 || (d > 0 && product > std::numeric_limits<std::size_t>::max() / static_cast<std::size_t>(d)))
          fail(node, "the folded constant's shape is out of range");
        product *= static_cast<std::size_t>(d);
      }
      if (product != c.count())
        fail(node, fmt::format("the folded constant's shape holds {} values, it has {}", product, c.count()));
      constants_[node.output(0)] = std::move(c);
    };
    if (op == "Constant") {
      const auto* value = find_attribute(node, "value");
      if (!value) fail(node, "only the 'value' attribute is supported");
      out(tensor_constant(value->t(), fmt::format("{}: node {} '{}'", path_, node_index_, node.name())));
      return true;
    }
    if (op == "Shape") {
      const auto it = activations_.find(node.input(0));
      if (it == activations_.end()) return false;
      const Activation& a = it->second;
      Constant c;
      c.data = a.rank == 4 ? std::vector<double>{1, double(a.shape.c), double(a.shape.h), double(a.shape.w)}
                           : std::vector<double>{1, double(a.shape.c)};
      c.dims = {static_cast<std::int64_t>(c.data.size())};
      c.type = onnx::TensorProto::INT64;
      notes_.push_back(fmt::format("node {} '{}' (Shape) folded with batch size 1", node_index_, node.name()));
      out(c);
      return true;
    }
    for (int i = 0; i < node.input_size(); ++i)
      if (!node.input(i).empty() && !constants_.count(node.input(i))) return false;
    auto in = [&](int i) -> const Constant& { return required_constant(node, i, "the input"); };
    if (op == "Identity") {
      out(in(0));
    } else if (op == "Cast") {
      Constant c = in(0);
      c.dequantized_from.reset();
      c.type = static_cast<int>(int_attr(node, "to", onnx::TensorProto::FLOAT));
      if (!is_floating(c.type))
        for (double& v : c.data) v = std::trunc(v);  // float to integer truncates
      out(c);
    } else if (op == "Round") {
      Constant c = in(0);
      for (double& v : c.data) v = std::nearbyint(v);  // half to even
      out(c);
    } else if (op == "Gather") {
      const Constant& data = in(0);
      const Constant& index = in(1);
      if (data.dims.size() != 1 || int_attr(node, "axis", 0) != 0) fail(node, "only 1-D gathers on constants are folded");
      Constant c;
      c.type = data.type;
      c.dims = index.dims;
      for (double v : index.data) {
        auto i = integer(node, v, "index");
        if (i < 0) i += static_cast<std::int64_t>(data.count());
        if (i < 0 || i >= static_cast<std::int64_t>(data.count())) fail(node, "index out of range");
        c.data.push_back(data.data[static_cast<std::size_t>(i)]);
      }
      out(c);
    } else if (op == "Unsqueeze" || op == "Squeeze") {
      Constant c = in(0);
      c.dims = {static_cast<std::int64_t>(c.count())};
      if (op == "Squeeze" && c.count() == 1) c.dims.clear();
      out(c);
    } else if (op == "Concat") {
      Constant c;
      c.type = in(0).type;
      for (int i = 0; i < node.input_size(); ++i) c.data.insert(c.data.end(), in(i).data.begin(), in(i).data.end());
      c.dims = {static_cast<std::int64_t>(c.count())};
      out(c);
    } else if (op == "Mul" || op == "Sub" || op == "Div" || op == "Add") {
      const Constant &a = in(0), &b = in(1);
      if (a.count() != b.count() && a.count() != 1 && b.count() != 1) fail(node, "shapes do not broadcast");
      Constant c = a.count() >= b.count() ? a : b;
      c.dequantized_from.reset();
      const bool integer = !is_floating(a.type) && !is_floating(b.type);
      for (std::size_t i = 0; i < c.count(); ++i) {
        const double x = a.data[a.count() == 1 ? 0 : i], y = b.data[b.count() == 1 ? 0 : i];
        if (op == "Div" && y == 0.0) fail(node, "division by zero");
        c.data[i] = op == "Mul" ? x * y : op == "Sub" ? x - y : op == "Add" ? x + y : integer ? std::trunc(x / y) : x / y;
      }
      out(c);
    } else if (op == "ConstantOfShape") {
      Constant c;
      std::size_t n = 1;
      for (double d : in(0).data) {
        const std::int64_t dim = integer(node, d, "dimension");
        if (dim < 0 || dim > (1 << 20)) fail(node, fmt::format("dimension {} out of range", dim));
        c.dims.push_back(dim);
        n *= static_cast<std::size_t>(dim);
        if (n > (1u << 20)) fail(node, "constant too large");
      }
      double fill = 0;
      c.type = onnx::TensorProto::FLOAT;
      if (const auto* v = find_attribute(node, "value")) {
        const Constant value = tensor_constant(v->t(), path_);
        if (value.data.empty()) fail(node, "the value attribute is empty");
        fill = value.data[0], c.type = value.type;
      }
      c.data.assign(n, fill);
      out(c);
    } else if (op == "Reshape") {
      Constant c = in(0);
      std::vector<std::int64_t> dims;
      std::int64_t known = 1, unknown = -1;
      for (std::size_t i = 0; i < in(1).count(); ++i) {
        auto d = integer(node, in(1).data[i], "dimension");
        if (d == 0) d = i < c.dims.size() ? c.dims[i] : 1;
        if (d < -1 || d > static_cast<std::int64_t>(std::max<std::size_t>(c.count(), 1)))
          fail(node, fmt::format("target dimension {} does not fit {} values", d, c.count()));
        if (d == -1) {
          if (unknown >= 0) fail(node, "more than one target dimension is -1");
          unknown = static_cast<std::int64_t>(i);
        } else {
          known *= d;  // each factor <= the count, and the product is checked against it below
          if (known > static_cast<std::int64_t>(std::max<std::size_t>(c.count(), 1)))
            fail(node, fmt::format("the target shape holds more than the {} values", c.count()));
        }
        dims.push_back(d);
      }
      if (unknown >= 0) dims[static_cast<std::size_t>(unknown)] = static_cast<std::int64_t>(c.count()) / std::max<std::int64_t>(known, 1);
      c.dims = dims;
      out(c);
    } else if (op == "Transpose") {
      const Constant& a = in(0);
      if (a.dims.size() != 2) fail(node, "only 2-D constants are transposed");
      Constant c;
      c.type = a.type;
      c.dims = {a.dims[1], a.dims[0]};
      c.data.resize(a.count());
      for (std::int64_t i = 0; i < a.dims[0]; ++i)
        for (std::int64_t j = 0; j < a.dims[1]; ++j)
          c.data[static_cast<std::size_t>(j * a.dims[0] + i)] = a.data[static_cast<std::size_t>(i * a.dims[1] + j)];
      out(c);
    } else if (op == "Slice") {
      // Along the first axis of a constant (what shape and pad arithmetic uses).
      const Constant& a = in(0);
      if (opset_ < 10) fail(node, "Slice before opset 10 is not folded");
      const std::int64_t rows = a.dims.empty() ? 1 : a.dims[0];
      const std::size_t row = a.count() / static_cast<std::size_t>(std::max<std::int64_t>(rows, 1));
      if (node.input_size() > 3 && !node.input(3).empty())
        for (double axis : in(3).data)
          if (axis != 0) fail(node, "only slices along axis 0 are folded");
      const std::int64_t step = node.input_size() > 4 && !node.input(4).empty() ? integer(node, in(4).data[0], "step") : 1;
      if (step == 0) fail(node, "step 0");
      auto clampi = [&](double v, bool end) {
        if (std::isnan(v)) fail(node, "slice bound NaN");
        std::int64_t i = v >= 9e18 ? rows : v <= -9e18 ? -rows - 1 : static_cast<std::int64_t>(v);
        if (i < 0) i += rows;
        return step > 0 ? std::clamp<std::int64_t>(i, 0, rows) : std::clamp<std::int64_t>(i, -1, rows - 1 + (end ? 0 : 0));
      };
      std::int64_t start = clampi(in(1).data[0], false), end = clampi(in(2).data[0], true);
      Constant c;
      c.type = a.type;
      for (std::int64_t i = start; step > 0 ? i < end : i > end; i += step)
        c.data.insert(c.data.end(), a.data.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(i) * row),
                      a.data.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(i + 1) * row));
      c.dims = a.dims;
      if (!c.dims.empty()) c.dims[0] = static_cast<std::int64_t>(c.count() / std::max<std::size_t>(row, 1));
      out(c);
    } else {
      return false;
    }
    return true;
  }

  void convert(const onnx::NodeProto& node) {
    const std::string& op = node.op_type();
    if (!node.domain().empty() && node.domain() != "ai.onnx") fail(node, fmt::format("operator domain '{}' is not supported", node.domain()));
    if (node.output_size() < 1) fail(node, "has no output");
    if (op == "QuantizeLinear" || op == "DequantizeLinear") {
      quantize_dequantize(node);
      return;
    }
    if (fold(node)) return;
    if (op == "Conv") {
      conv(node);
    } else if (op == "Gemm") {
      const Activation& x = activation(node, 0);
      need_unpadded(node, x);
      if (int_attr(node, "transA", 0) != 0) fail(node, "transA is not supported");
      if (x.rank != 2) fail(node, "needs a 2-D input (Flatten first)");
      linear(node, x, required_constant(node, 1, "B"), int_attr(node, "transB", 0) != 0, float_attr(node, "alpha", 1.0f),
             constant(node, 2), float_attr(node, "beta", 1.0f));
    } else if (op == "MatMul") {
      const Activation& x = activation(node, 0);
      need_unpadded(node, x);
      if (x.rank != 2) fail(node, "needs a 2-D input (Flatten first)");
      linear(node, x, required_constant(node, 1, "the second operand"), false, 1.0f, nullptr, 1.0f);
    } else if (op == "Add" || op == "Mul" || op == "Sub") {
      binary(node);
    } else if (op == "BatchNormalization") {
      const Activation& x = activation(node, 0);
      const Constant &gamma = required_constant(node, 1, "scale"), &beta = required_constant(node, 2, "B"),
                     &mean = required_constant(node, 3, "mean"), &var = required_constant(node, 4, "var");
      const auto c = static_cast<std::size_t>(x.shape.c);
      if (gamma.count() != c || beta.count() != c || mean.count() != c || var.count() != c)
        fail(node, "scale, B, mean and var need one value per channel");
      if (int_attr(node, "training_mode", 0) != 0) fail(node, "training mode is not supported");
      const double eps = float_attr(node, "epsilon", 1e-5f);
      std::vector<double> scale(c), shift(c);
      for (std::size_t i = 0; i < c; ++i) {
        scale[i] = gamma.data[i] / std::sqrt(var.data[i] + eps);
        shift[i] = beta.data[i] - mean.data[i] * scale[i];
      }
      affine(node, x, scale, shift, "BatchNormalization");
    } else if (op == "Relu" || op == "LeakyRelu" || op == "Clip") {
      const Activation& x = activation(node, 0);
      need_unpadded(node, x);
      LayerSpec l;
      l.input = x.layer;
      if (op == "Relu") {
        l.kind = LayerKind::kReLU;
      } else if (op == "LeakyRelu") {
        l.kind = LayerKind::kLeakyReLU;
        l.alpha = float_attr(node, "alpha", 0.01f);
      } else {
        l.kind = LayerKind::kClip;
        l.clip_lo = -std::numeric_limits<float>::max(), l.clip_hi = std::numeric_limits<float>::max();
        if (opset_ < 11) {
          l.clip_lo = float_attr(node, "min", l.clip_lo), l.clip_hi = float_attr(node, "max", l.clip_hi);
        } else {
          if (node.input_size() > 1 && !node.input(1).empty()) l.clip_lo = real(node, required_constant(node, 1, "min").data.at(0), "min");
          if (node.input_size() > 2 && !node.input(2).empty()) l.clip_hi = real(node, required_constant(node, 2, "max").data.at(0), "max");
        }
        if (l.clip_lo == 0.0f && l.clip_hi == std::numeric_limits<float>::max()) l.kind = LayerKind::kReLU;
      }
      add_layer(node, l, {}, {}, x.rank);
    } else if (op == "MaxPool") {
      pooling(node, LayerKind::kMaxPool2d);
    } else if (op == "AveragePool") {
      pooling(node, LayerKind::kAvgPool2d);
    } else if (op == "GlobalAveragePool") {
      global_average(node, activation(node, 0), 4);
    } else if (op == "ReduceMean") {
      const Activation& x = activation(node, 0);
      std::vector<std::int64_t> axes = ints_attr(node, "axes");
      if (axes.empty() && node.input_size() > 1) for (double a : required_constant(node, 1, "axes").data) axes.push_back(integer(node, a, "axis"));
      for (auto& a : axes) if (a < 0) a += 4;
      std::sort(axes.begin(), axes.end());
      if (axes != std::vector<std::int64_t>{2, 3}) fail(node, "only the mean over H and W (axes 2, 3) is supported");
      global_average(node, x, int_attr(node, "keepdims", 1) ? 4 : 2);
    } else if (op == "Concat") {
      std::int64_t axis = int_attr(node, "axis", 1);
      const Activation& first = activation(node, 0);
      if (axis < 0) axis += first.rank;
      if (axis != 1) fail(node, "only concatenation along channels (axis 1) is supported");
      LayerSpec l;
      l.kind = LayerKind::kConcat;
      l.input = first.layer;
      need_unpadded(node, first);
      for (int i = 1; i < node.input_size(); ++i) {
        need_unpadded(node, activation(node, i));
        l.more_inputs.push_back(activation(node, i).layer);
      }
      if (l.more_inputs.empty()) {
        alias(node, first);
        return;
      }
      add_layer(node, l, {}, {}, first.rank);
    } else if (op == "Flatten") {
      const Activation& x = activation(node, 0);
      if (int_attr(node, "axis", 1) != 1) fail(node, "only axis 1 is supported");
      flatten(node, x);
    } else if (op == "Reshape") {
      const Activation& x = activation(node, 0);
      const Constant& target = required_constant(node, 1, "the target shape");
      std::int64_t product = 1;
      bool inferred = false;
      for (std::size_t i = 1; i < target.count(); ++i) {
        const auto d = integer(node, target.data[i], "dimension");
        if (d == -1) inferred = true;
        else product *= d == 0 ? (x.rank == 4 ? std::vector<std::int64_t>{1, x.shape.c, x.shape.h, x.shape.w}[i] : x.shape.c) : d;
      }
      const auto size = static_cast<std::int64_t>(x.shape.size());
      if (target.count() == 2 && (inferred || product == size)) flatten(node, x);
      else if (target.count() == 4 && x.rank == 4 && !inferred && product == size &&
               integer(node, target.data[1], "dimension") == x.shape.c && integer(node, target.data[2], "dimension") == x.shape.h)
        alias(node, x);
      else fail(node, "only a reshape to N x features (or to the same shape) is supported");
    } else if (op == "Identity" || op == "Dropout") {
      alias(node, activation(node, 0));
    } else if (op == "Pad") {
      const Activation& x = activation(node, 0);
      need_rank4(node, x);
      if (string_attr(node, "mode", "constant") != "constant") fail(node, "only constant padding is supported");
      std::vector<std::int64_t> pads = ints_attr(node, "pads");
      if (opset_ >= 11) {
        pads.clear();
        for (double v : required_constant(node, 1, "pads").data) pads.push_back(integer(node, v, "pad"));
        if (const Constant* value = constant(node, 2))
          if (value->count() && value->data[0] != 0.0) fail(node, "only zero padding is supported");
      } else if (float_attr(node, "value", 0.0f) != 0.0f) {
        fail(node, "only zero padding is supported");
      }
      if (pads.size() != 8 || pads[0] || pads[1] || pads[4] || pads[5]) fail(node, "only padding of H and W is supported");
      for (auto p : pads) if (p < 0) fail(node, "negative padding (cropping) is not supported");
      Activation a = x;
      a.pad[0] += small(node, pads[2], "pad"), a.pad[1] += small(node, pads[3], "pad");
      a.pad[2] += small(node, pads[6], "pad"), a.pad[3] += small(node, pads[7], "pad");
      for (int p : a.pad)
        if (p > (1 << 20)) fail(node, "padding out of range");
      activations_[node.output(0)] = a;
    } else if (op == "Softmax" || op == "LogSoftmax") {
      const Activation& x = activation(node, 0);
      if (readers_[node.output(0)] != 1 || !is_graph_output(node.output(0)))
        fail(node, "only a trailing Softmax/LogSoftmax (the network output) is supported");
      notes_.push_back(fmt::format("node {} '{}' ({}) at the output is dropped: it is monotone, top-1 and top-5 are unchanged, "
                                   "and isimdl's logits are its input", node_index_, node.name(), op));
      alias(node, x);
      softmax_output_ = node.output(0);
    } else {
      fail(node, fmt::format("operator not supported (supported: {})", supported_onnx_ops()));
    }
  }

  bool is_graph_output(const std::string& name) const { return graph_outputs_.count(name) > 0; }

  // QuantizeLinear / DequantizeLinear (docs/models.md, "QDQ models"). On a
  // constant both are folded (QuantizeLinear rounding half to even and
  // saturating, as ONNX defines it), and the integers are remembered for the
  // Conv/Gemm that reads the result. On an activation, a QuantizeLinear and
  // the DequantizeLinear that reads it are one fake quantization: the tensor
  // keeps that scale and zero point.
  void quantize_dequantize(const onnx::NodeProto& node) {
    const bool quantize = node.op_type() == "QuantizeLinear";
    if (node.input_size() < 2) fail(node, "needs the input and the scale");
    const Constant& scale = required_constant(node, 1, "the scale");
    for (double v : scale.data)
      if (!(v > 0.0) || !std::isfinite(v)) fail(node, fmt::format("scale {} is not positive and finite", v));
    const Constant* zp = constant(node, 2);
    if (node.input_size() > 2 && !node.input(2).empty() && !zp) fail(node, "the zero point must be a constant");
    if (zp && zp->count() != scale.count()) fail(node, "the zero point and the scale have different sizes");
    const std::vector<double> zero_point = zp ? zp->data : std::vector<double>(scale.count(), 0.0);
    for (double z : zero_point) {
      const bool eight_bit = zp && (zp->type == onnx::TensorProto::INT8 || zp->type == onnx::TensorProto::UINT8);
      const double lo = !zp || zp->type == onnx::TensorProto::UINT8 ? 0.0 : eight_bit ? -128.0 : -2147483648.0;
      const double hi = !zp || zp->type == onnx::TensorProto::UINT8 ? 255.0 : eight_bit ? 127.0 : 2147483647.0;
      if (!(z >= lo && z <= hi) || z != std::trunc(z))
        fail(node, fmt::format("zero point {} is not an integer of its type ({}..{})", z, lo, hi));
    }
    const Constant* x = constant(node, 0);
    if (x) {
      std::int64_t axis = int_attr(node, "axis", 1);
      if (axis < 0) axis += static_cast<std::int64_t>(x->dims.size());
      std::size_t inner = 1, slices = 1;
      if (scale.count() != 1) {
        if (axis < 0 || axis >= static_cast<std::int64_t>(x->dims.size()) ||
            x->dims[static_cast<std::size_t>(axis)] != static_cast<std::int64_t>(scale.count()))
          fail(node, fmt::format("{} scales do not fit axis {} of a {}-D tensor", scale.count(), axis, x->dims.size()));
        slices = scale.count();
        for (std::size_t d = static_cast<std::size_t>(axis) + 1; d < x->dims.size(); ++d) inner *= static_cast<std::size_t>(x->dims[d]);
      }
      auto slice = [&](std::size_t i) { return slices == 1 ? std::size_t{0} : i / inner % slices; };
      Constant c;
      c.dims = x->dims;
      c.data.resize(x->count());
      if (quantize) {
        c.type = zp ? zp->type : onnx::TensorProto::UINT8;
        double lo = 0, hi = 255;
        if (c.type == onnx::TensorProto::INT8) lo = -128, hi = 127;
        else if (c.type != onnx::TensorProto::UINT8) fail(node, "only int8 and uint8 quantization is supported");
        for (std::size_t i = 0; i < c.count(); ++i)
          c.data[i] = std::clamp(std::nearbyint(x->data[i] / scale.data[slice(i)]) + zero_point[slice(i)], lo, hi);
      } else {
        c.type = onnx::TensorProto::FLOAT;
        for (std::size_t i = 0; i < c.count(); ++i) c.data[i] = (x->data[i] - zero_point[slice(i)]) * scale.data[slice(i)];
        c.dequantized_from = Quantized{x->data, scale.data, zero_point, axis, x->type};
      }
      constants_[node.output(0)] = std::move(c);
      return;
    }
    if (scale.count() != 1) fail(node, "per-channel quantization of an activation is not supported (per tensor only)");
    if (quantize) {
      activation(node, 0);  // must be a tensor the network computes
      const int type = zp ? zp->type : onnx::TensorProto::UINT8;
      if (type != onnx::TensorProto::INT8 && type != onnx::TensorProto::UINT8)
        fail(node, "only int8 and uint8 quantization is supported");
      const double z = zero_point[0] - (type == onnx::TensorProto::UINT8 ? 128.0 : 0.0);
      pending_[node.output(0)] = PendingQuantize{node.input(0), scale.data[0], static_cast<std::int32_t>(z)};
      return;
    }
    const auto it = pending_.find(node.input(0));
    if (it == pending_.end()) fail(node, "dequantizes neither a constant nor the output of a QuantizeLinear");
    const PendingQuantize& q = it->second;
    const int type = zp ? zp->type : onnx::TensorProto::UINT8;
    const double z = zero_point[0] - (type == onnx::TensorProto::UINT8 ? 128.0 : 0.0);
    if (std::fabs(scale.data[0] - q.scale) > 1e-6 * q.scale || z != q.zero_point)
      fail(node, fmt::format("dequantizes with scale {} and zero point {}, its QuantizeLinear used {} and {}",
                             scale.data[0], zero_point[0], q.scale, q.zero_point));
    const Activation a = activations_.at(q.input);
    alias(node, a);
    const QuantParams params{real(node, q.scale, "scale"), q.zero_point};
    if (a.padded()) fail(node, "quantizes the output of a Pad node");
    if (a.layer < 0) {
      if (overrides_.input && !(*overrides_.input == params))
        notes_.push_back(fmt::format("node {} '{}': the input is quantized twice with different parameters; the first is kept",
                                     node_index_, node.name()));
      else overrides_.input = params;
      return;
    }
    const auto [entry, inserted] = overrides_.activations.emplace(a.layer, params);
    if (!inserted && !(entry->second == params))
      notes_.push_back(fmt::format("node {} '{}': layer {}'s output is quantized twice with different parameters (scale {} "
                                   "zero point {}, then {} and {}); the first is kept",
                                   node_index_, node.name(), a.layer, entry->second.scale, entry->second.zero_point,
                                   params.scale, params.zero_point));
  }

  // Add of two tensors (a residual), or of a tensor and a per-channel constant
  // (a bias: folded, or an affine); Mul/Sub by a per-channel constant likewise.
  void binary(const onnx::NodeProto& node) {
    const std::string& op = node.op_type();
    const bool a_const = constant(node, 0) != nullptr, b_const = constant(node, 1) != nullptr;
    if (!a_const && !b_const) {
      if (op != "Add") fail(node, fmt::format("{} of two tensors is not supported", op));
      const Activation &a = activation(node, 0), &b = activation(node, 1);
      need_unpadded(node, a);
      need_unpadded(node, b);
      if (a.shape != b.shape) fail(node, fmt::format("adds {} to {} (broadcasting is not supported)", to_string(a.shape), to_string(b.shape)));
      LayerSpec l;
      l.kind = LayerKind::kAdd;
      l.input = a.layer, l.input2 = b.layer;
      add_layer(node, l, {}, {}, a.rank);
      return;
    }
    if (op == "Sub" && a_const) fail(node, "constant minus tensor is not supported");
    const Activation& x = activation(node, a_const ? 1 : 0);
    const Constant& c = *constant(node, a_const ? 0 : 1);
    const auto channels = static_cast<std::size_t>(x.shape.c);
    std::size_t spatial = 1;
    for (std::size_t d = 0; d + 1 < c.dims.size(); ++d) spatial *= 1;  // leading dims must be 1
    if (c.count() != 1 && c.count() != channels) fail(node, "the constant must be a scalar or one value per channel");
    if (x.rank == 4 && c.count() == channels && channels > 1 && !c.dims.empty() && c.dims.back() == static_cast<std::int64_t>(channels) && c.dims.size() > 1)
      fail(node, "a constant that broadcasts along W is not per-channel");
    (void)spatial;
    std::vector<double> scale(channels, 1.0), shift(channels, 0.0);
    for (std::size_t i = 0; i < channels; ++i) {
      const double v = c.data[c.count() == 1 ? 0 : i];
      if (op == "Add") shift[i] = v;
      else if (op == "Sub") shift[i] = -v;
      else scale[i] = v;
    }
    affine(node, x, scale, shift, op.c_str());
  }

  std::string path_;
  int opset_ = 13;
  int node_index_ = 0;
  bool have_input_ = false;
  std::string input_name_, softmax_output_;
  Shape input_shape_;
  std::map<std::string, Constant> constants_;
  std::map<std::string, Activation> activations_;
  std::map<std::string, int> readers_;
  std::set<std::string> graph_outputs_;
  std::vector<LayerSpec> layers_;
  std::vector<LayerParams> params_;
  std::vector<std::string> notes_;
  std::map<std::string, PendingQuantize> pending_;
  QuantizationOverrides overrides_;
};

}  // namespace

const std::string& supported_onnx_ops() {
  static const std::string list = [] {
    std::string s;
    for (const char* op : kSupported) s += (s.empty() ? "" : ", ") + std::string(op);
    return s;
  }();
  return list;
}

ImportedNetwork import_onnx(const std::string& path) { return Importer(path).run(); }

}  // namespace isimdl
