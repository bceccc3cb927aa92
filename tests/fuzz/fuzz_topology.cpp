// SCALE-Sim topology CSV files (runner/topology.h).
#include "fuzz_common.h"
#include "runner/topology.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return isimdl::fuzz::with_file(data, size, ".csv", [](const std::string& path) {
    for (const auto& layer : isimdl::read_topology(path)) layer.gemm();
  });
}
