// isimdl model files (models/model_file.h). A file's payload sits behind a
// CRC-32, so random bytes would almost never get past it: the input is the
// payload, given a valid header here (magic, version, size, checksum); an
// input whose first byte is 0xff is tried as a whole file instead (the
// header's own checks).
#include <zlib.h>

#include <cstring>

#include "fuzz_common.h"
#include "models/model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 0 && data[0] == 0xff)
    return isimdl::fuzz::with_file(data + 1, size - 1, ".isq", [](const std::string& path) { isimdl::load_model(path); });
  std::string file = "ISIMDLQM";  // magic
  const std::uint32_t version = isimdl::kModelFileVersion;
  const std::uint64_t payload = size;
  const auto crc = static_cast<std::uint32_t>(crc32(0L, data, static_cast<uInt>(size)));
  file.append(reinterpret_cast<const char*>(&version), 4);
  file.append(reinterpret_cast<const char*>(&payload), 8);
  file.append(reinterpret_cast<const char*>(&crc), 4);
  file.append(reinterpret_cast<const char*>(data), size);
  return isimdl::fuzz::with_file(reinterpret_cast<const std::uint8_t*>(file.data()), file.size(), ".isq",
                                 [](const std::string& path) { isimdl::load_model(path); });
}
