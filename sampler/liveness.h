#pragma once

#include <cstdint>
#include <vector>

#include "hw/fold_schedule.h"
#include "hw/layer_job.h"
#include "hw/register_kind.h"
#include "hw/register_map.h"

namespace isimdl {

// Per register instance (indexed as in docs/hardware.md) of `group` in a
// layer with this schedule and geometry, the cycles during which it holds a
// live value (hw/register_kind.h: LiveInterval), in increasing order. From
// the schedule alone; the register oracle's effects of single-bit flips are
// zero outside these intervals.
std::vector<std::vector<LiveInterval>> live_intervals(const LayerSchedule& schedule, RegisterGroup group,
                                                      const LayerGeometry& geometry);

class FaultSpace;
class Random;

// The live (register instance, cycle) pairs of every block of a fault space,
// with uniform sampling among them and exact membership tests, SRAM buffer
// words included.
class LiveSpace {
 public:
  explicit LiveSpace(const FaultSpace& space);

  std::uint64_t live_pairs(std::size_t block) const { return blocks_[block].total; }
  bool is_live(std::size_t block, std::int64_t index, std::int64_t cycle) const;
  // A live (instance, cycle) pair of the block, uniformly; the block must have one.
  std::pair<std::int64_t, std::int64_t> sample(std::size_t block, Random& random) const;

 private:
  struct Block {
    bool modelled = false;
    std::int64_t instances = 0, cycles = 0;
    std::uint64_t total = 0;
    std::vector<std::vector<LiveInterval>> intervals;
    std::vector<std::uint64_t> cumulative;  // live pairs up to and including instance i
  };
  std::vector<Block> blocks_;
};

}  // namespace isimdl
