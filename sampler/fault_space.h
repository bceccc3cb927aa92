#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "hw/array_config.h"
#include "hw/fault_site.h"
#include "hw/fold_schedule.h"
#include "hw/layer_job.h"
#include "models/quantized_model.h"
#include "models/random.h"

namespace isimdl {

// One (layer, register group) block of the physical fault space: every
// (register instance, bit position, cycle) of it is one site.
struct FaultSpaceBlock {
  int layer = 0;
  RegisterGroup group = RegisterGroup::kPePsum;
  std::int64_t instances = 0;
  int positions = 0;        // bit positions a fault can start at (width - k + 1 for k adjacent bits)
  std::int64_t cycles = 0;  // the layer's run, layer-relative edges
  std::uint64_t sites() const {
    return static_cast<std::uint64_t>(instances) * static_cast<std::uint64_t>(positions) * static_cast<std::uint64_t>(cycles);
  }
};


// The physical fault space of a model on an array for the enabled groups and
// fault kind: the prior p is uniform over all its sites.
class FaultSpace {
 public:
  FaultSpace(const QuantizedModel& model, const ArrayConfig& array, const std::vector<RegisterGroup>& groups,
             FaultKind kind, int adjacent_bits = 2, std::int64_t stuck_cycles = 1, const std::vector<int>& layers = {});

  const std::vector<FaultSpaceBlock>& blocks() const { return blocks_; }
  std::uint64_t size() const { return total_; }
  // The site with flat number `n` in [0, size()).
  FaultSite site(std::uint64_t n) const;
  // The site of block b with this register instance, bit position and cycle.
  FaultSite site_in_block(std::size_t block, std::uint64_t instance, int bit, std::int64_t cycle) const;
  // The flat number of a site (the inverse of site()); throws for a site outside the space.
  std::uint64_t number(const FaultSite& site) const;
  // A site drawn from the uniform prior.
  FaultSite sample_uniform(Random& random) const { return site(random.uniform_below(total_)); }
  // The schedule of an array layer of the space.
  const LayerSchedule& schedule(int layer) const { return schedules_.at(layer); }
  const LayerGeometry& geometry(int layer) const { return geometry_.at(layer); }
  // Throws Error naming what is wrong when `site` is not in the space.
  void check(const FaultSite& site) const;

 private:
  std::vector<FaultSpaceBlock> blocks_;
  std::map<int, LayerSchedule> schedules_;
  std::map<int, LayerGeometry> geometry_;
  std::vector<std::uint64_t> cumulative_;
  std::uint64_t total_ = 0;
  FaultKind kind_;
  int width_bits_;
  std::int64_t duration_;
};

}  // namespace isimdl
