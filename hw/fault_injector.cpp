#include "hw/fault_injector.h"

#include <fmt/format.h>

#include "hw/accelerator.h"
#include "models/error.h"

namespace isimdl {
namespace {

std::int64_t sign_extend(std::uint64_t raw, int width) {
  if (width >= 64) return static_cast<std::int64_t>(raw);
  const std::uint64_t mask = (std::uint64_t{1} << width) - 1;
  raw &= mask;
  const std::uint64_t sign = std::uint64_t{1} << (width - 1);
  return static_cast<std::int64_t>((raw ^ sign) - sign);
}

void check_index(Accelerator& acc, RegisterGroup group, std::int64_t index) {
  const std::int64_t n = register_instance_count(acc, group);
  if (index < 0 || index >= n)
    throw Error(fmt::format("register {}[{}] does not exist: the group has {} instances in this layer",
                            register_info(group).group_name, index, n));
}

}  // namespace

std::int64_t register_instance_count(Accelerator& acc, RegisterGroup group) {
  // The live sizes of this layer's arrays, counted by the register map.
  RegisterCounts counts;
  counts.rows = acc.array().rows();
  counts.cols = acc.array().cols();
  counts.accumulator_words = static_cast<std::int64_t>(acc.accumulator().words.size());
  counts.ifmap_words = static_cast<std::int64_t>(acc.ifmap_buffer().size());
  counts.weight_words = static_cast<std::int64_t>(acc.weight_buffer().size());
  counts.output_words = static_cast<std::int64_t>(acc.output_buffer().size());
  return register_instances(group, counts);
}

std::int64_t read_register(Accelerator& acc, RegisterGroup group, std::int64_t index) {
  check_index(acc, group, index);
  PeArray& array = acc.array();
  const auto i = static_cast<std::size_t>(index);
  switch (group) {
    case RegisterGroup::kPeA: return array.a[i];
    case RegisterGroup::kPePsum: return array.psum[i];
    case RegisterGroup::kPeW0: return array.w0[i];
    case RegisterGroup::kPeW1: return array.w1[i];
    case RegisterGroup::kPeD: return array.d[i];
    case RegisterGroup::kPePropagate: return array.propagate[i] & 1;
    case RegisterGroup::kPeValid: return array.valid[i] & 1;
    case RegisterGroup::kSkew:
      return (static_cast<std::int64_t>(static_cast<std::uint8_t>(array.skew.a[i]))) |
             (static_cast<std::int64_t>(array.skew.valid[i] & 1) << 8) |
             (static_cast<std::int64_t>(array.skew.propagate[i] & 1) << 9);
    case RegisterGroup::kDeskew: return array.deskew.psum[i];
    case RegisterGroup::kAccumulator: return acc.accumulator().words.words()[i];
    case RegisterGroup::kIfmapBuffer: return acc.ifmap_buffer().words()[i];
    case RegisterGroup::kWeightBuffer: return acc.weight_buffer().words()[i];
    case RegisterGroup::kOutputBuffer: return acc.output_buffer().words()[i];
    case RegisterGroup::kOutputStage: return acc.output_stage().acc[i];
  }
  return 0;
}

void write_register(Accelerator& acc, RegisterGroup group, std::int64_t index, std::int64_t value) {
  check_index(acc, group, index);
  PeArray& array = acc.array();
  const auto i = static_cast<std::size_t>(index);
  const auto i8 = static_cast<std::int8_t>(value);
  const auto i32 = static_cast<std::int32_t>(value);
  switch (group) {
    case RegisterGroup::kPeA: array.a[i] = i8; break;
    case RegisterGroup::kPePsum: array.psum[i] = i32; break;
    case RegisterGroup::kPeW0: array.w0[i] = i8; break;
    case RegisterGroup::kPeW1: array.w1[i] = i8; break;
    case RegisterGroup::kPeD: array.d[i] = i8; break;
    case RegisterGroup::kPePropagate: array.propagate[i] = static_cast<std::uint8_t>(value & 1); break;
    case RegisterGroup::kPeValid: array.valid[i] = static_cast<std::uint8_t>(value & 1); break;
    case RegisterGroup::kSkew:
      array.skew.a[i] = static_cast<std::int8_t>(value & 0xff);
      array.skew.valid[i] = static_cast<std::uint8_t>((value >> 8) & 1);
      array.skew.propagate[i] = static_cast<std::uint8_t>((value >> 9) & 1);
      break;
    case RegisterGroup::kDeskew: array.deskew.psum[i] = i32; break;
    case RegisterGroup::kAccumulator: acc.accumulator().words.words()[i] = i32; break;
    case RegisterGroup::kIfmapBuffer: acc.ifmap_buffer().words()[i] = i8; break;
    case RegisterGroup::kWeightBuffer: acc.weight_buffer().words()[i] = i8; break;
    case RegisterGroup::kOutputBuffer: acc.output_buffer().words()[i] = i8; break;
    case RegisterGroup::kOutputStage: acc.output_stage().acc[i] = i32; break;
  }
}

InjectionRecord apply_fault(Accelerator& acc, const FaultSite& fault) {
  const int width = register_info(fault.group).width;
  const int bits = fault.kind == FaultKind::kAdjacentBits ? fault.width : 1;
  if (fault.bit < 0 || bits < 1 || fault.bit + bits > width)
    throw Error(fmt::format("bits {}..{} are outside register {} ({} bits)", fault.bit, fault.bit + bits - 1,
                            register_info(fault.group).group_name, width));
  InjectionRecord record;
  record.before = read_register(acc, fault.group, fault.index);
  const std::uint64_t mask = ((std::uint64_t{1} << bits) - 1) << fault.bit;
  auto raw = static_cast<std::uint64_t>(record.before);
  switch (fault.kind) {
    case FaultKind::kBitFlip:
    case FaultKind::kAdjacentBits: raw ^= mask; break;
    case FaultKind::kStuckAt0: raw &= ~mask; break;
    case FaultKind::kStuckAt1: raw |= mask; break;
  }
  const bool is_unsigned = width == 1 || fault.group == RegisterGroup::kSkew;
  const std::int64_t value = is_unsigned ? static_cast<std::int64_t>(raw & ((std::uint64_t{1} << width) - 1))
                                         : sign_extend(raw, width);
  write_register(acc, fault.group, fault.index, value);
  record.after = read_register(acc, fault.group, fault.index);
  if (record.after != value)
    throw Error(fmt::format("injection into {}[{}] did not take: wrote {}, reads {}",
                            register_info(fault.group).group_name, fault.index, value, record.after));
  record.injected = true;
  return record;
}

}  // namespace isimdl
