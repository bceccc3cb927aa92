#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hw/register_map.h"

namespace isimdl {

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

// Throws Error unless width and duration fit the kind: a bit flip is one bit
// for one edge, adjacent bits are 2 or more bits for one edge, a stuck-at is
// one bit held for `duration` edges.
struct FaultSite;
void check_fault_shape(const FaultSite& fault);

}  // namespace isimdl
