#pragma once

#include <string>
#include <vector>

#include "models/gradients.h"
#include "models/idx_reader.h"
#include "models/quantized_model.h"

namespace isimdl {

// ISimDL's sensitivity of one layer: the mean over a calibration set of
// |dL_i/dx| (the loss of image i alone) for every element of its output
// activation, its pre-requantization accumulator (Conv2d/Linear) and its
// weights (Conv2d/Linear, W[n][k]). Real domain, as models/gradients.h.
struct LayerSensitivity {
  std::vector<float> activation;   // [C][H][W]
  std::vector<float> accumulator;  // [N][M]
  std::vector<float> weight;       // [N][K]
};

// Needs nothing but the model and images: the loss is taken against the
// int8 model's own golden prediction unless `target` says otherwise.
std::vector<LayerSensitivity> compute_sensitivity(const QuantizedModel& model, const MnistSplit& data, int begin,
                                                  int end, LossTarget target = LossTarget::kGoldenPrediction);

// CSV: layer,kind,tensor,index,mean_abs_grad (tensor: activation,
// accumulator, weight), one row per element.
void write_sensitivity_csv(const std::string& path, const QuantizedModel& model,
                           const std::vector<LayerSensitivity>& sensitivity);

}  // namespace isimdl
