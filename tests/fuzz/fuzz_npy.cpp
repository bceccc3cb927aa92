// NumPy .npy files (models/npy.h) and .npy datasets (images, any layout).
#include "fuzz_common.h"
#include "models/idx_reader.h"
#include "models/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return isimdl::fuzz::with_file(data, size, ".npy", [](const std::string& path) {
    isimdl::read_npy(path);
    isimdl::load_npy_dataset(path, "", "auto");
  });
}
