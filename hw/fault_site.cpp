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

}  // namespace isimdl
