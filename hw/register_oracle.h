#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "hw/fault.h"
#include "hw/fold_schedule.h"
#include "hw/layer_job.h"

namespace isimdl {

// Answers, from a layer's schedule and operands alone (no simulation), what
// the result-path registers hold after a given rising edge and where that
// value goes: contract 3 ("the schedule's answer to what register X holds at
// cycle t matches the model") for the groups on the partial-sum path —
// pe_psum, deskew, accumulator, output_stage. Every value on that path is
// only ever added to (or requantized), so a changed value changes exactly
// one output's final accumulator by the same amount; the fault simulator
// uses this to classify those faults without simulating.
//
// Cycle numbering as in docs/traces.md: "after edge e" is the state a fault at
// cycle e acts on.
class RegisterOracle {
 public:
  RegisterOracle(const LayerJob& job, const LayerSchedule& schedule);

  static bool covers(RegisterGroup group);

  // Where a changed value of register (group, index) after edge `cycle`
  // ends up: the output (m, n) whose final accumulator it changes by the same
  // amount, or nothing when the value is dead (never read again, or
  // overwritten before it is read).
  struct Target {
    int m = 0;
    int n = 0;
  };
  std::optional<Target> target(RegisterGroup group, std::int64_t index, std::int64_t cycle) const;

  // The value register (group, index) holds after edge `cycle` in a
  // fault-free run.
  std::int64_t value(RegisterGroup group, std::int64_t index, std::int64_t cycle) const;

  // Final accumulator of output (m, n) (bias included), [n][m] layout.
  std::int32_t final_acc(int m, int n) const;

 private:
  // The fold and vector whose operand row entered the skew input at
  // schedule cycle t_feed, if any.
  struct Slot {
    const Fold* fold = nullptr;
    int i = 0;
  };
  Slot slot_at(std::int64_t t_feed) const;
  // Sum over rows [0, rows) of fold f for vector i, column c (no bias).
  std::int32_t partial(const Fold& f, int i, int c, int rows) const;
  // Accumulator word value after fold f's access to row m_local, column c.
  std::int32_t word_after(std::size_t fold_index, int m_local, int c) const;
  std::int64_t access_edge(const Fold& f, int m_local) const { return f.stream_start + m_local + rows_ + cols_; }

  const LayerJob& job_;
  const LayerSchedule& schedule_;
  int rows_, cols_;
  std::vector<std::int8_t> a_;  // im2col, [M][K]
};

}  // namespace isimdl
