#pragma once

#include <string>

#include "models/quantized_model.h"

namespace isimdl {

// The isimdl model file (.isq), version 1; docs/models.md describes every
// byte. Little-endian:
//   magic "ISIMDLQM" | u32 version | u64 payload bytes | u32 CRC-32 of payload | payload
// The payload holds the name, the architecture in text form, the input
// quantization, per layer its output quantization and (Conv2d/Linear) int8
// weights, weight scales, int32 biases and requantization multipliers, or
// (Add) its multipliers; then, optionally, the float weights.
inline constexpr std::uint32_t kModelFileVersion = 1;

void save_model(const QuantizedModel& model, const std::string& path);  // writes atomically
// Throws FormatError naming the file and what is wrong: missing, wrong
// magic, unsupported version, truncated, checksum mismatch, shapes that
// disagree with the architecture, values out of range.
QuantizedModel load_model(const std::string& path);

}  // namespace isimdl
