// Fault-aware training applies a fault through its software-level
// equivalent in the fake-quantized float network: checked here against the
// int8 faulty inference of the fault simulator.
#include <gtest/gtest.h>

#include <cmath>

#include "model_fixtures.h"

#include "hw/accelerator.h"
#include "models/reference_engine.h"
#include "models/trainer.h"
#include "campaign/fault_aware_training.h"
#include "runner/fault_simulator.h"

namespace isimdl {
namespace {

using testing_fixtures::lenet5;
using testing_fixtures::mnist_subset;

ArrayConfig array8() {
  ArrayConfig a;
  a.rows = 8;
  a.cols = 8;
  return a;
}

// A fault in lenet5's fc2 layer (fused ReLU) that changes the prediction of
// one of the first images: found by scanning pe_psum bits with the fault
// simulator (the int8 truth).
FaultSite find_harmful_fault(FaultSimulator& simulator) {
  for (std::int64_t cycle = 0; cycle < 2000; cycle += 1)
    for (std::int64_t index = 0; index < 64; index += 1) {
      FaultSite f;
      f.layer = 9;
      f.group = RegisterGroup::kPePsum;
      f.index = index;
      f.bit = 30;
      f.cycle = cycle;
      for (int image = 0; image < 8; ++image)
        if (simulator.run_fast(f, image).outcome == Outcome::kSdcTop1 ||
            simulator.run_fast(f, image).outcome == Outcome::kSdcTop5)
          return f;
    }
  throw Error("no harmful fault found");
}

// The perturbed float forward pass reproduces the int8 faulty inference: the
// float logits, quantized, stay within a few LSB of the faulty int8 logits
// (the fake-quantized network is the int8 model's dequantized view, not
// bit-exact), while the fault itself moves them by far more; and the
// predictions agree.
TEST(FaultAwareTraining, PerturbationReproducesTheFaultyInt8Inference) {
  Accelerator& accelerator = shared_accelerator();
  accelerator.configure(array8());
  FaultSimulator simulator(accelerator, lenet5(), mnist_subset());
  const FaultSite fault = find_harmful_fault(simulator);
  FloatNetwork net = dequantized_network(lenet5());
  const FakeQuantization fq = net.fake_quant();
  const QuantParams logit_q = lenet5().layers.back().output;
  int agree = 0, changed = 0, images = 16;
  for (int image = 0; image < images; ++image) {
    const std::vector<float> input = images_to_float(mnist_subset().images, image, image + 1);
    ForwardPerturbation perturbation;
    add_fault_perturbation(lenet5(), fq, array8(), fault, 0, mnist_subset().images, image, perturbation);
    ForwardPass pass;
    net.forward(input.data(), 1, pass, &perturbation);
    const FaultResult r = simulator.run_fast(fault, image);
    const std::vector<std::int8_t>& golden = simulator.golden(image).logits();
    int max_fault_move = 0, max_gap = 0;
    for (std::size_t c = 0; c < r.logits.size(); ++c) {
      const int float_q = static_cast<int>(std::lround(pass.logits()[c] / logit_q.scale)) + logit_q.zero_point;
      max_gap = std::max(max_gap, std::abs(std::clamp(float_q, -128, 127) - r.logits[c]));
      max_fault_move = std::max(max_fault_move, std::abs(r.logits[c] - golden[c]));
    }
    EXPECT_LE(max_gap, 3) << "image " << image;
    if (max_fault_move > 3) ++changed;
    agree += argmax(pass.logits().data(), 10) == r.top1;
  }
  EXPECT_GE(changed, 1);  // the fault matters, so the check above means something
  EXPECT_GE(agree, images - 1);
}

// FAT runs, applies faults in every step, and returns a model of the same
// architecture; deterministic for a seed.
TEST(FaultAwareTraining, FineTunesWithFaultsDeterministically) {
  Accelerator& accelerator = shared_accelerator();
  accelerator.configure(array8());
  FaultSimulator simulator(accelerator, lenet5(), mnist_subset());
  const FaultSite fault = find_harmful_fault(simulator);
  FatOptions o;
  o.train.epochs = 1;
  o.train.batch = 32;
  o.train.learning_rate = 1e-4;
  o.train.train_images = 128;
  FatStepStats stats;
  const QuantizedModel a = fault_aware_training(lenet5(), array8(), {fault}, mnist_subset(), o, {}, {}, &stats);
  EXPECT_EQ(stats.steps, 4);
  EXPECT_EQ(stats.faulty_steps, 4);
  EXPECT_GT(stats.images_changed, 0);
  const QuantizedModel b = fault_aware_training(lenet5(), array8(), {fault}, mnist_subset(), o, {}, {});
  for (std::size_t l = 0; l < a.layers.size(); ++l) EXPECT_EQ(a.layers[l].weight, b.layers[l].weight);
  EXPECT_THROW(fault_aware_training(lenet5(), array8(), {}, mnist_subset(), o, {}, {}), Error);
  FaultSite held = fault;
  held.kind = FaultKind::kStuckAt1;
  held.duration = 5;
  EXPECT_THROW(fault_aware_training(lenet5(), array8(), {held}, mnist_subset(), o, {}, {}), Error);
}

}  // namespace
}  // namespace isimdl
