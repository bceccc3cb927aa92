#include "hw/array_config.h"

#include "hw/register_map.h"

#include "models/error.h"

namespace isimdl {

const char* to_string(TimingMode mode) {
  switch (mode) {
    case TimingMode::kScaleSim:
      return "scalesim";
    case TimingMode::kDoubleBuffered:
      return "double_buffered";
  }
  return "?";
}

const std::vector<std::string>& timing_mode_names() {
  static const std::vector<std::string> names{"scalesim", "double_buffered"};
  return names;
}

TimingMode timing_mode_from_string(const std::string& name) {
  if (name == "scalesim") return TimingMode::kScaleSim;
  if (name == "double_buffered") return TimingMode::kDoubleBuffered;
  throw Error("unknown timing mode '" + name + "' (expected scalesim or double_buffered)");
}

const char* to_string(MTiling tiling) { return tiling == MTiling::kScaleSim ? "scalesim" : "capacity"; }

const std::vector<std::string>& m_tiling_names() {
  static const std::vector<std::string> names{"capacity", "scalesim"};
  return names;
}

MTiling m_tiling_from_string(const std::string& name) {
  if (name == "capacity") return MTiling::kCapacity;
  if (name == "scalesim") return MTiling::kScaleSim;
  throw Error("unknown M tiling '" + name + "' (expected capacity or scalesim)");
}

bool operator==(const BufferConfig& a, const BufferConfig& b) {
  return a.ifmap_kib == b.ifmap_kib && a.weight_kib == b.weight_kib && a.accumulator_kib == b.accumulator_kib &&
         a.output_kib == b.output_kib && a.banks == b.banks;
}

bool operator==(const ArrayConfig& a, const ArrayConfig& b) {
  return a.rows == b.rows && a.cols == b.cols && a.timing == b.timing && a.m_tiling == b.m_tiling && a.buffers == b.buffers &&
         a.dram_bytes_per_cycle == b.dram_bytes_per_cycle;
}

std::int64_t ArrayConfig::pe_register_bits() const {
  return static_cast<std::int64_t>(pe_count()) * ::isimdl::pe_register_bits();
}

}  // namespace isimdl
