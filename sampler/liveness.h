#pragma once

#include <cstdint>
#include <vector>

#include "hw/fold_schedule.h"
#include "hw/register_map.h"

namespace isimdl {

// Layer-relative cycles [begin, end) during which a register holds a live
// value: one whose single-bit flip after that edge can still change an
// output (docs/sampling.md). From the schedule alone; the register oracle's
// effects of single-bit flips are zero outside these intervals.
struct LiveInterval {
  std::int64_t begin = 0;
  std::int64_t end = 0;
};

// Per register instance (indexed as in docs/hardware.md) of `group` in a
// layer with this schedule, its live intervals in increasing order.
// SRAM groups need the layer's geometry too (which ifmap word feeds which
// GEMM operand): an ifmap or weight word is live until its last read (a
// change after it reaches nothing), an output word from the edge the output
// stage writes it on to the end of the layer.
struct LayerGeometry;
std::vector<std::vector<LiveInterval>> live_intervals(const LayerSchedule& schedule, RegisterGroup group);
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
