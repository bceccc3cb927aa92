#pragma once

#include <string>
#include <vector>

#include "models/float_network.h"
#include "models/idx_reader.h"
#include "models/quantized_model.h"

namespace isimdl {

// Number of MNIST training images an on-the-fly ONNX import calibrates on.
inline constexpr int kDefaultCalibrationImages = 1000;

// Post-training quantization of an imported float network (docs/models.md):
// per-channel weights, per-tensor activations calibrated on the first
// `count` images of `calibration`, MNIST input quantization (scale 1/255,
// zero point -128). The float weights are kept for fault-aware training.
QuantizedModel quantize_imported(const FloatNetwork& net, const MnistSplit& calibration, int count);

// The model a command names: a zoo name, an isimdl model file (.isq), or an
// ONNX file (.onnx) imported and quantized on the fly, calibrated on the
// MNIST training images in `data_dir`. Throws Error when the model's input is
// not what the dataset holds (1 x 28 x 28 MNIST images), before any work.
QuantizedModel open_model(const std::string& name_or_path, const std::string& data_dir,
                          std::vector<std::string>* notes = nullptr);

// Throws Error unless images of the dataset fit the model's input.
void check_model_input(const Architecture& arch, const IdxImages& images, const std::string& model_name);

}  // namespace isimdl
