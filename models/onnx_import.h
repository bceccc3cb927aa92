#pragma once

#include <string>
#include <vector>

#include "models/float_network.h"
#include "models/quantized_model.h"

namespace isimdl {

// A float network read from an ONNX file (docs/models.md, "Importing ONNX"):
// its architecture and float weights, BatchNormalization folded, constant
// shape subgraphs evaluated, and what the import did that a user should know
// (a trailing Softmax dropped, a BatchNormalization kept as an affine).
// A QDQ model (QuantizeLinear/DequantizeLinear pairs) also brings its own
// quantization: the float weights are the dequantized int8 ones, and
// `quantization` holds the scales, zero points, int8 weights and int32 biases
// to keep.
struct ImportedNetwork {
  FloatNetwork net;
  std::vector<std::string> notes;
  QuantizationOverrides quantization;
};

// The ONNX operators the importer understands, comma-separated.
const std::string& supported_onnx_ops();

// Reads `path` with the official ONNX protobuf schema. Throws FormatError
// naming the file for a malformed or truncated file, and Error naming the
// node, its op type and the supported ops for anything it cannot represent.
ImportedNetwork import_onnx(const std::string& path);

}  // namespace isimdl
