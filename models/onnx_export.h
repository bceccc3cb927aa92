#pragma once

#include <string>

#include "models/float_network.h"

namespace isimdl {

// Writes the float network (for instance after `isimdl fat`) as an ONNX model
// (opset 13, IR version 7): input "input" of shape batch x C x H x W with a
// dynamic batch dimension, output "logits". Grouped convolutions get their
// per-group weights back ([Cout][Cin/g][kh][kw]); a Linear reading a 4-D
// tensor gets a Flatten first. import_onnx() of the file gives a network with
// identical parameters and outputs (docs/models.md). Throws Error when the
// file cannot be written.
void export_onnx(const FloatNetwork& net, const std::string& path);

}  // namespace isimdl
