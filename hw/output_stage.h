#pragma once

#include <systemc>

#include <cstdint>
#include <vector>

#include "hw/array_signals.h"
#include "hw/fold_schedule.h"
#include "hw/layer_job.h"
#include "hw/register_storage.h"
#include "hw/sram_buffer.h"

namespace isimdl {

// The output stage: per column an input register holding the finished
// int32 accumulator word; one cycle later it is requantized exactly as
// docs/quantization.md says (fixed-point multiplier and shift, zero point,
// saturation, fused ReLU as a clamp) and written to the output buffer at
// [n][m]. The final accumulators are also recorded (an observation probe,
// not hardware) so that runs can be checked against the reference engine.
class OutputStage : public sc_core::sc_module {
 public:

  OutputStage(const sc_core::sc_module_name& name, SramBuffer<std::int8_t>& output);

  void configure(int cols);
  void start(const LayerJob& job, const LayerSchedule& schedule);
  void reset();
  void bind_registers(RegisterStorage& storage) { storage.bind(RegisterGroup::kOutputStage, {FieldStorage::of(acc)}); }

  std::vector<std::int32_t> acc;  // the stage's input registers (one per column)
  const std::vector<std::int32_t>& observed_acc() const { return observed_acc_; }
  std::int64_t rows_written() const { return rows_written_; }
  bool busy() const { return pending_valid_; }

  // One rising edge: requantizes the row latched at the previous edge and
  // latches the request the accumulator wrote at the previous edge.
  void tick(const RequantRequest& in);

 private:
  SramBuffer<std::int8_t>& output_;
  const LayerJob* job_ = nullptr;
  int cols_ = 0;
  bool pending_valid_ = false;
  int pending_v_ = 0, pending_c0_ = 0, pending_c_count_ = 0;
  const LayerSchedule* schedule_ = nullptr;
  std::vector<std::int32_t> observed_acc_;
  std::int64_t rows_written_ = 0;
};

}  // namespace isimdl
