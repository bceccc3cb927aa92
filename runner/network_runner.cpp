#include "runner/network_runner.h"

#include "models/error.h"

namespace isimdl {

NetworkRunner::NetworkRunner(Accelerator& accelerator, const QuantizedModel& model)
    : accelerator_(accelerator), model_(model), engine_(model) {}

void NetworkRunner::run_array_layer(int layer, InferenceTrace& trace, LayerStats* stats, const FaultSite* fault,
                                    InjectionRecord* record) {
  const int input = model_.arch.layer(layer).input;
  const std::vector<std::int8_t>& x = input < 0 ? trace.input : trace.out[static_cast<std::size_t>(input)];
  accelerator_.set_current_layer(layer);
  LayerResult result = accelerator_.run_layer(make_layer_job(model_, layer, x), stats, fault, record);
  trace.acc[static_cast<std::size_t>(layer)] = std::move(result.acc);
  trace.out[static_cast<std::size_t>(layer)] = std::move(result.out);
}

void NetworkRunner::run(const IdxImages& images, int image, InferenceTrace& trace, std::vector<LayerStats>* stats,
                        const FaultSite* fault, InjectionRecord* record) {
  engine_.quantize_input(images, image, trace.input);
  run_quantized(trace, stats, fault, record);
}

void NetworkRunner::run(const std::uint8_t* pixels, InferenceTrace& trace, std::vector<LayerStats>* stats,
                        const FaultSite* fault, InjectionRecord* record) {
  const std::size_t n = model_.arch.input_shape().size();
  trace.input.resize(n);
  for (std::size_t i = 0; i < n; ++i) trace.input[i] = quantize_activation(static_cast<float>(pixels[i]) / 255.0f, model_.input);
  run_quantized(trace, stats, fault, record);
}

void NetworkRunner::run_quantized(InferenceTrace& trace, std::vector<LayerStats>* stats, const FaultSite* fault,
                                  InjectionRecord* record) {
  if (fault && (fault->layer < 0 || fault->layer >= model_.arch.size() || !model_.arch.has_weights(fault->layer)))
    throw Error("fault layer " + std::to_string(fault->layer) + " is not a layer that runs on the array");
  trace.acc.assign(static_cast<std::size_t>(model_.arch.size()), {});
  trace.out.assign(static_cast<std::size_t>(model_.arch.size()), {});
  if (stats) stats->assign(static_cast<std::size_t>(model_.arch.size()), LayerStats{});
  for (int layer = 0; layer < model_.arch.size(); ++layer) {
    if (model_.arch.has_weights(layer))
      run_array_layer(layer, trace, stats ? &(*stats)[static_cast<std::size_t>(layer)] : nullptr,
                      fault && fault->layer == layer ? fault : nullptr, record);
    else
      engine_.run_layer(layer, trace);
  }
}

}  // namespace isimdl
