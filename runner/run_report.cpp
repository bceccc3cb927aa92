#include "runner/run_report.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <ostream>

#include "models/error.h"

namespace isimdl {
namespace {

double overall_util(const LayerStats& s, const ArrayConfig* = nullptr) {
  const double busy = static_cast<double>(s.compute_cycles + 1 + s.stall_cycles);
  return s.utilization() * static_cast<double>(s.compute_cycles + 1) / busy;
}

}  // namespace

void write_layer_csv(const std::string& path, const std::vector<LayerReport>& layers) {
  std::string text =
      "LayerID, Layer, M, K, N, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %, "
      "Cycles With Drain, Folds, M Tiles, MACs, Ifmap SRAM Reads, Filter SRAM Reads, Accumulator Reads, "
      "Accumulator Writes, Ofmap SRAM Writes, DRAM Ifmap Bytes, DRAM Filter Bytes, DRAM Ofmap Bytes,\n";
  for (const auto& l : layers) {
    const LayerStats& s = l.stats;
    text += fmt::format("{}, {}, {}, {}, {}, {}, {}, {:.4f}, {:.4f}, {:.4f}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {},\n",
                        l.id, l.name, l.gemm.m, l.gemm.k, l.gemm.n, s.compute_cycles, s.stall_cycles,
                        100 * overall_util(s), 100 * s.mapping_efficiency(), 100 * s.utilization(), s.total_cycles,
                        s.folds, s.m_tiles, s.macs, s.ifmap_reads, s.weight_reads, s.accumulator_reads,
                        s.accumulator_writes, s.output_writes, s.dram_ifmap_bytes, s.dram_weight_bytes,
                        s.dram_output_bytes);
  }
  write_file_atomically(path, text);
}

void print_layer_table(std::ostream& out, const std::vector<LayerReport>& layers) {
  out << fmt::format("{:>5} {:<8} {:>6} {:>6} {:>5} {:>6} {:>10} {:>10} {:>6} {:>6} {:>9} {:>9} {:>9} {:>9} {:>10} {:>7}\n",
                     "layer", "kind", "M", "K", "N", "folds", "cycles", "w/ drain", "util%", "map%", "ifmap rd",
                     "filt rd", "acc rd", "acc wr", "DRAM B", "stalls");
  for (const auto& l : layers) {
    const LayerStats& s = l.stats;
    out << fmt::format("{:>5} {:<8} {:>6} {:>6} {:>5} {:>6} {:>10} {:>10} {:>6.1f} {:>6.1f} {:>9} {:>9} {:>9} {:>9} {:>10} {:>7}\n",
                       l.id, l.name.substr(0, 8), l.gemm.m, l.gemm.k, l.gemm.n, s.folds, s.compute_cycles,
                       s.total_cycles, 100 * s.utilization(), 100 * s.mapping_efficiency(), s.ifmap_reads, s.weight_reads,
                       s.accumulator_reads, s.accumulator_writes,
                       s.dram_ifmap_bytes + s.dram_weight_bytes + s.dram_output_bytes, s.stall_cycles);
  }
}

LayerStats total_stats(const std::vector<LayerReport>& layers) {
  LayerStats t;
  for (const auto& l : layers) t += l.stats;
  return t;
}

}  // namespace isimdl
