#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "models/idx_reader.h"
#include "hw/array_config.h"
#include "hw/fault_site.h"
#include "models/quantized_model.h"
#include "models/trainer.h"

#include "config/config.h"

namespace isimdl {

struct MnistSplit;

// Fault-aware training (ISimDL's second use case): fine-tunes a model's
// float weights with fake quantization while, in every training step, one
// fault drawn from `faults` acts in the forward pass (and so in the
// backward pass) through its software-level equivalent
// (hw/fault_equivalent.h), computed for each image of the step on the int8
// model the current weights quantize to. Accumulator changes are added to
// the layer's real-valued accumulators (scaled by s_in * s_w[n]); output
// buffer words overwrite the int8 output. Then re-quantizes (activation
// scales kept) and returns the hardened model.
struct FatOptions {
  TrainOptions train;             // epochs, batch, learning rate, seed, train_images
  double fault_probability = 1.0;  // share of steps that carry a fault (the rest train clean)
};

struct FatStepStats {
  std::int64_t steps = 0, faulty_steps = 0;
  std::int64_t images_changed = 0;  // images of faulty steps whose layer output the fault changed
};

// Adds the perturbation that applies `fault` to sample `sample` of a forward
// pass of the fake-quantized network `fq` describes, derived on its int8
// model `q` for image `image` of `images`. Returns whether the fault changes the
// layer's output for that image.
bool add_fault_perturbation(const QuantizedModel& q, const FakeQuantization& fq, const ArrayConfig& array,
                            const FaultSite& fault, int sample, const IdxImages& images, int image, ForwardPerturbation& out);
// The same with the reference engine of `q` built by the caller (once per
// training step, not once per image).
class ReferenceEngine;
bool add_fault_perturbation(const ReferenceEngine& engine, const QuantizedModel& q, const FakeQuantization& fq,
                            const ArrayConfig& array, const FaultSite& fault, int sample, const IdxImages& images,
                            int image, ForwardPerturbation& out);

QuantizedModel fault_aware_training(const QuantizedModel& model, const ArrayConfig& array,
                                    const std::vector<FaultSite>& faults, const MnistSplit& train_set,
                                    const FatOptions& options, const std::function<void(const EpochReport&)>& on_epoch,
                                    const ProgressFn& progress, FatStepStats* stats = nullptr);

// A model's accuracy on the configured images, clean and under each fault of
// a list (one fault at a time, through the campaign's fault evaluation):
// what `isimdl fault-accuracy` prints and `isimdl fat` compares before and
// after hardening.
struct FaultAccuracy {
  double clean = 0;
  std::vector<double> under;  // per fault
  double mean() const;
  double min() const;
};
FaultAccuracy measure_fault_accuracy(const Config& config, const QuantizedModel& model, const MnistSplit& data,
                                     const std::vector<FaultSite>& faults, bool show_progress);

}  // namespace isimdl
