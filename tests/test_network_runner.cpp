#include <gtest/gtest.h>

#include "model_fixtures.h"

#include <filesystem>

#include "hw/accelerator.h"
#include "models/idx_reader.h"
#include "models/model_file.h"
#include "models/zoo.h"
#include "config/config.h"
#include "runner/network_runner.h"

namespace isimdl {
namespace {

using testing_fixtures::lenet5;
using testing_fixtures::mnist_subset;

const std::string kSource = ISIMDL_SOURCE_DIR;

// Contract 1: every zoo model on every shipped array (but the 128x128 one,
// which is too slow for CI), every layer's int32 accumulators and int8
// outputs equal the reference engine's.
class ZooModelsOnArray : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooModelsOnArray, AreBitExact) {
  const int images = 20;
  Accelerator& accelerator = shared_accelerator();
  {
    const std::string array_file = GetParam();
    const Config config = load_config(kSource + "/configs/arrays/" + array_file + ".yaml");
    for (const Dataflow dataflow : {Dataflow::kWeightStationary, Dataflow::kInputStationary, Dataflow::kOutputStationary})
    for (TimingMode timing : {TimingMode::kScaleSim, TimingMode::kDoubleBuffered}) {
      ArrayConfig array = config.array;
      array.timing = timing;
      array.dataflow = dataflow;
      accelerator.configure(array);
      for (const auto& name : zoo_names()) {
        // The imported Fashion-MNIST models are 20x larger: ImportedZooModelsOnArray.
        if (!zoo_trained_by_isimdl(name)) continue;
        const std::string path = resolve_model_path(name, default_zoo_dir());
        if (!std::filesystem::exists(path)) continue;
        const QuantizedModel model = load_model(path);
        NetworkRunner runner(accelerator, model);
        // The double-buffered mode computes the same values by a different
        // schedule: fewer images are enough to catch a hazard.
        // So do the input- and output-stationary dataflows.
        const int count = timing == TimingMode::kScaleSim && dataflow == Dataflow::kWeightStationary ? images : 3;
        for (int i = 0; i < count; ++i) {
          InferenceTrace hw, golden;
          runner.run(mnist_subset().images.image(i), hw);
          runner.engine().run(mnist_subset().images.image(i), golden);
          for (int l = 0; l < model.arch.size(); ++l) {
            ASSERT_EQ(hw.acc[static_cast<std::size_t>(l)], golden.acc[static_cast<std::size_t>(l)])
                << name << " on " << array_file << " " << to_string(timing) << " " << to_string(dataflow) << ", image " << i
                << ", layer " << l;
            ASSERT_EQ(hw.out[static_cast<std::size_t>(l)], golden.out[static_cast<std::size_t>(l)])
                << name << " on " << array_file << " " << to_string(timing) << ", image " << i << ", layer " << l;
          }
        }
      }
    }
  }
}

// Contract 1 for the layers imported networks bring: grouped and depthwise
// convolutions (block-diagonal GEMMs), asymmetric padding, dilation and a
// rectangular kernel run on the array bit for bit, in both timing modes.
TEST(NetworkRunner, ModernLayersAreBitExactOnTheArray) {
  const QuantizedModel model = testing_fixtures::quantized_random_model(testing_fixtures::modern_layer_architecture(), 51);
  Accelerator& accelerator = shared_accelerator();
  for (const Dataflow dataflow : {Dataflow::kWeightStationary, Dataflow::kInputStationary, Dataflow::kOutputStationary})
  for (TimingMode timing : {TimingMode::kScaleSim, TimingMode::kDoubleBuffered}) {
    ArrayConfig array = load_config(kSource + "/configs/arrays/8x8.yaml").array;
    array.timing = timing;
    array.dataflow = dataflow;
    accelerator.configure(array);
    NetworkRunner runner(accelerator, model);
    for (int i = 0; i < 3; ++i) {
      InferenceTrace hw, golden;
      runner.run(mnist_subset().images.image(i), hw);
      runner.engine().run(mnist_subset().images.image(i), golden);
      for (int l = 0; l < model.arch.size(); ++l) {
        ASSERT_EQ(hw.acc[static_cast<std::size_t>(l)], golden.acc[static_cast<std::size_t>(l)])
            << to_string(dataflow) << " image " << i << " layer " << l;
        ASSERT_EQ(hw.out[static_cast<std::size_t>(l)], golden.out[static_cast<std::size_t>(l)]) << "image " << i << " layer " << l;
      }
    }
  }
}

// Contract 1 for the imported zoo models (residual, depthwise), both timings.
TEST(NetworkRunner, ImportedZooModelsAreBitExactOnTheArray) {
  Accelerator& accelerator = shared_accelerator();
  for (const auto& name : zoo_names()) {
    if (zoo_trained_by_isimdl(name)) continue;
    const std::string path = resolve_model_path(name, default_zoo_dir());
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    const QuantizedModel model = load_model(path);
    for (const Dataflow dataflow : {Dataflow::kWeightStationary, Dataflow::kInputStationary, Dataflow::kOutputStationary})
    for (TimingMode timing : {TimingMode::kScaleSim, TimingMode::kDoubleBuffered}) {
      ArrayConfig array = load_config(kSource + "/configs/arrays/16x16.yaml").array;
      array.timing = timing;
      array.dataflow = dataflow;
      accelerator.configure(array);
      NetworkRunner runner(accelerator, model);
      InferenceTrace hw, golden;
      runner.run(mnist_subset().images.image(0), hw);
      runner.engine().run(mnist_subset().images.image(0), golden);
      for (int l = 0; l < model.arch.size(); ++l) {
        ASSERT_EQ(hw.acc[static_cast<std::size_t>(l)], golden.acc[static_cast<std::size_t>(l)])
            << name << " " << to_string(dataflow) << " layer " << l;
        ASSERT_EQ(hw.out[static_cast<std::size_t>(l)], golden.out[static_cast<std::size_t>(l)]) << name << " layer " << l;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Arrays, ZooModelsOnArray, ::testing::Values("8x8", "16x16", "32x32", "32x8"));

}  // namespace
}  // namespace isimdl
