#pragma once

#include <systemc>

#include <cstdint>
#include <memory>

#include "hw/accumulator_buffer.h"
#include "hw/array_config.h"
#include "hw/controller.h"
#include "hw/fault_injector.h"
#include "hw/fold_schedule.h"
#include "hw/layer_job.h"
#include "hw/layer_stats.h"
#include "hw/output_stage.h"
#include "hw/pe_array.h"
#include "hw/sram_buffer.h"

namespace isimdl {

// The hung-array watchdog fired: the run did not finish within its budget.
class WatchdogError : public Error {
 public:
  using Error::Error;
};

// The accelerator: controller, PE array (with skew and de-skew), ifmap,
// weight, accumulator and output buffers and the output stage, on one
// clock. Elaborated once per process; configure() and run_layer() reset and
// rerun it as often as needed (SystemC cannot re-elaborate).
//
// One SystemC process, at every rising clock edge, ticks the blocks in a
// fixed order: output stage, accumulator (which reads the array's output
// registers before the array's tick changes them), PE array, controller;
// each reads the boundary registers written at the previous edge and writes
// the next ones, which then advance. The blocks are plain objects stepped
// by it: one process instead of one per block is what keeps the SystemC
// kernel's cost per cycle small (docs/performance.md). The clock is that
// process's own timed trigger (rising edges at whole periods from time 0)
// rather than an sc_clock, whose falling edges and signal updates cost a
// kernel time step per edge; a falling edge (half a period after each rising
// one) is notified only when something samples on it (Tracer).
class Accelerator : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Accelerator);
  explicit Accelerator(const sc_core::sc_module_name& name);

  // Validates and applies an array configuration (throws ConfigError).
  void configure(const ArrayConfig& config);
  const ArrayConfig& config() const { return config_; }

  // Runs one Conv2d/Linear layer cycle by cycle from reset. With a fault,
  // injects it after rising edge fault->cycle (layer-relative) and records
  // the register's value before and after in *record. Throws Error for a
  // site that does not exist (cycle beyond the run, index or bit out of
  // range) and WatchdogError when the run does not finish.
  LayerResult run_layer(const LayerJob& job, LayerStats* stats = nullptr, const FaultSite* fault = nullptr,
                        InjectionRecord* record = nullptr);
  // Layer-relative rising edges a fault-free run of `gemm` takes.
  std::int64_t layer_edges(const GemmShape& gemm) const;

  // The model layer the caller says it is running (tracing selects on it).
  void set_current_layer(int layer) { current_layer_ = layer; }
  int current_layer() const { return current_layer_; }
  // True while run_layer() is simulating.
  bool running() const { return running_; }
  // The falling edge of every cycle, for samplers; notified from the first
  // call on (call it before the first sc_start).
  const sc_core::sc_event& falling_edge() {
    falling_wanted_ = true;
    return falling_;
  }

  // Simulation time of one clock cycle.
  static sc_core::sc_time period() { return sc_core::sc_time(1, sc_core::SC_NS); }

  // Every register kind's storage (hw/register_storage.h).
  const RegisterStorage& registers() const { return registers_; }
  PeArray& array() { return array_; }
  Controller& controller() { return controller_; }
  AccumulatorBuffer& accumulator() { return accumulator_; }
  OutputStage& output_stage() { return output_stage_; }
  SramBuffer<std::int8_t>& ifmap_buffer() { return ifmap_; }
  SramBuffer<std::int8_t>& weight_buffer() { return weights_; }
  SramBuffer<std::int8_t>& output_buffer() { return output_; }

 private:
  void reset();
  // Every block's tick at one rising edge.
  void on_clock();
  // Runs until `edges` rising edges of the current layer have been taken.
  void advance_to(std::int64_t edges, std::int64_t budget);

  ArrayConfig config_;
  bool configured_ = false;
  bool running_ = false;
  int current_layer_ = -1;
  // Whether simulation time stands a quarter period after a rising edge
  // rather than on one (after a fault's injection; sc_start then keeps that offset).
  bool mid_cycle_ = false;
  sc_core::sc_event falling_;
  const sc_core::sc_time period_ = period(), half_period_ = period() / 2;
  bool falling_wanted_ = false;
  BoundaryRegister<ArrayFeed> feed_;
  BoundaryRegister<AccumulateCommand> command_;
  BoundaryRegister<RequantRequest> requant_;
  SramBuffer<std::int8_t> ifmap_, weights_, output_;
  Controller controller_;
  PeArray array_;
  AccumulatorBuffer accumulator_;
  OutputStage output_stage_;
  RegisterStorage registers_;
};

// Version string of the SystemC library the hardware model is linked with.
std::string systemc_version();

// The process-wide accelerator instance (created on first use, before the
// first sc_start: SystemC elaborates once).
Accelerator& shared_accelerator();


}  // namespace isimdl
