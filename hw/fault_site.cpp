#include "hw/fault_site.h"

#include <fmt/format.h>

#include "models/error.h"

namespace isimdl {
namespace {

const std::vector<std::string> kFaultKindNames{"bit_flip", "adjacent_bits", "stuck_at_0", "stuck_at_1"};

}  // namespace

const char* to_string(FaultKind kind) { return kFaultKindNames.at(static_cast<std::size_t>(kind)).c_str(); }
const std::vector<std::string>& fault_kind_names() { return kFaultKindNames; }
FaultKind fault_kind_from_string(const std::string& name) {
  for (std::size_t i = 0; i < kFaultKindNames.size(); ++i)
    if (kFaultKindNames[i] == name) return static_cast<FaultKind>(i);
  throw Error(fmt::format("unknown fault kind '{}' (expected bit_flip, adjacent_bits, stuck_at_0 or stuck_at_1)", name));
}

bool operator==(const FaultSite& a, const FaultSite& b) {
  return a.layer == b.layer && a.cycle == b.cycle && a.group == b.group && a.index == b.index && a.bit == b.bit &&
         a.kind == b.kind && a.width == b.width && a.duration == b.duration;
}

void check_fault_shape(const FaultSite& f) {
  if (f.width < 1) throw Error("width must be at least 1");
  if (f.duration < 1) throw Error("duration must be at least 1");
  switch (f.kind) {
    case FaultKind::kBitFlip:
      if (f.width != 1 || f.duration != 1)
        throw Error(fmt::format("bit_flip is one bit for one edge (width 1, duration 1), got width {} duration {}", f.width,
                                f.duration));
      break;
    case FaultKind::kAdjacentBits:
      if (f.width < 2 || f.duration != 1)
        throw Error(fmt::format("adjacent_bits flips 2 or more bits for one edge (width >= 2, duration 1), got width {} "
                                "duration {}", f.width, f.duration));
      break;
    case FaultKind::kStuckAt0:
    case FaultKind::kStuckAt1:
      if (f.width != 1) throw Error(fmt::format("{} holds one bit (width 1), got width {}", to_string(f.kind), f.width));
      break;
  }
}

}  // namespace isimdl

