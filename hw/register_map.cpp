#include "hw/register_map.h"

#include "models/error.h"

namespace isimdl {

const std::vector<RegisterInfo>& register_map() {
  static const std::vector<RegisterInfo> map{
      {RegisterGroup::kPeA, "pe_a", "a", 8, "PE activation register, passed to the right neighbour each cycle"},
      {RegisterGroup::kPePsum, "pe_psum", "psum", 32, "PE partial sum, passed to the PE below each cycle"},
      {RegisterGroup::kPeW0, "pe_w0", "w0", 8, "PE weight register 0 (folds with even index)"},
      {RegisterGroup::kPeW1, "pe_w1", "w1", 8, "PE weight register 1 (folds with odd index)"},
      {RegisterGroup::kPeD, "pe_d", "d", 8, "PE weight shift path: weights travel down the column during preload"},
      {RegisterGroup::kPePropagate, "pe_propagate", "propagate", 1,
       "PE tag travelling with the activation: selects w1 (1) or w0 (0) for its MAC"},
      {RegisterGroup::kPeValid, "pe_valid", "valid", 1,
       "PE tag travelling with the activation: the MAC happens only when set"},
      {RegisterGroup::kSkew, "skew", "word", 10,
       "input skew register, row r has r of them: bits 0-7 activation, bit 8 valid, bit 9 propagate"},
      {RegisterGroup::kDeskew, "deskew", "psum", 32,
       "output de-skew register: column c delays results by C-1-c cycles so a row leaves aligned"},
      {RegisterGroup::kAccumulator, "accumulator", "word", 32, "accumulator buffer word (int32), sums K-folds"},
      {RegisterGroup::kIfmapBuffer, "ifmap_buffer", "word", 8, "ifmap SRAM word (int8 layer input)"},
      {RegisterGroup::kWeightBuffer, "weight_buffer", "word", 8, "weight SRAM word (int8 W[n][k])"},
      {RegisterGroup::kOutputBuffer, "output_buffer", "word", 8, "output SRAM word (int8 layer output)"},
      {RegisterGroup::kOutputStage, "output_stage", "acc", 32,
       "output stage input register per column: the accumulator word being requantized"},
  };
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

std::int64_t register_instances(RegisterGroup group, const RegisterCounts& c) {
  const std::int64_t pes = static_cast<std::int64_t>(c.rows) * c.cols;
  switch (group) {
    case RegisterGroup::kPeA:
    case RegisterGroup::kPePsum:
    case RegisterGroup::kPeW0:
    case RegisterGroup::kPeW1:
    case RegisterGroup::kPeD:
    case RegisterGroup::kPePropagate:
    case RegisterGroup::kPeValid:
      return pes;
    case RegisterGroup::kSkew:
      return static_cast<std::int64_t>(c.rows) * (c.rows - 1) / 2;
    case RegisterGroup::kDeskew:
      return static_cast<std::int64_t>(c.cols) * (c.cols - 1) / 2;
    case RegisterGroup::kAccumulator:
      return c.accumulator_words;
    case RegisterGroup::kIfmapBuffer:
      return c.ifmap_words;
    case RegisterGroup::kWeightBuffer:
      return c.weight_words;
    case RegisterGroup::kOutputBuffer:
      return c.output_words;
    case RegisterGroup::kOutputStage:
      return c.cols;
  }
  return 0;
}

std::vector<RegisterGroup> all_register_groups() {
  std::vector<RegisterGroup> groups;
  for (const auto& r : register_map()) groups.push_back(r.group);
  return groups;
}

bool is_sram_buffer(RegisterGroup group) {
  return group == RegisterGroup::kIfmapBuffer || group == RegisterGroup::kWeightBuffer ||
         group == RegisterGroup::kOutputBuffer;
}

}  // namespace isimdl
