#include "sampler/fault_space.h"

#include <fmt/format.h>

#include <algorithm>

#include "hw/fold_schedule.h"
#include "models/error.h"

namespace isimdl {

FaultSpace::FaultSpace(const QuantizedModel& model, const ArrayConfig& array, const std::vector<RegisterGroup>& groups,
                       FaultKind kind, int adjacent_bits, std::int64_t stuck_cycles, const std::vector<int>& layers)
    : kind_(kind), width_bits_(kind == FaultKind::kAdjacentBits ? adjacent_bits : 1), duration_(stuck_cycles) {
  for (int layer = 0; layer < model.arch.size(); ++layer) {
    if (!model.arch.has_weights(layer)) continue;
    if (!layers.empty() && std::find(layers.begin(), layers.end(), layer) == layers.end()) continue;
    const GemmShape g = model.arch.gemm(layer);
    const LayerSchedule& schedule = schedules_[layer] = make_layer_schedule(g, array);
    geometry_[layer] = LayerGeometry{model.arch.layer(layer), model.arch.output_shape(model.arch.layer(layer).input),
                                     model.arch.output_shape(layer), model.arch.im2col(layer)};
    const RegisterCounts counts = RegisterCounts::of_layer(
        schedule, static_cast<std::int64_t>(model.arch.output_shape(model.arch.layer(layer).input).size()));
    for (RegisterGroup group : groups) {
      FaultSpaceBlock b;
      b.layer = layer;
      b.group = group;
      b.instances = counts.instances(group);
      b.positions = register_info(group).width - width_bits_ + 1;
      b.cycles = schedule.edges();
      if (b.instances <= 0 || b.positions <= 0) continue;
      blocks_.push_back(b);
      total_ += b.sites();
      cumulative_.push_back(total_);
    }
  }
  for (int layer : layers)
    if (layer < 0 || layer >= model.arch.size() || !model.arch.has_weights(layer))
      throw Error(fmt::format("campaign.layers: layer {} is not a Conv2d/Linear layer of {}", layer, model.arch.name()));
  if (total_ == 0) throw Error("the fault space is empty: no enabled register group exists in any array layer");
}

FaultSite FaultSpace::site(std::uint64_t n) const {
  if (n >= total_) throw Error(fmt::format("site number {} is beyond the space of {} sites", n, total_));
  const std::size_t b = static_cast<std::size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), n) - cumulative_.begin());
  const FaultSpaceBlock& block = blocks_[b];
  std::uint64_t offset = n - (b == 0 ? 0 : cumulative_[b - 1]);
  const auto cycle = static_cast<std::int64_t>(offset % static_cast<std::uint64_t>(block.cycles));
  offset /= static_cast<std::uint64_t>(block.cycles);
  const auto bit = static_cast<int>(offset % static_cast<std::uint64_t>(block.positions));
  return site_in_block(b, offset / static_cast<std::uint64_t>(block.positions), bit, cycle);
}

FaultSite FaultSpace::site_in_block(std::size_t b, std::uint64_t instance, int bit, std::int64_t cycle) const {
  const FaultSpaceBlock& block = blocks_.at(b);
  FaultSite s;
  s.layer = block.layer;
  s.group = block.group;
  s.kind = kind_;
  s.width = width_bits_;
  s.duration = duration_;
  s.index = static_cast<std::int64_t>(instance);
  s.bit = bit;
  s.cycle = cycle;
  return s;
}

std::uint64_t FaultSpace::number(const FaultSite& s) const {
  check(s);
  for (std::size_t b = 0; b < blocks_.size(); ++b) {
    const FaultSpaceBlock& block = blocks_[b];
    if (block.layer != s.layer || block.group != s.group) continue;
    const std::uint64_t base = b == 0 ? 0 : cumulative_[b - 1];
    return base + (static_cast<std::uint64_t>(s.index) * static_cast<std::uint64_t>(block.positions) +
                   static_cast<std::uint64_t>(s.bit)) * static_cast<std::uint64_t>(block.cycles) +
           static_cast<std::uint64_t>(s.cycle);
  }
  throw Error("site not in the fault space");
}

void FaultSpace::check(const FaultSite& s) const {
  for (const auto& b : blocks_) {
    if (b.layer != s.layer || b.group != s.group) continue;
    check_register_site(s.group, s.index, s.bit, s.kind == FaultKind::kAdjacentBits ? s.width : 1, s.cycle,
                        b.instances, b.cycles, fmt::format("layer {}: ", s.layer));
    return;
  }
  throw Error(fmt::format("layer {} has no enabled register group {} on the array", s.layer, register_info(s.group).group_name));
}

}  // namespace isimdl
