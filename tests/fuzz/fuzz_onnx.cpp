// ONNX models (models/onnx_import.h): protobuf parsing by libonnx, then the
// importer's graph conversion, constant folding and QDQ handling.
#include "fuzz_common.h"
#include "models/onnx_import.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return isimdl::fuzz::with_file(data, size, ".onnx", [](const std::string& path) { isimdl::import_onnx(path); });
}
