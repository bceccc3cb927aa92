#pragma once

#include <cstdint>

#include "hw/fault_site.h"

namespace isimdl {

class Accelerator;

// Register instances by group and index (docs/hardware.md gives each
// group's indexing), reached through the model's register storage
// (hw/register_storage.h); values read back as RegisterInfo::normalize says
// (sign-extended, or unsigned for tags and packed words). Valid between clock
// edges. Throw Error for an index out of range.
std::int64_t register_instance_count(Accelerator& accelerator, RegisterGroup group);
std::int64_t read_register(Accelerator& accelerator, RegisterGroup group, std::int64_t index);
void write_register(Accelerator& accelerator, RegisterGroup group, std::int64_t index, std::int64_t value);

// Applies the fault's bit operation to its register now; records the values.
// Throws Error when the site does not exist (index or bits out of range).
InjectionRecord apply_fault(Accelerator& accelerator, const FaultSite& fault);

}  // namespace isimdl
