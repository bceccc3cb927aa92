#include "hw/kinds/kinds.h"

#include <array>

#include "models/error.h"

namespace isimdl {

RegisterKind::RegisterKind(RegisterInfo info) : info_(std::move(info)) {
  int width = 0;
  for (const RegisterField& f : info_.fields) {
    if (f.lsb != width) throw Error(std::string("register kind ") + info_.group_name + ": fields leave a gap");
    width += f.width;
  }
  info_.width = width;
}

void add_live(std::vector<LiveInterval>& list, std::int64_t begin, std::int64_t end) {
  if (end <= begin) return;
  if (!list.empty() && list.back().end >= begin) {
    list.back().end = std::max(list.back().end, end);
    return;
  }
  list.push_back({begin, end});
}

const RegisterKind& register_kind(RegisterGroup group) {
  // The register map, in RegisterGroup order.
  static const auto kinds = [] {
    std::array<std::unique_ptr<RegisterKind>, kRegisterGroups> k{
        kinds::pe_a(),         kinds::pe_psum(),      kinds::pe_w0(),         kinds::pe_w1(),
        kinds::pe_d(),         kinds::pe_propagate(), kinds::pe_valid(),      kinds::skew(),
        kinds::deskew(),       kinds::accumulator(),  kinds::ifmap_buffer(),  kinds::weight_buffer(),
        kinds::output_buffer(), kinds::output_stage(), kinds::pe_out(),
    };
    for (std::size_t i = 0; i < k.size(); ++i)
      if (static_cast<std::size_t>(k[i]->info().group) != i)
        throw Error(std::string("register kind ") + k[i]->info().group_name + " is out of RegisterGroup order");
    return k;
  }();
  const auto i = static_cast<std::size_t>(group);
  if (i >= kinds.size()) throw Error("unknown register group " + std::to_string(i));
  return *kinds[i];
}

const RegisterKind& register_kind(RegisterGroup group, Dataflow dataflow) {
  if (dataflow != Dataflow::kOutputStationary) return register_kind(group);
  // The output-stationary cell's own meanings, the common kind elsewhere.
  static const auto os = [] {
    std::array<std::unique_ptr<RegisterKind>, kRegisterGroups> k;
    for (int g = 0; g < kRegisterGroups; ++g)
      k[static_cast<std::size_t>(g)] = kinds::os_kind(static_cast<RegisterGroup>(g), register_kind(static_cast<RegisterGroup>(g)));
    return k;
  }();
  const auto i = static_cast<std::size_t>(group);
  if (i >= os.size()) throw Error("unknown register group " + std::to_string(i));
  return os[i] ? *os[i] : register_kind(group);
}

}  // namespace isimdl
