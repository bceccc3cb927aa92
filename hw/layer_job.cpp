#include "hw/layer_job.h"

#include "models/random.h"

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
  job.im2col = model.arch.im2col(layer);
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

std::vector<std::int8_t> weight_buffer_words(const LayerJob& job) {
  std::vector<std::int8_t> words(static_cast<std::size_t>(job.gemm.weights()));
  for (std::size_t w = 0; w < words.size(); ++w) {
    const auto [n, k] = job.gemm.weight_of_word(static_cast<std::int64_t>(w));
    words[w] = job.weight[static_cast<std::size_t>(n) * job.gemm.k + static_cast<std::size_t>(k)];
  }
  return words;
}

LayerJob random_gemm_job(int m, int k, int n, std::uint64_t seed) {
  Random random(seed);
  LayerJob job;
  job.spec.kind = LayerKind::kConv2d;
  job.spec.in_channels = k;
  job.spec.out_channels = n;
  job.input_shape = Shape{k, 1, m};
  job.output_shape = Shape{n, 1, m};
  job.gemm = GemmShape{m, k, n};
  job.im2col = Im2col(job.spec, job.input_shape, job.output_shape);
  job.input.resize(static_cast<std::size_t>(k) * m);
  for (auto& v : job.input) v = static_cast<std::int8_t>(static_cast<int>(random.uniform_below(256)) - 128);
  std::vector<std::int8_t> weight(static_cast<std::size_t>(n) * k);
  for (auto& v : weight) v = static_cast<std::int8_t>(static_cast<int>(random.uniform_below(255)) - 127);
  job.weight = std::move(weight);
  for (int i = 0; i < n; ++i) {
    job.bias.push_back(static_cast<std::int32_t>(random.uniform_below(20001)) - 10000);
    job.multiplier.push_back(quantize_multiplier(1.0 / (64.0 + random.uniform_below(4096))));
  }
  job.output_zero_point = static_cast<std::int32_t>(random.uniform_below(41)) - 20;
  job.relu = random.uniform_below(2) == 1;
  return job;
}

}  // namespace isimdl
