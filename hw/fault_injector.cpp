#include "hw/fault_injector.h"

#include <fmt/format.h>

#include "hw/accelerator.h"
#include "models/error.h"

namespace isimdl {
namespace {

void check_index(Accelerator& acc, RegisterGroup group, std::int64_t index) {
  const std::int64_t n = register_instance_count(acc, group);
  if (index < 0 || index >= n)
    throw Error(fmt::format("register {}[{}] does not exist: the group has {} instances in this layer",
                            register_info(group).group_name, index, n));
}

}  // namespace

std::int64_t register_instance_count(Accelerator& acc, RegisterGroup group) {
  return acc.registers().instances(group);  // the live sizes of this layer's arrays
}

std::int64_t read_register(Accelerator& acc, RegisterGroup group, std::int64_t index) {
  check_index(acc, group, index);
  return acc.registers().read(group, index);
}

void write_register(Accelerator& acc, RegisterGroup group, std::int64_t index, std::int64_t value) {
  check_index(acc, group, index);
  acc.registers().write(group, index, value);
}

InjectionRecord apply_fault(Accelerator& acc, const FaultSite& fault) {
  const RegisterInfo& info = register_info(fault.group);
  const int bits = fault.kind == FaultKind::kAdjacentBits ? fault.width : 1;
  // The cycle is the caller's to check (it stops the simulation there).
  check_register_bits(fault.group, fault.index, fault.bit, bits, register_instance_count(acc, fault.group));
  const RegisterStorage& storage = acc.registers();
  InjectionRecord record;
  record.before = storage.read(fault.group, fault.index);
  const std::uint64_t mask = ((std::uint64_t{1} << bits) - 1) << fault.bit;
  auto raw = static_cast<std::uint64_t>(record.before);
  switch (fault.kind) {
    case FaultKind::kBitFlip:
    case FaultKind::kAdjacentBits: raw ^= mask; break;
    case FaultKind::kStuckAt0: raw &= ~mask; break;
    case FaultKind::kStuckAt1: raw |= mask; break;
  }
  const std::int64_t value = info.normalize(raw);
  storage.write(fault.group, fault.index, value);
  record.after = storage.read(fault.group, fault.index);
  if (record.after != value)
    throw Error(fmt::format("injection into {}[{}] did not take: wrote {}, reads {}", info.group_name, fault.index,
                            value, record.after));
  record.injected = true;
  return record;
}

}  // namespace isimdl
