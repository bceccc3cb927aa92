#pragma once

#include <systemc>

#include <cstdint>
#include <deque>
#include <vector>

#include "hw/array_signals.h"
#include "hw/fold_schedule.h"
#include "hw/layer_job.h"
#include "hw/sram_buffer.h"

namespace isimdl {

// The controller maps a layer's GEMM onto the array following its
// LayerSchedule: in each cycle it drives the top of the weight shift path
// during a fold's preload (and the latch on its last cycle), feeds the skew
// registers one activation vector per cycle during a fold's stream (im2col
// addresses generated on the fly from the ifmap buffer; padding reads the
// input zero point), and tells the accumulator buffer, through a tag delay
// line of R + C - 1 cycles, which output row arrives when.
class Controller : public sc_core::sc_module {
 public:

  Controller(const sc_core::sc_module_name& name, SramBuffer<std::int8_t>& ifmap, SramBuffer<std::int8_t>& weights);

  void configure(int rows, int cols);
  // Loads a job (schedule and geometry); the buffers hold its operands.
  void start(const LayerJob& job, const LayerSchedule& schedule);
  void reset();

  // Schedule cycle the next edge will execute.
  std::int64_t cycle() const { return cycle_; }
  bool feeding_done() const { return cycle_ > last_feed_cycle_; }
  bool idle() const { return !running_; }

  // One rising edge: writes the feed and the accumulate command the array
  // and the accumulator read at the next edge (Accelerator::on_clock).
  void tick(ArrayFeed& feed, AccumulateCommand& command);

 private:

  // Output-stationary's feed of this cycle: operand rows, staggered
  // weight columns and drain tags.
  void feed_output_stationary(ArrayFeed& feed);

  SramBuffer<std::int8_t>& ifmap_;
  SramBuffer<std::int8_t>& weights_;
  int rows_ = 0, cols_ = 0;
  const LayerJob* job_ = nullptr;
  const LayerSchedule* schedule_ = nullptr;
  bool running_ = false;
  std::int64_t cycle_ = 0;
  std::int64_t last_feed_cycle_ = -1;
  std::size_t preload_fold_ = 0, stream_fold_ = 0, weight_fold_ = 0, result_fold_ = 0;
  std::deque<std::pair<std::int64_t, AccumulateCommand>> tags_;  // (emit cycle, command)
  std::vector<std::int64_t> elements_;  // the ifmap addresses of one activation vector
};

}  // namespace isimdl
