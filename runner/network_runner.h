#pragma once

#include <cstdint>
#include <vector>

#include "hw/accelerator.h"
#include "models/quantized_model.h"
#include "models/reference_engine.h"

namespace isimdl {

// Runs a whole network: every Conv2d and Linear layer cycle by cycle on the
// accelerator, the other layers (ReLU that is not fused, pooling, flatten,
// residual add) on the reference engine, each reading the previous layer's
// int8 output exactly as the hardware left it.
class NetworkRunner {
 public:
  NetworkRunner(Accelerator& accelerator, const QuantizedModel& model);

  // Fills `trace` like ReferenceEngine::run; per-layer statistics of the
  // array layers go to `stats` (index = layer; non-array layers stay zero).
  // With a fault, it is injected into the run of layer fault->layer.
  void run(const IdxImages& images, int image, InferenceTrace& trace, std::vector<LayerStats>* stats = nullptr,
           const FaultSite* fault = nullptr, InjectionRecord* record = nullptr);
  // The same for byte pixels read as pixel / 255 (MNIST).
  void run(const std::uint8_t* pixels, InferenceTrace& trace, std::vector<LayerStats>* stats = nullptr,
           const FaultSite* fault = nullptr, InjectionRecord* record = nullptr);

  // Runs only layer `layer` on the accelerator from the trace's input tensor.
  void run_array_layer(int layer, InferenceTrace& trace, LayerStats* stats = nullptr, const FaultSite* fault = nullptr,
                       InjectionRecord* record = nullptr);

  const ReferenceEngine& engine() const { return engine_; }

 private:
  // Runs every layer from trace.input.
  void run_quantized(InferenceTrace& trace, std::vector<LayerStats>* stats, const FaultSite* fault, InjectionRecord* record);
  Accelerator& accelerator_;
  const QuantizedModel& model_;
  ReferenceEngine engine_;
};

}  // namespace isimdl
