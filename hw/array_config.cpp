#include "hw/array_config.h"

#include "hw/register_map.h"

#include "models/error.h"

namespace isimdl {

namespace {

// An enum whose values are 0, 1, ... in the order of its names: the names
// are stated once, and to_string and the parser are read from them.
template <typename E>
const char* name_of(const std::vector<std::string>& names, E value) {
  const auto i = static_cast<std::size_t>(value);
  return i < names.size() ? names[i].c_str() : "?";
}

template <typename E>
E value_of(const std::vector<std::string>& names, const std::string& name, const char* what) {
  std::string expected;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<E>(i);
    expected += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  }
  throw Error("unknown " + std::string(what) + " '" + name + "' (expected " + expected + ")");
}

}  // namespace

const std::vector<std::string>& timing_mode_names() {
  static const std::vector<std::string> names{"scalesim", "double_buffered"};  // TimingMode order
  return names;
}
const char* to_string(TimingMode mode) { return name_of(timing_mode_names(), mode); }
TimingMode timing_mode_from_string(const std::string& name) {
  return value_of<TimingMode>(timing_mode_names(), name, "timing mode");
}

const std::vector<std::string>& m_tiling_names() {
  static const std::vector<std::string> names{"capacity", "scalesim"};  // MTiling order
  return names;
}
const char* to_string(MTiling tiling) { return name_of(m_tiling_names(), tiling); }
MTiling m_tiling_from_string(const std::string& name) { return value_of<MTiling>(m_tiling_names(), name, "M tiling"); }

const std::vector<std::string>& dataflow_names() {
  static const std::vector<std::string> names{"ws", "os", "is"};  // Dataflow order
  return names;
}
const char* to_string(Dataflow dataflow) { return name_of(dataflow_names(), dataflow); }
Dataflow dataflow_from_string(const std::string& name) { return value_of<Dataflow>(dataflow_names(), name, "dataflow"); }

bool operator==(const BufferConfig& a, const BufferConfig& b) {
  return a.ifmap_kib == b.ifmap_kib && a.weight_kib == b.weight_kib && a.accumulator_kib == b.accumulator_kib &&
         a.output_kib == b.output_kib && a.banks == b.banks;
}

bool operator==(const ArrayConfig& a, const ArrayConfig& b) {
  return a.rows == b.rows && a.cols == b.cols && a.dataflow == b.dataflow && a.timing == b.timing && a.m_tiling == b.m_tiling && a.buffers == b.buffers &&
         a.dram_bytes_per_cycle == b.dram_bytes_per_cycle;
}

std::int64_t ArrayConfig::pe_register_bits() const {
  return static_cast<std::int64_t>(pe_count()) * ::isimdl::pe_register_bits(dataflow);
}

}  // namespace isimdl
