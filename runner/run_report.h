#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "hw/accelerator.h"
#include "models/architecture.h"
#include "models/atomic_file.h"

namespace isimdl {

// One array layer of a run, as the reports print it.
struct LayerReport {
  int id = 0;           // layer index in the model (or topology row)
  std::string name;     // e.g. "conv2d" or a topology layer name
  GemmShape gemm;
  LayerStats stats;
};

// isimdl's per-layer table: SCALE-Sim COMPUTE_REPORT's column names first
// ("Total Cycles", "Stall Cycles", "Overall Util %", "Mapping Efficiency %",
// "Compute Util %") with isimdl's own definitions of the ratios, then
// isimdl's own columns; docs/hardware.md defines each. SCALE-Sim's files with
// SCALE-Sim's definitions: runner/scalesim_files.h.
void write_layer_csv(const std::string& path, const std::vector<LayerReport>& layers);
void print_layer_table(std::ostream& out, const std::vector<LayerReport>& layers);
// Sums over layers.
LayerStats total_stats(const std::vector<LayerReport>& layers);


}  // namespace isimdl
