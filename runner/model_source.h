#pragma once

#include <string>
#include <vector>

#include "models/float_network.h"
#include "models/idx_reader.h"
#include "models/quantized_model.h"
#include "config/config.h"

namespace isimdl {

// Number of training images an on-the-fly ONNX import calibrates on.
inline constexpr int kDefaultCalibrationImages = 1000;

// One split ("train" or "t10k") of the configured dataset (DatasetConfig):
// the IDX files of MNIST or Fashion-MNIST, or the .npy file (both splits),
// with the dataset's mean/std applied. Throws FormatError naming the file.
MnistSplit load_split(const DatasetConfig& dataset, const std::string& split);

// Post-training quantization of an imported float network (docs/models.md):
// per-channel weights, per-tensor activations calibrated on the first
// `count` images of `calibration`; the input quantization is calibrated too
// (MNIST-style byte images without normalization get scale 1/255, zero
// point -128: exact). The float weights are kept for fault-aware training.
// What `given` holds (a QDQ model's own quantization) is kept; when it
// covers every tensor, nothing is calibrated. `notes` gets every place where
// the int8 engine cannot keep a given quantization.
QuantizedModel quantize_imported(const FloatNetwork& net, const MnistSplit& calibration, int count,
                                 const QuantizationOverrides& given = {}, std::vector<std::string>* notes = nullptr);

// The model a command names: a zoo name, an isimdl model file (.isq), or an
// ONNX file (.onnx) imported and quantized on the fly, calibrated on the
// dataset's training split. Throws Error when the model's input is not what
// the dataset's images are, before any work.
QuantizedModel open_model(const std::string& name_or_path, const DatasetConfig& dataset,
                          std::vector<std::string>* notes = nullptr);

// The test split, checked against the model's input; images without labels
// (an .npy without labels) get the model's fault-free top-1 as their label
// (accuracy is then agreement with the golden output).
MnistSplit open_test_set(const DatasetConfig& dataset, const QuantizedModel& model);

// Gives every unlabelled image (an .npy without labels) the model's
// fault-free top-1 as its label.
void label_with_golden_predictions(const QuantizedModel& model, MnistSplit& data);

// The training split, checked and labelled like open_test_set (fault-aware
// training on unlabelled images learns to keep the golden predictions).
MnistSplit open_train_set(const DatasetConfig& dataset, const QuantizedModel& model);

// Throws Error unless the dataset's images fit the model's input.
void check_model_input(const Architecture& arch, const IdxImages& images, const std::string& model_name,
                       const std::string& dataset_name);

}  // namespace isimdl
