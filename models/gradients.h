#pragma once

#include <vector>

#include "models/idx_reader.h"
#include "models/quantized_model.h"

namespace isimdl {

// What the loss is measured against: the true label, or the int8 model's own
// golden top-1 prediction (needs no labels, only the model).
enum class LossTarget { kTrueLabel, kGoldenPrediction };

// Gradients of the mean cross-entropy of a batch, taken on the dequantized
// network with straight-through quantizers (models/quantized_model.h:
// dequantized_network). All in the real domain: multiply by a tensor's scale
// to get the gradient per integer step.
struct NetworkGradients {
  int batch = 0;
  std::vector<int> targets;  // the class each image's loss was taken against
  // dL/d(layer output), per layer, [batch][C][H][W].
  std::vector<std::vector<float>> activation;
  // dL/d(pre-requantization accumulator), Conv2d/Linear only (else empty),
  // per layer [batch][N][M], before a fused ReLU.
  std::vector<std::vector<float>> accumulator;
  // dL/d(weight) per layer [N][K] and dL/d(bias) [N], summed over the batch
  // (the loss is the batch mean).
  std::vector<std::vector<float>> weight;
  std::vector<std::vector<float>> bias;
};

NetworkGradients compute_gradients(const QuantizedModel& model, const MnistSplit& data, int begin, int end,
                                   LossTarget target);

// What compute_gradients prepares per model, prepared once for many calls
// (the sensitivity analysis takes one image at a time): the dequantized
// network, its effective weights, the engine for golden targets. run() gives
// the same bits as compute_gradients on the same images, except that the
// weight and bias gradients stay in weight_gradients() (NetworkGradients::
// weight and bias are left empty: 45 MB per image on a ResNet-18).
class GradientWorkspace {
 public:
  explicit GradientWorkspace(const QuantizedModel& model);
  const NetworkGradients& run(const MnistSplit& data, int begin, int end, LossTarget target);
  // Per layer, dL/d(weight) [N][K] and dL/d(bias) [N] of the last run().
  const std::vector<LayerParams>& weight_gradients() { return net_.grads(); }

 private:
  const QuantizedModel& model_;
  FloatNetwork net_;
  EffectiveParams effective_;
  ForwardPass pass_;
  ActivationGradients act_;
  std::vector<float> dlogits_;
  NetworkGradients result_;
};

}  // namespace isimdl
