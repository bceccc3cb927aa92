#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hw/register_map.h"

namespace isimdl {

class Accelerator;

enum class FaultKind { kBitFlip, kAdjacentBits, kStuckAt0, kStuckAt1 };
const char* to_string(FaultKind kind);
const std::vector<std::string>& fault_kind_names();
FaultKind fault_kind_from_string(const std::string& name);  // throws Error

// A fault site and kind: register instance `index` of `group` in the run of
// model layer `layer`, at layer-relative cycle `cycle` (the fault acts on the
// register's value after rising edge `cycle`, before the next edge reads it),
// bits [bit, bit + width) (width > 1 for adjacent-bit faults). Stuck-at
// faults force the bits after every edge of [cycle, cycle + duration).
struct FaultSite {
  int layer = 0;
  std::int64_t cycle = 0;
  RegisterGroup group = RegisterGroup::kPePsum;
  std::int64_t index = 0;
  int bit = 0;
  FaultKind kind = FaultKind::kBitFlip;
  int width = 1;
  std::int64_t duration = 1;
};

bool operator==(const FaultSite& a, const FaultSite& b);

// What an injection did: the register's value before and after (the first
// application for stuck-at faults).
struct InjectionRecord {
  bool injected = false;
  std::int64_t before = 0;
  std::int64_t after = 0;
};

// Register instances by group and index (docs/hardware.md gives each
// group's indexing); values are sign-extended (1-bit and 10-bit skew words
// are unsigned). Valid between clock edges. Throw Error for an index out of range.
std::int64_t register_instance_count(Accelerator& accelerator, RegisterGroup group);
std::int64_t read_register(Accelerator& accelerator, RegisterGroup group, std::int64_t index);
void write_register(Accelerator& accelerator, RegisterGroup group, std::int64_t index, std::int64_t value);

// Applies the fault's bit operation to its register now; records the values.
// Throws Error when the site does not exist (index or bits out of range).
InjectionRecord apply_fault(Accelerator& accelerator, const FaultSite& fault);

}  // namespace isimdl
