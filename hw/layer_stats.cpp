#include "hw/layer_stats.h"

#include <fmt/format.h>

namespace isimdl {

double LayerStats::utilization() const {
  return pe_cycles > 0 ? static_cast<double>(useful_macs) / static_cast<double>(pe_cycles) : 0.0;
}

double LayerStats::mapping_efficiency() const {
  return mapped_macs > 0 ? static_cast<double>(useful_macs) / static_cast<double>(mapped_macs) : 0.0;
}

std::string LayerStatField::format(const LayerStats& s) const {
  return count ? std::to_string(s.*count) : fmt::format("{:.6f}", (s.*ratio)());
}

const std::vector<LayerStatField>& layer_stat_fields() {
  using S = LayerStats;
  static const std::vector<LayerStatField> fields{
      {"compute_cycles", &S::compute_cycles, nullptr},
      {"total_cycles", &S::total_cycles, nullptr},
      {"stall_cycles", &S::stall_cycles, nullptr},
      {"folds", &S::folds, nullptr},
      {"m_tiles", &S::m_tiles, nullptr},
      {"macs", &S::macs, nullptr},
      {"useful_macs", &S::useful_macs, nullptr},
      {"utilization", nullptr, &S::utilization},
      {"mapping_efficiency", nullptr, &S::mapping_efficiency},
      {"ifmap_reads", &S::ifmap_reads, nullptr},
      {"weight_reads", &S::weight_reads, nullptr},
      {"accumulator_reads", &S::accumulator_reads, nullptr},
      {"accumulator_writes", &S::accumulator_writes, nullptr},
      {"output_writes", &S::output_writes, nullptr},
      {"dram_ifmap_bytes", &S::dram_ifmap_bytes, nullptr},
      {"dram_weight_bytes", &S::dram_weight_bytes, nullptr},
      {"dram_output_bytes", &S::dram_output_bytes, nullptr},
      {"ifmap_writes", &S::ifmap_writes, nullptr},
      {"weight_writes", &S::weight_writes, nullptr},
      {"output_reads", &S::output_reads, nullptr},
      {"pe_cycles", &S::pe_cycles, nullptr},
      {"mapped_macs", &S::mapped_macs, nullptr},
  };
  return fields;
}

LayerStats& LayerStats::operator+=(const LayerStats& o) {
  for (const LayerStatField& f : layer_stat_fields())
    if (f.count) this->*f.count += o.*f.count;
  return *this;
}

LayerStats operator+(LayerStats a, const LayerStats& b) { return a += b; }

std::string layer_stats_yaml(const LayerStats& s, const std::string& indent) {
  std::string text;
  for (const LayerStatField& f : layer_stat_fields()) text += fmt::format("{}{}: {}\n", indent, f.name, f.format(s));
  return text;
}

std::string layer_stats_csv_header() {
  std::string text;
  for (const LayerStatField& f : layer_stat_fields()) text += (text.empty() ? "" : ",") + std::string(f.name);
  return text;
}

std::string layer_stats_csv_row(const LayerStats& s) {
  std::string text;
  for (const LayerStatField& f : layer_stat_fields()) text += (text.empty() ? "" : ",") + f.format(s);
  return text;
}

}  // namespace isimdl
