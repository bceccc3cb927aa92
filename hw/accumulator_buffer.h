#pragma once

#include <systemc>

#include <cstdint>
#include <vector>

#include "hw/array_signals.h"
#include "hw/fold_schedule.h"
#include "hw/pe_array.h"
#include "hw/register_storage.h"
#include "hw/sram_buffer.h"

namespace isimdl {

// The int32 accumulator buffer: sums the partial results of a layer's
// K-folds. Address of output (m, n0 + c) in the current M-tile: m_local * C + c.
// The first K-fold writes bias + psum, later ones add psum to the stored
// word; after the last K-fold the finished row goes to the output stage.
// It reads the array's aligned row straight from the array's output
// registers (PeArray::output_row), as they were at the edge.
class AccumulatorBuffer : public sc_core::sc_module {
 public:

  AccumulatorBuffer(const sc_core::sc_module_name& name, const PeArray& array);

  void configure(int cols, std::int64_t capacity_words, int banks);
  // Sizes the words for one layer (m_tile rows) and loads its biases.
  // A layer run: words for one tile of the schedule's streamed vectors, and
  // the bias of each output (the schedule says whose: column or vector).
  void start(const LayerSchedule& schedule, const std::vector<std::int32_t>& bias);
  void reset();
  void bind_registers(RegisterStorage& storage) { storage.bind(RegisterGroup::kAccumulator, {FieldStorage::of(words.words())}); }

  SramBuffer<std::int32_t> words;
  std::int64_t rows_accumulated() const { return rows_; }
  std::int64_t last_write_edge() const { return last_write_edge_; }
  std::int64_t edges() const { return edges_; }

  // One rising edge, before the array's: takes the command the controller
  // wrote at the previous edge and writes the request the output stage
  // reads at the next (its acc must hold cols() words).
  void tick(const AccumulateCommand& cmd, RequantRequest& request);

 private:
  const PeArray& array_;
  int cols_ = 0;
  std::vector<std::int32_t> bias_, row_;
  bool bias_per_vector_ = false;  // input-stationary: bias[n] of the vector, not of the column
  std::int64_t rows_ = 0, edges_ = 0, last_write_edge_ = -1;
};

}  // namespace isimdl
