#include "sampler/site_scores.h"

#include <cmath>
#include <map>
#include <memory>

#include "hw/fold_schedule.h"
#include "hw/layer_job.h"
#include "hw/register_oracle.h"
#include "models/error.h"
#include "models/random.h"
#include "models/reference_engine.h"

namespace isimdl {

std::vector<double> block_scores(const FaultSpace& space, const LiveSpace& live, const QuantizedModel& model,
                                 const ArrayConfig& array,
                                 const MnistSplit& data, int image_begin, int image_end,
                                 const std::vector<LayerSensitivity>& sensitivity, int samples, std::uint64_t seed) {
  if (image_end <= image_begin) throw Error("block_scores: empty image range");
  ReferenceEngine engine(model);
  std::map<int, InferenceTrace> traces;
  std::map<std::pair<int, int>, std::unique_ptr<LayerOracle>> contexts;
  std::map<int, std::shared_ptr<const LayerPlan>> plans;
  auto context = [&](int layer, int image) -> LayerOracle& {
    auto& slot = contexts[{layer, image}];
    if (!slot) {
      auto& trace = traces[image];
      if (trace.out.empty()) engine.run(data.images, image, trace);
      auto& plan = plans[layer];
      if (!plan) plan = make_layer_plan(model, layer, array);
      slot = make_layer_oracle(plan, trace);
    }
    return *slot;
  };
  Random random(seed);
  std::vector<double> scores;
  for (std::size_t b = 0; b < space.blocks().size(); ++b) {
    const FaultSpaceBlock& block = space.blocks()[b];
    const auto layer = static_cast<std::size_t>(block.layer);
    const QuantizedLayer& q = model.layers[layer];
    const float s_in = model.tensor_qparams(model.arch.layer(block.layer).input).scale;
    const int M = model.arch.gemm(block.layer).m;
    double total = 0;
    if (live.live_pairs(b) == 0) {
      scores.push_back(0.0);
      continue;
    }
    if (register_info(block.group).holds_output) {
      // An output word holds the int8 output itself: a unit change moves
      // that output by its scale. Its sensitivity is that of the tensor the
      // int8 output is (the ReLU's, after a fused one).
      const std::size_t out_layer = q.fused_relu ? layer + 1 : layer;
      const std::vector<float>& g = sensitivity[out_layer].activation;
      for (int s = 0; s < samples; ++s) {
        const auto [index, cycle] = live.sample(b, random);
        (void)cycle;
        total += g[static_cast<std::size_t>(index)] * q.output.scale;
      }
      scores.push_back(total / samples);
      continue;
    }
    for (int s = 0; s < samples; ++s) {
      const int image = image_begin + static_cast<int>(random.uniform_below(static_cast<std::uint64_t>(image_end - image_begin)));
      LayerOracle& ctx = context(block.layer, image);
      const auto [index, cycle] = live.sample(b, random);
      const std::int64_t value = ctx.oracle->value(block.group, index, cycle);
      for (const auto& change : ctx.oracle->effect(block.group, index, cycle, value ^ 1)) {
        const double g = sensitivity[layer].accumulator[static_cast<std::size_t>(change.n) * M + static_cast<std::size_t>(change.m)];
        total += g * s_in * q.weight_scale[static_cast<std::size_t>(change.n)] * std::fabs(static_cast<double>(change.delta));
      }
    }
    scores.push_back(total / samples);
  }
  return scores;
}

}  // namespace isimdl
