#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "model_fixtures.h"
#include "models/error.h"
#include "models/npy.h"
#include "models/onnx_export.h"
#include "models/onnx_import.h"
#include "models/quantized_model.h"
#include "models/reference_engine.h"
#include "models/idx_reader.h"
#include "tests/test_dir.h"

namespace isimdl {
namespace {

const std::string kOnnx = std::string(ISIMDL_TEST_DATA) + "/onnx/";

// log_softmax over each row: the exporter's output when its graph ends in
// LogSoftmax, which the import drops (it does not change top-1 or top-5).
std::vector<double> log_softmax(const std::vector<float>& z, int classes) {
  std::vector<double> out(z.size());
  for (std::size_t r = 0; r < z.size() / classes; ++r) {
    const float* row = z.data() + r * classes;
    const double m = *std::max_element(row, row + classes);
    double sum = 0;
    for (int c = 0; c < classes; ++c) sum += std::exp(row[c] - m);
    for (int c = 0; c < classes; ++c) out[r * classes + c] = row[c] - m - std::log(sum);
  }
  return out;
}

// Contract 7: each PyTorch-exported fixture (scripts/fixtures/make_onnx_fixtures.py)
// imported and run by the float network gives PyTorch's own logits:
// max |difference| / max(1, max |logit|) <= 1e-4.
class OnnxFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxFixture, ReproducesPyTorchLogits) {
  const std::string name = GetParam();
  const ImportedNetwork imported = import_onnx(kOnnx + name + ".onnx");
  const NpyArray input = read_npy(kOnnx + name + ".input.npy");
  const NpyArray expected = read_npy(kOnnx + name + ".logits.npy");
  ASSERT_EQ(input.shape.size(), 4u);
  const int batch = static_cast<int>(input.shape[0]);
  const std::vector<float> x(input.values.begin(), input.values.end());
  ASSERT_EQ(x.size(), imported.net.arch().input_shape().size() * batch);
  ForwardPass pass;
  imported.net.forward(x.data(), batch, pass);
  const int classes = imported.net.arch().num_classes();
  ASSERT_EQ(static_cast<std::size_t>(batch * classes), expected.count());
  const bool dropped_log_softmax = std::any_of(imported.notes.begin(), imported.notes.end(),
                                               [](const std::string& n) { return n.find("LogSoftmax") != std::string::npos; });
  std::vector<double> got(pass.logits().begin(), pass.logits().end());
  if (dropped_log_softmax) got = log_softmax(pass.logits(), classes);
  double max_diff = 0, max_abs = 1;
  for (std::size_t i = 0; i < got.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(got[i] - expected.values[i]));
    max_abs = std::max(max_abs, std::fabs(expected.values[i]));
  }
  EXPECT_LE(max_diff / max_abs, 1e-4) << name << ": max |difference| " << max_diff;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, OnnxFixture,
                         ::testing::Values("resnet_tiny", "mobilenet_tiny", "squeeze_tiny", "plain_cnn", "matmul_mlp"));

TEST(OnnxImport, StructureOfTheFamilies) {
  // ResNet: BatchNorm folded (PyTorch's export already folds it into Conv), a residual Add.
  const Architecture resnet = import_onnx(kOnnx + "resnet_tiny.onnx").net.arch();
  EXPECT_EQ(resnet.input_shape(), (Shape{1, 28, 28}));
  EXPECT_TRUE(std::any_of(resnet.layers().begin(), resnet.layers().end(), [](const LayerSpec& l) { return l.kind == LayerKind::kAdd; }));
  // MobileNet: depthwise convolutions (groups == channels) and ReLU6 as Clip.
  const Architecture mobilenet = import_onnx(kOnnx + "mobilenet_tiny.onnx").net.arch();
  EXPECT_TRUE(std::any_of(mobilenet.layers().begin(), mobilenet.layers().end(),
                          [](const LayerSpec& l) { return l.kind == LayerKind::kConv2d && l.groups == l.in_channels && l.groups > 1; }));
  EXPECT_TRUE(std::any_of(mobilenet.layers().begin(), mobilenet.layers().end(),
                          [](const LayerSpec& l) { return l.kind == LayerKind::kClip && l.clip_lo == 0.0f && l.clip_hi == 6.0f; }));
  // Plain CNN: the BatchNormalization after a pooling layer is an affine (a depthwise 1x1 conv), the Pad is absorbed.
  const ImportedNetwork plain = import_onnx(kOnnx + "plain_cnn.onnx");
  EXPECT_TRUE(std::any_of(plain.notes.begin(), plain.notes.end(), [](const std::string& n) { return n.find("affine") != std::string::npos; }));
  const auto& layers = plain.net.arch().layers();
  EXPECT_TRUE(std::any_of(layers.begin(), layers.end(), [](const LayerSpec& l) {
    return l.kind == LayerKind::kConv2d && l.window.kernel_h == 1 && l.window.kernel_w == 3 && l.window.pad_left == 1;
  }));
}

std::string import_error(const std::string& path) {
  try {
    import_onnx(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(OnnxImport, TruncatedAndMalformedFilesNameTheFile) {
  std::ifstream in(kOnnx + "resnet_tiny.onnx", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string truncated = (test_dir() / "truncated.onnx").string();
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  EXPECT_NE(import_error(truncated).find(truncated), std::string::npos) << import_error(truncated);
  const std::string garbage = (test_dir() / "garbage.onnx").string();
  std::ofstream(garbage, std::ios::binary) << "this is not a protobuf \xff\xff\xff\xff";
  EXPECT_NE(import_error(garbage).find("not a valid ONNX model"), std::string::npos) << import_error(garbage);
  EXPECT_NE(import_error("/nonexistent.onnx").find("cannot open"), std::string::npos);
}

TEST(OnnxImport, UnsupportedOperatorNamesNodeOpAndTheSupportedList) {
  onnx::ModelProto model;
  model.set_ir_version(7);
  model.add_opset_import()->set_version(13);
  onnx::GraphProto* graph = model.mutable_graph();
  auto* input = graph->add_input();
  input->set_name("x");
  auto* shape = input->mutable_type()->mutable_tensor_type()->mutable_shape();
  for (int d : {1, 1, 4, 4}) shape->add_dim()->set_dim_value(d);
  input->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  onnx::NodeProto* node = graph->add_node();
  node->set_op_type("Sigmoid");
  node->set_name("gate");
  node->add_input("x");
  node->add_output("y");
  graph->add_output()->set_name("y");
  const std::string path = (test_dir() / "sigmoid.onnx").string();
  std::ofstream out(path, std::ios::binary);
  model.SerializeToOstream(&out);
  out.close();
  const std::string error = import_error(path);
  EXPECT_NE(error.find("node 0 'gate' (Sigmoid)"), std::string::npos) << error;
  EXPECT_NE(error.find("supported: Conv, Gemm"), std::string::npos) << error;
}

TEST(OnnxImport, QuantizedImportAgreesWithFloatOnRealImages) {
  // Post-training quantization of an imported network (calibrated on 200
  // MNIST images): int8 top-1 equals float top-1 on most of 100 others, and
  // the int8 engine equals the naive reading of the same model (the engine
  // tests cover that per layer kind).
  for (const std::string name : {"resnet_tiny", "mobilenet_tiny", "squeeze_tiny", "plain_cnn"}) {
    FloatNetwork net = import_onnx(kOnnx + name + ".onnx").net;
    const std::vector<float> calibration = images_to_float(testing_fixtures::mnist_subset().images, 0, 200);
    net.fake_quant() = make_fake_quantization(net.arch(), calibrate(net, calibration, 200), mnist_input_qparams());
    const QuantizedModel model = quantize_network(net, net.fake_quant());
    FloatNetwork plain = net;
    plain.fake_quant().enabled = false;
    ReferenceEngine engine(model);
    const std::vector<float> images = images_to_float(testing_fixtures::mnist_subset().images, 200, 300);
    ForwardPass pass;
    plain.forward(images.data(), 100, pass);
    int agree = 0;
    InferenceTrace trace;
    for (int i = 0; i < 100; ++i) {
      engine.run(testing_fixtures::mnist_subset().images.image(200 + i), trace);
      agree += ReferenceEngine::top1(trace.logits()) == argmax(pass.logits().data() + i * 10, 10);
    }
    EXPECT_GE(agree, 85) << name;
  }
}

// Export, then import: the same float network, outputs equal bit for bit.
void expect_export_round_trip(const FloatNetwork& net, const std::string& name) {
  const std::string path = (test_dir() / (name + ".onnx")).string();
  export_onnx(net, path);
  const ImportedNetwork back = import_onnx(path);
  ASSERT_EQ(back.net.arch().input_shape(), net.arch().input_shape()) << name;
  const std::vector<float> x = images_to_float(testing_fixtures::mnist_subset().images, 0, 5);
  ForwardPass a, b;
  FloatNetwork plain = net;
  plain.fake_quant().enabled = false;
  plain.forward(x.data(), 5, a);
  back.net.forward(x.data(), 5, b);
  EXPECT_EQ(a.logits(), b.logits()) << name;
}

TEST(OnnxExport, ReimportGivesIdenticalFloatOutputs) {
  for (const std::string name : {"resnet_tiny", "mobilenet_tiny", "squeeze_tiny", "plain_cnn", "matmul_mlp"})
    expect_export_round_trip(import_onnx(kOnnx + name + ".onnx").net, name);
  FloatNetwork modern(testing_fixtures::modern_layer_architecture());
  modern.initialize(3);
  expect_export_round_trip(modern, "modern");
  FloatNetwork every(testing_fixtures::every_layer_architecture());
  every.initialize(4);
  expect_export_round_trip(every, "every");
  const QuantizedModel lenet = testing_fixtures::lenet5();
  FloatNetwork trained(lenet.arch);
  trained.params() = lenet.float_params;
  expect_export_round_trip(trained, "lenet5");
}

TEST(Npy, ReadsWhatItWritesAndRejectsBadFiles) {
  const std::string path = (test_dir() / "a.npy").string();
  write_npy_float32(path, {2, 3}, {1, 2, 3, 4, 5, 6.5f});
  const NpyArray a = read_npy(path);
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(a.values[5], 6.5);
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string cut = (test_dir() / "cut.npy").string();
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 3);
  try {
    read_npy(cut);
    FAIL() << "truncated .npy accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("needs 24 data bytes"), std::string::npos) << e.what();
  }
}

// A QDQ model keeps its own quantization (docs/models.md, "QDQ models"): the
// fixture's int8 weights (ONNX Runtime's int8-initializer form and PyTorch's
// float -> QuantizeLinear form), activation scales and zero points (uint8 and
// int8) and int32 biases are used as given, nothing is calibrated, and the
// int8 engine's logits stay within the bound docs/quantization.md states of
// PyTorch's fake-quantized ones (a float-multiply-and-round runtime).
TEST(OnnxQdq, KeepsTheModelsOwnQuantization) {
  const ImportedNetwork imported = import_onnx(kOnnx + "qdq_tiny.onnx");
  const Architecture& arch = imported.net.arch();
  ASSERT_TRUE(imported.quantization.covers(arch));
  EXPECT_EQ(imported.quantization.weights.size(), 5u);  // every Conv and the Gemm
  const CalibrationRanges none{std::vector<float>(static_cast<std::size_t>(arch.size()), 0.0f),
                               std::vector<float>(static_cast<std::size_t>(arch.size()), 0.0f)};
  const FakeQuantization fq = make_fake_quantization(arch, none, QuantParams{}, &imported.quantization);
  std::vector<std::string> notes;
  const QuantizedModel model = quantize_network(imported.net, fq, &imported.quantization, &notes);
  EXPECT_TRUE(notes.empty()) << notes.front();
  // The one given quantization the int8 engine cannot keep: the residual
  // Add's, since the ReLU after it keeps the Add's grid and the model gives
  // the ReLU another (the Add requantizes straight onto the ReLU's).
  std::vector<std::string> why;
  for (int li = 0; li < arch.size(); ++li) given_output(arch, imported.quantization, li, &why);
  ASSERT_EQ(why.size(), 1u);
  EXPECT_NE(why[0].find("(add)"), std::string::npos) << why[0];
  ASSERT_EQ(arch.layer(6).kind, LayerKind::kAdd);
  const QuantParams add_given = imported.quantization.activations.at(6);
  // The input: uint8 pixels / 255, zero point 0 -> isimdl's int8 form -128.
  EXPECT_EQ(model.input, (QuantParams{1.0f / 255.0f, -128}));
  // Every activation quantization of the fixture is a tensor of the model.
  const NpyArray qparams = read_npy(kOnnx + "qdq_tiny.activation_qparams.npy");
  ASSERT_EQ(qparams.shape.size(), 2u);
  for (std::size_t r = 0; r < static_cast<std::size_t>(qparams.shape[0]); ++r) {
    const QuantParams want{static_cast<float>(qparams.values[2 * r]), static_cast<std::int32_t>(qparams.values[2 * r + 1])};
    bool found = want == model.input || want == add_given;
    for (const auto& layer : model.layers) found = found || layer.output == want;
    EXPECT_TRUE(found) << "scale " << want.scale << " zero point " << want.zero_point;
  }
  // conv1's int8 weights exactly (1 input channel: the GEMM's k is the kernel position).
  const NpyArray conv1 = read_npy(kOnnx + "qdq_tiny.conv1_int8.npy");
  ASSERT_EQ(model.layers[0].weight.size(), conv1.count());
  for (std::size_t i = 0; i < conv1.count(); ++i) ASSERT_EQ(model.layers[0].weight[i], conv1.values[i]) << i;
  // The int8 engine against PyTorch's fake-quantized logits.
  const MnistSplit data = load_npy_dataset(kOnnx + "qdq_tiny.input.npy", "", "nchw");
  const NpyArray expected = read_npy(kOnnx + "qdq_tiny.logits.npy");
  const int classes = arch.num_classes();
  const QuantParams out = model.layers.back().output;
  ReferenceEngine engine(model);
  InferenceTrace trace;
  int max_lsb = 0, top1_agree = 0;
  for (int i = 0; i < data.images.count; ++i) {
    engine.run(data.images, i, trace);
    int best = 0;
    for (int c = 0; c < classes; ++c) {
      const double torch = expected.values[static_cast<std::size_t>(i * classes + c)];
      const double q = std::nearbyint(torch / out.scale) + out.zero_point;  // PyTorch's int8 logit
      max_lsb = std::max(max_lsb, static_cast<int>(std::fabs(trace.logits()[static_cast<std::size_t>(c)] - q)));
      if (expected.values[static_cast<std::size_t>(i * classes + c)] > expected.values[static_cast<std::size_t>(i * classes + best)]) best = c;
    }
    top1_agree += ReferenceEngine::top1(trace.logits()) == best;
  }
  RecordProperty("max_logit_difference_lsb", max_lsb);
  std::printf("QDQ fixture: int8 logits within %d LSB of PyTorch's, top-1 agrees on %d of %d images\n", max_lsb, top1_agree,
              data.images.count);
  EXPECT_LE(max_lsb, 3);  // measured 3 (docs/quantization.md)
  EXPECT_EQ(top1_agree, data.images.count);
}

// What a QDQ import cannot represent is an error naming the node.
TEST(OnnxQdq, QOperatorModelsAndPerChannelActivationsAreClearErrors) {
  onnx::ModelProto model;
  {
    std::ifstream in(kOnnx + "qdq_tiny.onnx", std::ios::binary);
    ASSERT_TRUE(model.ParseFromIstream(&in));
  }
  // A node other than DequantizeLinear reads a QuantizeLinear's output.
  // (The Add reads a DequantizeLinear of an activation; make it read the
  // QuantizeLinear's int8 output, as a QOperator graph would.)
  onnx::ModelProto bad = model;
  std::map<std::string, std::string> dequantized;  // DequantizeLinear output -> its input
  for (const auto& node : bad.graph().node())
    if (node.op_type() == "DequantizeLinear") dequantized[node.output(0)] = node.input(0);
  bool rewired = false;
  for (auto& node : *bad.mutable_graph()->mutable_node())
    if (node.op_type() == "Add" && dequantized.count(node.input(0))) {
      node.set_input(0, dequantized[node.input(0)]);
      rewired = true;
    }
  ASSERT_TRUE(rewired);
  const std::string path = (test_dir() / "qoperator.onnx").string();
  {
    std::ofstream out(path, std::ios::binary);
    ASSERT_TRUE(bad.SerializeToOstream(&out));
  }
  try {
    import_onnx(path);
    ADD_FAILURE() << "a Relu reading a quantized tensor was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("only a DequantizeLinear may read a QuantizeLinear"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace isimdl

namespace isimdl {
namespace {

// The byte-image input path (pixel / 255, quantized with the model's input
// quantization) is exactly the old q = pixel - 128 for MNIST models.
TEST(Datasets, MnistInputQuantizationIsPixelMinus128) {
  for (int p = 0; p < 256; ++p)
    EXPECT_EQ(quantize_activation(static_cast<float>(p) / 255.0f, mnist_input_qparams()), p - 128) << "pixel " << p;
}

void write_npy_bytes(const std::string& path, const std::vector<std::int64_t>& shape, const std::vector<std::uint8_t>& v,
                     const char* descr) {
  std::string dims;
  for (auto d : shape) dims += std::to_string(d) + ",";
  std::string header = "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out << std::string("\x93NUMPY\x01\x00", 8) << static_cast<char>(header.size() & 0xff) << static_cast<char>(header.size() >> 8)
      << header;
  out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size()));
}

TEST(Datasets, NpyImagesInEitherLayoutWithNormalization) {
  // Two 3-channel 2x2 images in N x H x W x C: value = 100 * image + 10 * channel + pixel.
  std::vector<std::uint8_t> nhwc;
  for (int i = 0; i < 2; ++i)
    for (int p = 0; p < 4; ++p)
      for (int c = 0; c < 3; ++c) nhwc.push_back(static_cast<std::uint8_t>(100 * i + 10 * c + p));
  const std::string images = (test_dir() / "nhwc.npy").string(), labels = (test_dir() / "labels.npy").string();
  write_npy_bytes(images, {2, 2, 2, 3}, nhwc, "|u1");
  write_npy_bytes(labels, {2}, {7, 3}, "|u1");
  MnistSplit split = load_npy_dataset(images, labels, "auto");
  ASSERT_EQ(split.images.channels, 3);
  ASSERT_EQ(split.images.rows, 2);
  EXPECT_EQ(split.labels, (std::vector<std::uint8_t>{7, 3}));
  // C x H x W order: image 1, channel 2, pixel 3 is 100 + 20 + 3.
  EXPECT_EQ(split.images.image(1)[2 * 4 + 3], 123);
  split.images.mean = {0.0f, 0.5f, 0.25f};
  split.images.std = {1.0f, 2.0f, 0.5f};
  std::vector<float> x(12);
  split.images.input(1, x.data());
  EXPECT_FLOAT_EQ(x[2 * 4 + 3], (123.0f / 255.0f - 0.25f) / 0.5f);
  EXPECT_FLOAT_EQ(x[1 * 4 + 0], (110.0f / 255.0f - 0.5f) / 2.0f);
  // Without labels every image is unlabelled; a shape with no channel axis of size 1 or 3 needs the layout.
  EXPECT_EQ(load_npy_dataset(images, "", "nhwc").labels, (std::vector<std::uint8_t>{kUnlabelled, kUnlabelled}));
  write_npy_bytes(images, {2, 2, 2, 2}, std::vector<std::uint8_t>(16, 1), "|u1");
  EXPECT_THROW(load_npy_dataset(images, "", "auto"), FormatError);
  write_npy_bytes(labels, {3}, {1, 2, 3}, "|u1");
  EXPECT_THROW(load_npy_dataset(images, labels, "nchw"), FormatError);  // 3 labels for 2 images
}

TEST(Datasets, FashionMnistHasIsimdlsSplit) {
  const MnistSplit test = load_mnist(std::string(ISIMDL_SOURCE_DIR) + "/.cache/fashion-mnist", "t10k");
  const MnistSplit train = load_mnist(std::string(ISIMDL_SOURCE_DIR) + "/.cache/fashion-mnist", "train");
  EXPECT_EQ(test.images.count, 10000);
  EXPECT_EQ(train.images.count, 60000);
  // Classes interleave: every leading range holds every class.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(test.labels[static_cast<std::size_t>(i)], i % 10);
  std::vector<int> per_class(10);
  for (auto l : test.labels) ++per_class[l];
  EXPECT_EQ(per_class, std::vector<int>(10, 1000));
}

}  // namespace
}  // namespace isimdl
