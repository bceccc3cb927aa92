// IDX image and label files (models/idx_reader.h), as MNIST ships them.
#include "fuzz_common.h"
#include "models/idx_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  isimdl::fuzz::with_file(data, size, "-images-idx3-ubyte", [](const std::string& path) { isimdl::read_idx_images(path); });
  return isimdl::fuzz::with_file(data, size, "-labels-idx1-ubyte",
                                 [](const std::string& path) { isimdl::read_idx_labels(path); });
}
