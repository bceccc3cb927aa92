// Cycle traces (reporting/trace_diff.h), CSV or VCD by FUZZ_TRACE_SUFFIX: read to
// the end and compared with themselves.
#include <map>

#include "fuzz_common.h"
#include "reporting/trace_diff.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return isimdl::fuzz::with_file(data, size, FUZZ_TRACE_SUFFIX, [](const std::string& path) {
    auto a = isimdl::open_trace(path);
    auto b = isimdl::open_trace(path);
    isimdl::diff_traces(*a, *b, isimdl::TraceDiffOptions{});
  });
}
