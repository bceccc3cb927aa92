#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace isimdl {

// The one register map of the accelerator. Fault injection, tracing, the
// sampler's site space and docs/hardware.md all read this table: a register
// added here is injectable, traceable and documented.
enum class RegisterGroup {
  kPeA,
  kPePsum,
  kPeW0,
  kPeW1,
  kPeD,
  kPePropagate,
  kPeValid,
  kSkew,
  kDeskew,
  kAccumulator,
  kIfmapBuffer,
  kWeightBuffer,
  kOutputBuffer,
  kOutputStage,
};

struct RegisterInfo {
  RegisterGroup group;
  const char* group_name;  // as campaign.groups names it
  const char* name;        // as traces name it, e.g. "psum" in array.pe_3_5.psum
  int width;               // bits
  const char* description;
};

// The SRAM buffer word groups (ifmap, weight, output), as opposed to the
// flip-flops of the array, its feeders and the accumulator path.
bool is_sram_buffer(RegisterGroup group);

// Every architectural register kind, in a fixed order.
const std::vector<RegisterInfo>& register_map();
const RegisterInfo& register_info(RegisterGroup group);
const std::vector<std::string>& register_group_names();
std::vector<RegisterGroup> all_register_groups();
RegisterGroup register_group_from_name(const std::string& name);  // throws Error

// How many instances of a register group an R x C array with the given
// buffer word counts has.
struct RegisterCounts {
  int rows = 0;
  int cols = 0;
  std::int64_t accumulator_words = 0;
  std::int64_t ifmap_words = 0;
  std::int64_t weight_words = 0;
  std::int64_t output_words = 0;
};
std::int64_t register_instances(RegisterGroup group, const RegisterCounts& counts);

}  // namespace isimdl
