#include "hw/layer_job.h"

#include <fmt/format.h>

#include "models/error.h"
#include "models/quantized_model.h"

namespace isimdl {

LayerJob make_layer_job(const QuantizedModel& model, int layer, const std::vector<std::int8_t>& input) {
  const LayerSpec& spec = model.arch.layer(layer);
  if (!model.arch.has_weights(layer))
    throw Error(fmt::format("layer {} ({}) has no GEMM to run on the array", layer, to_string(spec.kind)));
  const QuantizedLayer& q = model.layers[static_cast<std::size_t>(layer)];
  LayerJob job;
  job.spec = spec;
  job.input_shape = model.arch.output_shape(spec.input);
  job.output_shape = model.arch.output_shape(layer);
  job.gemm = model.arch.gemm(layer);
  if (input.size() != job.input_shape.size())
    throw Error(fmt::format("layer {}: input has {} values, expected {}", layer, input.size(), job.input_shape.size()));
  job.input = input;
  job.input_zero_point = static_cast<std::int8_t>(model.tensor_qparams(spec.input).zero_point);
  job.weight = q.weight;
  job.bias = model.effective_bias(layer);
  job.multiplier = q.multiplier;
  job.output_zero_point = q.output.zero_point;
  job.relu = q.fused_relu;
  return job;
}

}  // namespace isimdl
