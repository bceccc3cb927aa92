#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace sc_core {
class sc_trace_file;
}

namespace isimdl {

// Payloads of the pipeline registers between the accelerator's blocks: each
// is written at one clock edge and read at the next (BoundaryRegister).

// Controller -> PE array, per cycle: one activation per row for the skew
// input (with its valid and propagate tags) and one weight per column for
// the top of the d path, plus the latch that copies the d path into the
// weight register `latch_select` of every PE. Output-stationary: the
// propagate tag is the drain tag, set in one row at a time.
struct ArrayFeed {
  std::vector<std::int8_t> a;       // R
  std::vector<std::uint8_t> valid;  // R
  std::vector<std::uint8_t> propagate;  // R
  std::vector<std::int8_t> weight;  // C
  bool latch = false;
  std::uint8_t latch_select = 0;
  bool operator==(const ArrayFeed& o) const {
    return a == o.a && valid == o.valid && propagate == o.propagate && weight == o.weight && latch == o.latch &&
           latch_select == o.latch_select;
  }
};

// Controller -> accumulator buffer: what the aligned row arriving at the
// same edge belongs to (the controller's tag delay line).
struct AccumulateCommand {
  bool valid = false;
  int v = 0;         // the streamed vector (LayerSchedule: m weight-stationary, n input-stationary)
  int v_local = 0;   // its row within the tile (accumulator address)
  int c0 = 0;        // the stationary operand's index of column 0
  int c_count = 0;
  bool first_k = false;
  bool last_k = false;
  bool operator==(const AccumulateCommand& o) const {
    return valid == o.valid && v == o.v && v_local == o.v_local && c0 == o.c0 && c_count == o.c_count &&
           first_k == o.first_k && last_k == o.last_k;
  }
};

// Accumulator buffer -> output stage: a finished row of int32 results.
struct RequantRequest {
  bool valid = false;
  int v = 0;
  int c0 = 0;
  int c_count = 0;
  std::vector<std::int32_t> acc;  // C
  bool operator==(const RequantRequest& o) const {
    return valid == o.valid && v == o.v && c0 == o.c0 && c_count == o.c_count && acc == o.acc;
  }
};

// A pipeline register at a block boundary. At a rising edge the producer
// writes `next` and the consumer reads `current`; after every block has
// ticked, the edge completes and `next` becomes `current` (what an
// sc_signal's update phase does, without its per-write compare and copies).
// The producer must write every field a consumer reads.
template <typename T>
struct BoundaryRegister {
  T current, next;
  void clock_edge() { std::swap(current, next); }
};

std::ostream& operator<<(std::ostream& os, const ArrayFeed& v);
std::ostream& operator<<(std::ostream& os, const AccumulateCommand& v);
std::ostream& operator<<(std::ostream& os, const RequantRequest& v);
// Boundary payloads are not traced as such: the registers they feed are.
inline void sc_trace(sc_core::sc_trace_file*, const ArrayFeed&, const std::string&) {}
inline void sc_trace(sc_core::sc_trace_file*, const AccumulateCommand&, const std::string&) {}
inline void sc_trace(sc_core::sc_trace_file*, const RequantRequest&, const std::string&) {}

}  // namespace isimdl
