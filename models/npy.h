#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace isimdl {

// A NumPy .npy array (format versions 1.0-3.0, C order, little-endian):
// float32, float64, uint8, int32 or int64, converted to doubles on read.
struct NpyArray {
  std::vector<std::int64_t> shape;
  std::string dtype;  // as the header says, e.g. "<f4", "|u1"
  std::vector<double> values;
  std::size_t count() const { return values.size(); }
};

// Throws FormatError naming the file and what is wrong (bad magic, header,
// dtype, Fortran order, size that does not match the shape, truncation).
NpyArray read_npy(const std::string& path);

// Writes a float32 array (isimdl infer --outputs).
void write_npy_float32(const std::string& path, const std::vector<std::int64_t>& shape, const std::vector<float>& values);

}  // namespace isimdl
