#include "sampler/liveness.h"

#include <algorithm>

#include "hw/register_kind.h"
#include "models/error.h"
#include "models/random.h"
#include "sampler/fault_space.h"

namespace isimdl {
std::vector<std::vector<LiveInterval>> live_intervals(const LayerSchedule& schedule, RegisterGroup group,
                                                      const LayerGeometry& geometry) {
  if (!register_info(group).present(schedule.dataflow)) return {};  // not in this dataflow's array
  return register_kind(group, schedule.dataflow).live(schedule, geometry);
}

LiveSpace::LiveSpace(const FaultSpace& space) {
  for (const FaultSpaceBlock& b : space.blocks()) {
    Block block;
    block.instances = b.instances;
    block.cycles = b.cycles;
    block.modelled = true;
    {
      block.intervals = live_intervals(space.schedule(b.layer), b.group, space.geometry(b.layer));
      if (static_cast<std::int64_t>(block.intervals.size()) != b.instances)
        throw Error("LiveSpace: interval count differs from the block's instances");
      for (auto& list : block.intervals) {
        for (auto& iv : list) {
          iv.begin = std::max<std::int64_t>(0, iv.begin);
          iv.end = std::min(iv.end, b.cycles);
          if (iv.end > iv.begin) block.total += static_cast<std::uint64_t>(iv.end - iv.begin);
        }
        block.cumulative.push_back(block.total);
      }
    }
    blocks_.push_back(std::move(block));
  }
}

bool LiveSpace::is_live(std::size_t b, std::int64_t index, std::int64_t cycle) const {
  const Block& block = blocks_[b];
  if (!block.modelled) return true;
  const auto& list = block.intervals[static_cast<std::size_t>(index)];
  auto it = std::upper_bound(list.begin(), list.end(), cycle,
                             [](std::int64_t c, const LiveInterval& iv) { return c < iv.begin; });
  if (it == list.begin()) return false;
  --it;
  return cycle >= it->begin && cycle < it->end;
}

std::pair<std::int64_t, std::int64_t> LiveSpace::sample(std::size_t b, Random& random) const {
  const Block& block = blocks_[b];
  if (block.total == 0) throw Error("LiveSpace: the block has no live pair");
  if (!block.modelled)
    return {static_cast<std::int64_t>(random.uniform_below(static_cast<std::uint64_t>(block.instances))),
            static_cast<std::int64_t>(random.uniform_below(static_cast<std::uint64_t>(block.cycles)))};
  const std::uint64_t n = random.uniform_below(block.total);
  const std::size_t index =
      static_cast<std::size_t>(std::upper_bound(block.cumulative.begin(), block.cumulative.end(), n) - block.cumulative.begin());
  std::uint64_t offset = n - (index == 0 ? 0 : block.cumulative[index - 1]);
  for (const LiveInterval& iv : block.intervals[index]) {
    const auto length = static_cast<std::uint64_t>(std::max<std::int64_t>(0, iv.end - iv.begin));
    if (offset < length) return {static_cast<std::int64_t>(index), iv.begin + static_cast<std::int64_t>(offset)};
    offset -= length;
  }
  throw Error("LiveSpace: internal error sampling a live pair");
}

}  // namespace isimdl
