#pragma once

#include <cstdint>
#include <vector>

#include "hw/fold_schedule.h"
#include "hw/layer_job.h"
#include "hw/register_map.h"
#include "hw/register_oracle.h"

namespace isimdl {

// Layer-relative cycles [begin, end) during which a register holds a live
// value: one whose single-bit flip after that edge can still change an
// output (docs/sampling.md).
struct LiveInterval {
  std::int64_t begin = 0;
  std::int64_t end = 0;
};
using LiveIntervals = std::vector<std::vector<LiveInterval>>;  // per instance, increasing
// Appends [begin, end) to a list kept in increasing order, merging overlaps.
void add_live(std::vector<LiveInterval>& list, std::int64_t begin, std::int64_t end);

// The behaviour of one register kind, from the fold timing of its layer
// (LayerSchedule::at): what it holds at each edge, which tensor element that
// is, when it is live, and what a change does to the layer's result. One
// implementation per kind family lives in hw/kinds/; its description
// (RegisterInfo: width, fields, placement) sits beside it.
//
// Adding a register kind: a RegisterGroup value, a file in hw/kinds/ with its
// RegisterInfo and this interface, its line in hw/kinds/kinds.cpp, and its
// storage bound where the SystemC block holds it (hw/register_storage.h).
// docs/architecture.md, "Adding a register kind".
class RegisterKind {
 public:
  explicit RegisterKind(RegisterInfo info);
  virtual ~RegisterKind() = default;
  const RegisterInfo& info() const { return info_; }

  // Per instance, the cycles during which it is live, in increasing order.
  // From the schedule (and the layer's geometry for buffer words) alone.
  virtual LiveIntervals live(const LayerSchedule& schedule, const LayerGeometry& geometry) const = 0;
  // The value instance `index` holds after edge `e` of a fault-free run.
  virtual std::int64_t value(const RegisterOracle& oracle, std::int64_t index, std::int64_t e) const = 0;
  // Which tensor element(s) it holds then.
  virtual RegisterOracle::Holding holds(const RegisterOracle& oracle, std::int64_t index, std::int64_t e) const = 0;
  // The changes to final accumulators when it holds `after` instead of
  // `before` after edge `e` (none for a word holding an int8 output: see
  // RegisterInfo::holds_output).
  virtual void effect(const RegisterOracle& oracle, std::int64_t index, std::int64_t e, std::int64_t before,
                      std::int64_t after, std::vector<RegisterOracle::Change>& out) const = 0;

 private:
  RegisterInfo info_;
};

// The kind as the register map describes it (weight- and input-stationary
// meanings), and as the dataflow's cell uses it.
const RegisterKind& register_kind(RegisterGroup group);
const RegisterKind& register_kind(RegisterGroup group, Dataflow dataflow);

}  // namespace isimdl
