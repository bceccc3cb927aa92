#include "hw/register_map.h"

#include <fmt/format.h>

#include "hw/array_config.h"
#include "hw/fold_schedule.h"
#include "hw/register_kind.h"
#include "models/error.h"

namespace isimdl {
namespace {

std::int64_t sign_extend(std::uint64_t raw, int width) {
  const std::uint64_t mask = width >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << width) - 1;
  raw &= mask;
  const std::uint64_t sign = std::uint64_t{1} << (width - 1);
  return static_cast<std::int64_t>((raw ^ sign) - sign);
}

std::uint64_t low_bits(std::uint64_t raw, int width) {
  return width >= 64 ? raw : raw & ((std::uint64_t{1} << width) - 1);
}

}  // namespace

std::int64_t RegisterInfo::pack(const std::vector<std::int64_t>& values) const {
  std::uint64_t raw = 0;
  for (std::size_t i = 0; i < fields.size() && i < values.size(); ++i)
    raw |= low_bits(static_cast<std::uint64_t>(values[i]), fields[i].width) << fields[i].lsb;
  return normalize(raw);
}

std::int64_t RegisterInfo::unpack(std::int64_t word, std::size_t field) const {
  const RegisterField& f = fields.at(field);
  const std::uint64_t raw = low_bits(static_cast<std::uint64_t>(word) >> f.lsb, f.width);
  return f.is_signed ? sign_extend(raw, f.width) : static_cast<std::int64_t>(raw);
}

std::int64_t RegisterInfo::normalize(std::uint64_t raw) const {
  return is_unsigned() ? static_cast<std::int64_t>(low_bits(raw, width)) : sign_extend(raw, width);
}

int RegisterInfo::significance(int bit) const {
  int widest = 0;
  for (const RegisterField& f : fields) widest = std::max(widest, f.width);
  for (const RegisterField& f : fields)
    if (bit >= f.lsb && bit < f.lsb + f.width) return f.width == 1 && fields.size() > 1 ? widest - 1 : bit - f.lsb;
  return bit;
}

std::string RegisterInfo::trace_name(std::int64_t index, std::size_t field, int cols) const {
  const char* f = fields.at(field).name;
  switch (placement) {
    case Placement::kPe:
      return fmt::format("array.pe_{}_{}.{}", index / cols, index % cols, f);
    case Placement::kSkewStage: {
      const auto [r, s] = skew_row_stage(index);
      return fmt::format("array.skew_{}_{}.{}", r, s, f);
    }
    case Placement::kDeskewStage: {
      const auto [c, s] = deskew_column_stage(index, cols);
      return fmt::format("array.deskew_{}_{}.{}", c, s, f);
    }
    case Placement::kColumn:
      return fmt::format("output_stage.{}_{}", f, index);
    default:
      return "";
  }
}

const std::vector<RegisterInfo>& register_map() {
  static const std::vector<RegisterInfo> map = [] {
    std::vector<RegisterInfo> m;
    for (int g = 0; g < kRegisterGroups; ++g) m.push_back(register_kind(static_cast<RegisterGroup>(g)).info());
    return m;
  }();
  return map;
}

const RegisterInfo& register_info(RegisterGroup group) { return register_map().at(static_cast<std::size_t>(group)); }

const std::vector<std::string>& register_group_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& r : register_map()) n.push_back(r.group_name);
    return n;
  }();
  return names;
}

RegisterGroup register_group_from_name(const std::string& name) {
  for (const auto& r : register_map())
    if (name == r.group_name) return r.group;
  throw Error("unknown register group '" + name + "'");
}

std::vector<RegisterGroup> all_register_groups() {
  std::vector<RegisterGroup> groups;
  for (const auto& r : register_map()) groups.push_back(r.group);
  return groups;
}

bool is_sram_buffer(RegisterGroup group) { return register_info(group).is_buffer_word(); }

RegisterCounts RegisterCounts::of_layer(const LayerSchedule& schedule, std::int64_t input_words) {
  RegisterCounts c;
  c.rows = schedule.rows;
  c.cols = schedule.cols;
  c.dataflow = schedule.dataflow;
  c.accumulator_words = static_cast<std::int64_t>(schedule.m_tile) * schedule.cols;
  c.ifmap_words = input_words;
  c.weight_words = schedule.gemm.weights();
  c.output_words = static_cast<std::int64_t>(schedule.gemm.m) * schedule.gemm.n;
  return c;
}

RegisterCounts RegisterCounts::of_array(const ArrayConfig& array) {
  RegisterCounts c;
  c.rows = array.rows;
  c.cols = array.cols;
  c.dataflow = array.dataflow;
  c.accumulator_words = static_cast<std::int64_t>(array.buffers.accumulator_kib) * 1024 / 4;
  return c;
}

std::int64_t RegisterCounts::instances(RegisterGroup group) const {
  if (!register_info(group).present(dataflow)) return 0;
  switch (register_info(group).placement) {
    case Placement::kPe: return static_cast<std::int64_t>(rows) * cols;
    case Placement::kSkewStage: return static_cast<std::int64_t>(rows) * (rows - 1) / 2;
    case Placement::kDeskewStage: return static_cast<std::int64_t>(cols) * (cols - 1) / 2;
    case Placement::kColumn: return cols;
    case Placement::kAccumulatorWord: return accumulator_words;
    case Placement::kIfmapWord: return ifmap_words;
    case Placement::kWeightWord: return weight_words;
    case Placement::kOutputWord: return output_words;
  }
  return 0;
}


int pe_register_bits(Dataflow dataflow) {
  int bits = 0;
  for (const RegisterInfo& r : register_map())
    if (r.placement == Placement::kPe && r.present(dataflow)) bits += r.width;
  return bits;
}

std::pair<int, int> skew_row_stage(std::int64_t index) {
  int r = 1;
  while (static_cast<std::int64_t>(r) * (r + 1) / 2 <= index) ++r;
  return {r, static_cast<int>(index - static_cast<std::int64_t>(r) * (r - 1) / 2)};
}

std::pair<int, int> deskew_column_stage(std::int64_t index, int cols) {
  int c = 0;
  while (index >= cols - 1 - c) index -= cols - 1 - c, ++c;
  return {c, static_cast<int>(index)};
}

void check_register_bits(RegisterGroup group, std::int64_t index, int bit, int bits, std::int64_t instances,
                         const std::string& where) {
  const RegisterInfo& info = register_info(group);
  if (index < 0 || index >= instances)
    throw Error(fmt::format("{}register {}[{}] does not exist: the group has {} instances in this layer", where,
                            info.group_name, index, instances));
  if (bit < 0 || bits < 1 || bit + bits > info.width)
    throw Error(fmt::format("{}{} outside register {} ({} bit{})", where,
                            bits == 1 ? fmt::format("bit {} is", bit) : fmt::format("bits {}..{} are", bit, bit + bits - 1),
                            info.group_name, info.width, info.width == 1 ? "" : "s"));
}

void check_register_site(RegisterGroup group, std::int64_t index, int bit, int bits, std::int64_t cycle,
                         std::int64_t instances, std::int64_t cycles, const std::string& where) {
  check_register_bits(group, index, bit, bits, instances, where);
  if (cycle < 0 || cycle >= cycles)
    throw Error(fmt::format("{}fault cycle {} is outside the layer's run of {} cycles", where, cycle, cycles));
}

}  // namespace isimdl
