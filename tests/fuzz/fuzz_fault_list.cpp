// Fault lists (campaign/fault_list.h), checked against lenet5's fault space on
// the default 16x16 array, and single --fault specifications.
#include "fuzz_common.h"
#include "hw/register_map.h"
#include "models/model_file.h"
#include "sampler/fault_space.h"
#include "campaign/campaign.h"
#include "campaign/fault_list.h"

namespace {

const isimdl::FaultSpace& space() {
  static const isimdl::QuantizedModel model = isimdl::load_model(ISIMDL_SOURCE_DIR "/models/zoo/lenet5.isq");
  static const isimdl::FaultSpace s(model, isimdl::ArrayConfig{}, isimdl::all_register_groups(), isimdl::FaultKind::kBitFlip);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const isimdl::FaultSpace& s = space();
  try {
    isimdl::parse_fault_site(isimdl::fuzz::text(data, size));
  } catch (const isimdl::Error&) {
  }
  return isimdl::fuzz::with_file(data, size, ".faults", [&](const std::string& path) { isimdl::read_fault_list(path, s); });
}
