#pragma once

#include <string>
#include <vector>

#include "models/architecture.h"

namespace isimdl {

// The model zoo: architectures by name, and where their trained int8 files
// live (models/zoo/<name>.isq). docs/models.md gives the command that
// retrains each one and its measured accuracy.
const std::vector<std::string>& zoo_names();
Architecture zoo_architecture(const std::string& name);  // throws Error for an unknown name

// Resolves a model argument: a zoo name maps to `<zoo_dir>/<name>.isq`,
// anything else is taken as a path.
std::string resolve_model_path(const std::string& model, const std::string& zoo_dir);

// models/zoo of the source tree this binary was built from.
std::string default_zoo_dir();

}  // namespace isimdl
