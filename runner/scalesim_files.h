#pragma once

#include <string>
#include <vector>

#include "hw/array_config.h"
#include "runner/run_report.h"

namespace isimdl {

// A SCALE-Sim v2 configuration file (.cfg, Python configparser syntax:
// [section] headers, `key = value` or `key: value`, keys case-insensitive,
// `#`/`;` comment lines). docs/hardware.md, "SCALE-Sim's files", says how
// each key maps onto isimdl's array.
struct ScaleSimConfig {
  std::string run_name;
  int array_height = 0, array_width = 0;                  // PE rows, columns
  int ifmap_sram_kb = 0, filter_sram_kb = 0, ofmap_sram_kb = 0;
  std::string dataflow;                                   // ws, os or is
  bool user_bandwidth = false;                            // InterfaceBandwidth USER (else CALC)
  std::vector<int> bandwidths;                            // words/cycle per bank (USER)
};

// Reads and checks a .cfg file; throws ConfigError naming the file, the
// line where it can and what is wrong.
ScaleSimConfig read_scalesim_config(const std::string& path);

// The array a SCALE-Sim configuration describes, in SCALE-Sim's conventions
// (scalesim timing, whole-fold M tiling): rows, columns, the three SRAM
// sizes, the DRAM bandwidth (USER: the first bank's words of one byte per
// cycle; CALC: unlimited) and the dataflow (ws, os or is).
void apply_scalesim_config(const ScaleSimConfig& cfg, ArrayConfig& array);

// SCALE-Sim v2's per-layer reports of a run in any of its dataflows, with its
// column names and its definitions (docs/hardware.md), written next to
// layers.csv: COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and
// DETAILED_ACCESS_REPORT.csv. Returns the paths written.
std::vector<std::string> write_scalesim_reports(const std::string& dir, const ArrayConfig& array,
                                                const std::vector<LayerReport>& layers);

// SCALE-Sim's fold statistics of one GEMM on an R x C array
// (systolic_compute_ws: folds over K and N, T = M; systolic_compute_is:
// folds over K and M, T = N; systolic_compute_os: folds over M and N, T = K;
// column-fold major, each fold's used rows x columns): the mean of
// used/(R*C) and of used*T/(R*C*fold cycles) (2R+2C+T-3, OS T+R+C-2),
// summed fold by fold in SCALE-Sim's order so that the doubles agree.
struct ScaleSimFoldMeans {
  double mapping_efficiency = 0, compute_utilization = 0;
  std::int64_t ifmap_reads = 0, filter_reads = 0, ofmap_writes = 0;  // its SRAM request counts
};
ScaleSimFoldMeans scalesim_fold_means(const GemmShape& g, int rows, int cols,
                                       Dataflow dataflow = Dataflow::kWeightStationary);

// The first and last cycle at which SCALE-Sim's array requests each SRAM
// (DETAILED_ACCESS_REPORT's "SRAM ... Start/Stop Cycle") at unlimited
// bandwidth: the service cycle of the first and last row of its demand
// matrices that holds a request (reads served one cycle after the request,
// writes in it), from the layout of systolic_compute_ws / _is / _os
// (docs/hardware.md, "SCALE-Sim's configuration file and reports").
struct ScaleSimSramSpans {
  std::int64_t ifmap_start = 0, ifmap_stop = 0, filter_start = 0, filter_stop = 0, ofmap_start = 0, ofmap_stop = 0;
};
ScaleSimSramSpans scalesim_sram_spans(const GemmShape& g, int rows, int cols,
                                      Dataflow dataflow = Dataflow::kWeightStationary);

}  // namespace isimdl
