#pragma once

#include <string>
#include <vector>

#include "models/architecture.h"

namespace isimdl {

// The model zoo: models by name, the dataset each was trained on, and where
// their int8 files live (models/zoo/<name>.isq). lenet5, cnn-small and mlp
// are trained by isimdl itself (`isimdl train`, architectures below);
// resnet8 and mobilenet-tiny by PyTorch (scripts/zoo/train_fashion_zoo.py),
// imported from models/zoo/<name>.onnx. docs/models.md gives the command
// that retrains each one and its measured accuracy.
const std::vector<std::string>& zoo_names();
// "mnist" or "fashion-mnist" for a zoo name; empty for anything else.
std::string zoo_dataset(const std::string& name);
// True for the zoo models isimdl trains itself (zoo_architecture knows them).
bool zoo_trained_by_isimdl(const std::string& name);
// Throws Error for an unknown name, and for an imported zoo model (its
// architecture is in its model file).
Architecture zoo_architecture(const std::string& name);

// Resolves a model argument: a zoo name maps to `<zoo_dir>/<name>.isq`,
// anything else is taken as a path.
std::string resolve_model_path(const std::string& model, const std::string& zoo_dir);

// models/zoo of the source tree this binary was built from.
std::string default_zoo_dir();

}  // namespace isimdl
