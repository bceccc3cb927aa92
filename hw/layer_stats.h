#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace isimdl {

// Per-layer statistics of a cycle-level run (docs/hardware.md defines each),
// and their totals over layers: every field is a count that adds up, and the
// two ratios are derived from counts, so a total is exact (operator+).
struct LayerStats {
  std::int64_t compute_cycles = 0;  // SCALE-Sim "Total Cycles" convention
  std::int64_t total_cycles = 0;    // until the last output is in the output buffer
  std::int64_t stall_cycles = 0;    // DRAM bandwidth stalls (analytic overlap model)
  std::int64_t folds = 0;
  std::int64_t m_tiles = 0;
  std::int64_t macs = 0;            // MAC operations the PEs performed (valid operand, any weight)
  std::int64_t useful_macs = 0;     // M*K*N (M*K*N/groups for a grouped GEMM)
  std::int64_t ifmap_reads = 0, ifmap_writes = 0;
  std::int64_t weight_reads = 0, weight_writes = 0;
  std::int64_t accumulator_reads = 0, accumulator_writes = 0;
  std::int64_t output_reads = 0, output_writes = 0;
  std::int64_t dram_ifmap_bytes = 0, dram_weight_bytes = 0, dram_output_bytes = 0;
  // Denominators of the ratios: PE-cycles of the compute cycles
  // (R*C*(compute_cycles + 1)), and the MACs the folds' occupied PE rows and
  // columns could do (M * k_folds*R * n_slices*C).
  std::int64_t pe_cycles = 0;
  std::int64_t mapped_macs = 0;

  // useful_macs / pe_cycles
  double utilization() const;
  // useful_macs / mapped_macs: K*N / (k_folds*R * n_slices*C) for one layer
  double mapping_efficiency() const;

  LayerStats& operator+=(const LayerStats& other);
};
LayerStats operator+(LayerStats a, const LayerStats& b);

// The one list of LayerStats' fields, in the order run.yaml and the sweep
// CSVs give them: every count (summed by operator+), then the two ratios
// (derived). Serializations and the sum walk it.
struct LayerStatField {
  const char* name;
  std::int64_t LayerStats::*count;        // a count, or
  double (LayerStats::*ratio)() const;    // a ratio (count == nullptr)
  std::string format(const LayerStats& s) const;  // an integer, or 6 decimals
};
const std::vector<LayerStatField>& layer_stat_fields();
// "name: value\n" per field, each line prefixed with `indent`.
std::string layer_stats_yaml(const LayerStats& s, const std::string& indent);
// The field names, comma-separated, and one row of values.
std::string layer_stats_csv_header();
std::string layer_stats_csv_row(const LayerStats& s);

}  // namespace isimdl
