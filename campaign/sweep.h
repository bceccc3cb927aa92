#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "sampler/estimators.h"
#include "config/config.h"
#include "runner/run_report.h"

namespace isimdl {

struct QuantizedModel;
struct MnistSplit;

// Architects' design-space sweep (docs/usage.md): one model on every
// (rows, cols) array, each simulated cycle by cycle for one inference
// (cycle counts do not depend on the data), with the fault-site population
// and, optionally, ISimDL's estimate of the critical-fault rate.
struct SweepPoint {
  ArrayConfig array;
  std::vector<LayerReport> layers;
  LayerStats total;
  std::int64_t register_bits = 0;  // bits of the enabled non-SRAM register groups (accumulator: its capacity)
  std::uint64_t fault_sites = 0;   // register bits x cycles over one inference, enabled groups (the uniform prior's size)
  int vulnerability_faults = 0;    // 0: no campaign
  std::int64_t critical = 0;       // critical faults among them
  Estimate critical_rate;          // importance-weighted, 95% interval
  // Per enabled register group, from the same draws: its share of the fault
  // space and its critical-fault rate (the group's AVF at the campaign's
  // threshold), as `results summary` estimates a structure's.
  struct Group {
    std::string name;
    double share = 0;
    std::int64_t faults = 0;
    Estimate critical_rate;
  };
  std::vector<Group> groups;
  double seconds = 0;
};

// One configuration (config.array is the point). Throws Error.
SweepPoint run_sweep_point(const Config& config, const QuantizedModel& model, const MnistSplit& data,
                           int vulnerability_faults);

// CSV columns (docs/usage.md "Sweep columns"): one row per configuration (the
// last column, layer_cycles, lists each array layer's cycles with drain,
// ';'-separated), and one row per configuration and array layer.
std::string sweep_csv_header();
// The on-chip buffer sizes of a configuration as one cell: the size in KiB
// when all four are equal, else ifmap/weight/accumulator/output.
std::string buffers_label(const BufferConfig& buffers);
std::string sweep_csv_row(const SweepPoint& p);
// One data line of sweep.csv, by column name (columns missing from a short
// line read as empty).
std::map<std::string, std::string> sweep_csv_fields(const std::string& line);
std::string sweep_layers_csv_header();
std::string sweep_layers_csv_rows(const SweepPoint& p);
// With --vulnerability: one row per configuration and register group
// (docs/usage.md "Sweep columns").
std::string sweep_groups_csv_header();
std::string sweep_groups_csv_rows(const SweepPoint& p);

}  // namespace isimdl
