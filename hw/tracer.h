#pragma once

#include <systemc>

#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace isimdl {

class Accelerator;

// Which part of a run to trace (docs/traces.md).
struct TraceOptions {
  std::string vcd_path;  // VCD through sc_trace; empty = none
  std::string csv_path;  // one row per cycle and register; empty = none
  int layer = -1;        // model layer to trace; -1 = the first array layer run
  std::int64_t window_begin = 0;                   // layer-relative cycles [begin, end)
  std::int64_t window_end = INT64_C(1) << 62;
};

// Samples every traced register of the accelerator once per cycle, between
// rising edges (on the falling edge), while the selected layer runs and the
// cycle is inside the window. Registers are named hierarchically, e.g.
// array.pe_3_5.psum, array.skew_2_1.a, array.deskew_0_3.psum,
// output_stage.acc_7. Must be constructed before the first sc_start (VCD
// tracing is set up during elaboration) and after the accelerator is
// configured (the register set depends on R and C).
class Tracer : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Tracer);

  Tracer(const sc_core::sc_module_name& name, Accelerator& accelerator, TraceOptions options);
  ~Tracer() override;

  std::int64_t rows_written() const { return csv_rows_; }
  std::int64_t cycles_sampled() const { return cycles_; }

 private:
  struct Probe {
    std::string name;
    std::function<std::int32_t()> read;
  };
  void sample();
  void build_probes();

  Accelerator& accelerator_;
  TraceOptions options_;
  std::vector<Probe> probes_;
  std::vector<int> mirror_;  // what sc_trace watches
  int cycle_mirror_ = -1;
  sc_core::sc_trace_file* vcd_ = nullptr;
  std::ofstream csv_;
  int traced_layer_ = -2;
  std::int64_t csv_rows_ = 0, cycles_ = 0;
};

}  // namespace isimdl
