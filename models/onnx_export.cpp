#include "models/onnx_export.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <limits>

#include "models/atomic_file.h"
#include "models/error.h"

namespace isimdl {
namespace {

class Writer {
 public:
  explicit Writer(onnx::GraphProto& graph) : graph_(graph) {}

  std::string initializer(const std::string& name, const std::vector<std::int64_t>& dims, const std::vector<float>& values) {
    onnx::TensorProto* t = graph_.add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : dims) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
    return name;
  }
  onnx::NodeProto& node(const std::string& op, const std::string& name, const std::vector<std::string>& inputs,
                        const std::string& output) {
    onnx::NodeProto* n = graph_.add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& in : inputs) n->add_input(in);
    n->add_output(output);
    return *n;
  }
  static void ints(onnx::NodeProto& n, const char* name, const std::vector<std::int64_t>& values) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto v : values) a->add_ints(v);
  }
  static void integer(onnx::NodeProto& n, const char* name, std::int64_t value) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
  }
  static void real(onnx::NodeProto& n, const char* name, float value) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(value);
  }

 private:
  onnx::GraphProto& graph_;
};

void window_attributes(onnx::NodeProto& n, const Window2d& w, bool pooling) {
  Writer::ints(n, "kernel_shape", {w.kernel_h, w.kernel_w});
  Writer::ints(n, "strides", {w.stride_h, w.stride_w});
  Writer::ints(n, "pads", {w.pad_top, w.pad_left, w.pad_bottom, w.pad_right});
  if (!pooling || w.dilation_h != 1 || w.dilation_w != 1) Writer::ints(n, "dilations", {w.dilation_h, w.dilation_w});
  if (pooling && w.ceil_mode) Writer::integer(n, "ceil_mode", 1);
}

}  // namespace

void export_onnx(const FloatNetwork& net, const std::string& path) {
  const Architecture& arch = net.arch();
  onnx::ModelProto model;
  model.set_ir_version(7);
  model.set_producer_name("isimdl");
  model.add_opset_import()->set_version(13);
  onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name(arch.name());
  Writer w(graph);

  auto declare = [](onnx::ValueInfoProto* v, const std::string& name, std::vector<std::int64_t> dims) {
    v->set_name(name);
    auto* type = v->mutable_type()->mutable_tensor_type();
    type->set_elem_type(onnx::TensorProto::FLOAT);
    type->mutable_shape()->add_dim()->set_dim_param("batch");
    for (auto d : dims) type->mutable_shape()->add_dim()->set_dim_value(d);
  };
  const Shape in = arch.input_shape();
  declare(graph.add_input(), "input", {in.c, in.h, in.w});

  // Name and ONNX rank (4: N x C x H x W, 2: N x F) of each layer's output.
  std::vector<std::string> names(static_cast<std::size_t>(arch.size()));
  std::vector<int> ranks(static_cast<std::size_t>(arch.size()), 4);
  auto name_of = [&](int i) { return i < 0 ? std::string("input") : names[static_cast<std::size_t>(i)]; };
  auto rank_of = [&](int i) { return i < 0 ? 4 : ranks[static_cast<std::size_t>(i)]; };
  for (int li = 0; li < arch.size(); ++li) {
    const auto i = static_cast<std::size_t>(li);
    const LayerSpec& l = arch.layer(li);
    const std::string prefix = fmt::format("layer{}", li);
    const std::string out = li == arch.size() - 1 ? "logits" : prefix + "_out";
    names[i] = out;
    ranks[i] = rank_of(l.input);
    const LayerParams& p = net.params()[i];
    switch (l.kind) {
      case LayerKind::kConv2d: {
        const GemmShape g = arch.gemm(li);
        const Window2d& win = l.window;
        const int cin_g = l.in_channels / l.groups, cout_g = l.out_channels / l.groups;
        std::vector<float> weight(static_cast<std::size_t>(l.out_channels) * cin_g * win.kernel_h * win.kernel_w);
        for (int n = 0; n < l.out_channels; ++n)
          for (int c = 0; c < cin_g; ++c)
            for (int y = 0; y < win.kernel_h; ++y)
              for (int x = 0; x < win.kernel_w; ++x) {
                const int channel = (n / cout_g) * cin_g + c;
                weight[((static_cast<std::size_t>(n) * cin_g + c) * win.kernel_h + y) * win.kernel_w + x] =
                    p.weight[static_cast<std::size_t>(n) * g.k + static_cast<std::size_t>((channel * win.kernel_h + y) * win.kernel_w + x)];
              }
        const std::string wn = w.initializer(prefix + ".weight", {l.out_channels, cin_g, win.kernel_h, win.kernel_w}, weight);
        const std::string bn = w.initializer(prefix + ".bias", {l.out_channels}, p.bias);
        onnx::NodeProto& n = w.node("Conv", prefix, {name_of(l.input), wn, bn}, out);
        window_attributes(n, win, false);
        if (l.groups != 1) Writer::integer(n, "group", l.groups);
        ranks[i] = 4;
        break;
      }
      case LayerKind::kLinear: {
        std::string x = name_of(l.input);
        if (rank_of(l.input) != 2) {
          w.node("Flatten", prefix + "_flatten", {x}, prefix + "_flat");
          x = prefix + "_flat";
        }
        const std::string wn = w.initializer(prefix + ".weight", {l.out_features, l.in_features}, p.weight);
        const std::string bn = w.initializer(prefix + ".bias", {l.out_features}, p.bias);
        Writer::integer(w.node("Gemm", prefix, {x, wn, bn}, out), "transB", 1);
        ranks[i] = 2;
        break;
      }
      case LayerKind::kReLU:
        w.node("Relu", prefix, {name_of(l.input)}, out);
        break;
      case LayerKind::kClip: {
        const std::string lo = w.initializer(prefix + ".min", {}, {l.clip_lo});
        const std::string hi = w.initializer(prefix + ".max", {}, {l.clip_hi});
        w.node("Clip", prefix, {name_of(l.input), lo, hi}, out);
        break;
      }
      case LayerKind::kLeakyReLU:
        Writer::real(w.node("LeakyRelu", prefix, {name_of(l.input)}, out), "alpha", l.alpha);
        break;
      case LayerKind::kMaxPool2d:
        window_attributes(w.node("MaxPool", prefix, {name_of(l.input)}, out), l.window, true);
        break;
      case LayerKind::kAvgPool2d: {
        onnx::NodeProto& n = w.node("AveragePool", prefix, {name_of(l.input)}, out);
        window_attributes(n, l.window, true);
        if (l.count_include_pad) Writer::integer(n, "count_include_pad", 1);
        break;
      }
      case LayerKind::kFlatten:
        w.node("Flatten", prefix, {name_of(l.input)}, out);
        ranks[i] = 2;
        break;
      case LayerKind::kAdd:
        w.node("Add", prefix, {name_of(l.input), name_of(l.input2)}, out);
        break;
      case LayerKind::kConcat: {
        std::vector<std::string> inputs;
        for (int from : l.inputs()) inputs.push_back(name_of(from));
        Writer::integer(w.node("Concat", prefix, inputs, out), "axis", 1);
        break;
      }
    }
  }
  const Shape out = arch.output_shape(arch.size() - 1);
  if (ranks.back() == 2)
    declare(graph.add_output(), "logits", {static_cast<std::int64_t>(out.size())});
  else
    declare(graph.add_output(), "logits", {out.c, out.h, out.w});
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw Error(fmt::format("{}: could not serialize the ONNX model", path));
  write_file_atomically(path, bytes);
}

}  // namespace isimdl
