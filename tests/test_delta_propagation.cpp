#include <gtest/gtest.h>

#include <fmt/format.h>

#include <functional>
#include <string>

#include "model_fixtures.h"
#include "models/delta_propagation.h"
#include "models/error.h"
#include "models/onnx_import.h"
#include "models/random.h"
#include "models/reference_engine.h"

namespace isimdl {
namespace {

using namespace testing_fixtures;

// An imported ONNX fixture, quantized after calibration on random inputs in
// [-1, 1] (the fixtures have random weights; only the arithmetic matters).
QuantizedModel quantized_onnx(const std::string& name) {
  const ImportedNetwork imported = import_onnx(std::string(ISIMDL_TEST_DATA) + "/onnx/" + name + ".onnx");
  const Architecture& arch = imported.net.arch();
  Random random(7);
  const int count = 16;
  std::vector<float> inputs(arch.input_shape().size() * count);
  for (float& x : inputs) x = static_cast<float>(random.uniform01() * 2.0 - 1.0);
  FloatNetwork net = imported.net;
  const QuantParams input = choose_activation_qparams(-1.0f, 1.0f);
  net.fake_quant() = make_fake_quantization(arch, calibrate(net, inputs, count), input);
  return quantize_network(net, net.fake_quant());
}

struct Case {
  std::string name;
  std::function<QuantizedModel()> make;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<Case> cases() {
  auto zoo = [](const char* name) {
    return [name] { return load_model(resolve_model_path(name, default_zoo_dir())); };
  };
  return {
      {"lenet5", zoo("lenet5")},
      {"cnn_small", zoo("cnn-small")},
      {"mlp", zoo("mlp")},
      {"resnet8", zoo("resnet8")},
      {"mobilenet_tiny_zoo", zoo("mobilenet-tiny")},
      {"onnx_resnet_tiny", [] { return quantized_onnx("resnet_tiny"); }},
      {"onnx_mobilenet_tiny", [] { return quantized_onnx("mobilenet_tiny"); }},
      {"onnx_squeeze_tiny", [] { return quantized_onnx("squeeze_tiny"); }},
      {"every_layer", [] { return quantized_random_model(every_layer_architecture(), 3); }},
      {"modern_layers", [] { return quantized_random_model(modern_layer_architecture(), 4); }},
  };
}

class DeltaPropagation : public ::testing::TestWithParam<Case> {};

// The incremental propagation of a changed layer output equals the dense
// tail (ReferenceEngine::run_from on a copy of the golden trace with the
// change applied) on 1,000 random changes per model: logits bit for bit,
// and the layer where the change dies the same as ChangeLiveness finds on
// the dense tensors. Changes are single elements, a handful, a window, or
// most of the tensor; each is propagated four ways: the default (which
// picks per layer), and always by accumulator deltas, always by recomputing
// the changed rows (both ways of gathering them), always densely; the
// default also carries wide changes on as whole tensors. The default takes
// the changes eight at a time (on four images, different layers), so that
// their dense tails run together.
TEST_P(DeltaPropagation, EqualsTheDenseTail) {
  const QuantizedModel model = GetParam().make();
  const ReferenceEngine engine(model);
  DeltaPropagator by_default(engine);
  DeltaPropagator delta(engine, DeltaPropagator::Strategy::kDelta);
  DeltaPropagator region(engine, DeltaPropagator::Strategy::kRegion);
  DeltaPropagator dense(engine, DeltaPropagator::Strategy::kDense);
  const Architecture& arch = model.arch;
  Random random(11);
  std::vector<InferenceTrace> golden(4);
  for (InferenceTrace& g : golden) {
    g.input.resize(arch.input_shape().size());
    for (std::int8_t& v : g.input) v = static_cast<std::int8_t>(static_cast<int>(random.uniform_below(256)) - 128);
    engine.run_from(0, g);
  }
  struct Trial {
    const InferenceTrace* golden;
    int layer;
    TensorDelta change;
    std::vector<std::int8_t> logits;  // the dense tail's
    int died;
  };
  constexpr int kBatch = 8;
  std::vector<Trial> batch;
  int reached_logits = 0, died_early = 0, delta_layers = 0, wide_layers = 0, whole_layers = 0, region_copies = 0,
      region_scatters = 0, tails_together = 0;
  for (int trial = 0; trial < 1000; ++trial) {
    const InferenceTrace& g = golden[random.uniform_below(golden.size())];
    const int layer = static_cast<int>(random.uniform_below(static_cast<std::uint64_t>(arch.size())));
    const std::vector<std::int8_t>& out = g.out[static_cast<std::size_t>(layer)];
    // How many elements change: one, a few, or a large share.
    const std::uint64_t pick = random.uniform_below(10);
    const std::size_t wanted = pick < 5 ? 1 : pick < 8 ? 1 + random.uniform_below(8) : 1 + random.uniform_below(out.size());
    std::vector<bool> taken(out.size(), false);
    TensorDelta change;
    InferenceTrace work = g;
    for (std::size_t i = 0; i < wanted; ++i) {
      const auto e = static_cast<std::size_t>(random.uniform_below(out.size()));
      if (taken[e]) continue;
      taken[e] = true;
      // Small or large changes (a low bit or a sign bit flipped).
      const int bit = random.uniform_below(2) ? 0 : static_cast<int>(random.uniform_below(8));
      const auto v = static_cast<std::int8_t>(out[e] ^ static_cast<std::int8_t>(1 << bit));
      change.push(static_cast<std::int64_t>(e), v);
      work.out[static_cast<std::size_t>(layer)][e] = v;
    }
    engine.run_from(layer + 1, work);
    const int died = by_default.liveness().dies_at(layer, [&](int t) {
      return work.out[static_cast<std::size_t>(t)] != g.out[static_cast<std::size_t>(t)];
    });
    for (DeltaPropagator* p : {&delta, &region, &dense}) {
      DeltaPropagator::Result r;
      p->propagate(g, layer, change, r);
      ASSERT_EQ(r.logits, work.logits()) << GetParam().name << " trial " << trial << " layer " << layer << " changes "
                                         << change.size();
      ASSERT_EQ(r.died, died) << GetParam().name << " trial " << trial << " layer " << layer;
      if (p == &region) {
        region_copies += r.region_copies;
        region_scatters += r.region_layers - r.region_copies;
      }
    }
    (died < 0 ? reached_logits : died_early)++;
    batch.push_back({&g, layer, change, work.logits(), died});
    if (batch.size() < kBatch && trial + 1 < 1000) continue;
    std::vector<DeltaPropagator::Result> results(batch.size());
    std::vector<DeltaPropagator::Job> jobs;
    for (std::size_t j = 0; j < batch.size(); ++j) jobs.push_back({batch[j].golden, batch[j].layer, &batch[j].change, &results[j]});
    by_default.propagate(jobs);
    int tails = 0;
    for (std::size_t j = 0; j < batch.size(); ++j) {
      const DeltaPropagator::Result& r = results[j];
      ASSERT_EQ(r.logits, batch[j].logits) << GetParam().name << " trial " << trial - static_cast<int>(batch.size() - 1 - j)
                                           << " layer " << batch[j].layer << " in a batch";
      ASSERT_EQ(r.died, batch[j].died) << GetParam().name << " layer " << batch[j].layer << " in a batch";
      delta_layers += r.delta_layers;
      wide_layers += r.region_layers + r.dense_layers;
      whole_layers += r.whole_layers;
      tails += r.tail_from >= 0;
    }
    if (tails > 1) tails_together += tails;
    batch.clear();
  }
  // Not degenerate: changes reach the logits, others die on the way, and
  // the default takes both the sparse and (on convolutional models) the dense way.
  EXPECT_GT(reached_logits, 0) << GetParam().name;
  EXPECT_GT(died_early, 0) << GetParam().name;
  EXPECT_GT(delta_layers, 0) << GetParam().name;
  EXPECT_GT(wide_layers, 0) << GetParam().name;
  // Regions gathered both ways: changed elements written into golden's
  // rows, and rows gathered from a copy of the faulty input.
  EXPECT_GT(region_copies, 0) << GetParam().name;
  EXPECT_GT(region_scatters, 0) << GetParam().name;
  // Wide changes are carried on whole by the default, several jobs' dense tails together.
  EXPECT_GT(whole_layers, 0) << GetParam().name;
  EXPECT_GT(tails_together, 0) << GetParam().name;
}

INSTANTIATE_TEST_SUITE_P(Models, DeltaPropagation, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

// The death rule on a residual block, by hand: a change that a branch's
// ReLU absorbs is still alive while the skip connection carries it.
TEST(ChangeLiveness, ASkipConnectionKeepsAChangeAlive) {
  const Architecture arch = every_layer_architecture();  // 1: ReLU read by 2 and 3 (= 2 + 1)
  const ChangeLiveness liveness(arch);
  EXPECT_EQ(liveness.last_reader(1), 3);
  EXPECT_EQ(liveness.last_reader(arch.size() - 1), arch.size());
  // Layer 1 changed, layer 2 (the branch) not: alive after 2, dead after 3 if the Add is golden.
  EXPECT_TRUE(liveness.alive_after(2, {1}));
  EXPECT_EQ(liveness.dies_at(1, [](int t) { return t == 1; }), 3);
  // On a chain the change dies at the first golden layer.
  EXPECT_EQ(liveness.dies_at(4, [](int t) { return t == 4; }), 5);
  // Reaching the logits.
  EXPECT_EQ(liveness.dies_at(4, [](int t) { return t >= 4; }), -1);
}

TEST(DeltaPropagation, RejectsAChangeOutsideTheLayer) {
  const QuantizedModel& model = lenet5();
  const ReferenceEngine engine(model);
  DeltaPropagator p(engine);
  InferenceTrace g;
  g.input.assign(model.arch.input_shape().size(), 0);
  engine.run_from(0, g);
  TensorDelta change;
  change.push(static_cast<std::int64_t>(g.out[0].size()), 1);
  DeltaPropagator::Result r;
  try {
    p.propagate(g, 0, change, r);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("outside layer 0"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace isimdl
