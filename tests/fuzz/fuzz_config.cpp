// Configuration files and -p overrides (config/config.h): the input is a YAML
// document; its first line is also tried as a `-p key=value` override on the
// default configuration.
#include "fuzz_common.h"
#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text = isimdl::fuzz::text(data, size);
  try {
    isimdl::parse_config(text, "fuzz.yaml");
  } catch (const isimdl::Error&) {
  }
  try {
    isimdl::parse_config("model: lenet5\n", "base.yaml", {text.substr(0, text.find('\n'))});
  } catch (const isimdl::Error&) {
  }
  return 0;
}
