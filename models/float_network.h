#pragma once

#include <cstdint>
#include <vector>

#include "models/architecture.h"
#include "models/quantization.h"

namespace isimdl {

// Weights of one Conv2d/Linear layer: weight [N][K] (K in the GEMM order of
// docs/quantization.md), bias [N]. Empty for layers without weights.
struct LayerParams {
  std::vector<float> weight;
  std::vector<float> bias;
};

// Fake quantization of the float network: the dequantized view of the int8
// model, with straight-through gradients. Used for quantization-aware
// fine-tuning and for the gradients the sensitivity analysis needs.
struct FakeQuantization {
  bool enabled = false;
  QuantParams input;
  // Per layer: whether its output is an int8 tensor of the quantized model
  // (false for a Conv2d/Linear whose ReLU is fused, for pooling and flatten,
  // whose outputs are already on the grid) and its quantization.
  std::vector<bool> quantize_output;
  std::vector<QuantParams> output;
};

// Everything a forward pass keeps for the backward pass of one batch.
struct ForwardPass {
  int batch = 0;
  std::vector<std::vector<float>> outputs;      // per layer, [batch][shape]
  std::vector<std::vector<float>> cols;         // Conv2d im2col per layer, [batch][K][M]
  std::vector<std::vector<std::int32_t>> argmax;  // MaxPool2d winners per layer
  std::vector<float> input;                     // [batch][input shape], after input fake quantization
  // With fake quantization: each quantized layer output before rounding (the
  // straight-through estimator passes gradients only where it was in range).
  std::vector<std::vector<float>> pre_quant;
  const std::vector<float>& logits() const { return outputs.back(); }
};

// Changes applied during one forward pass: fault-aware training applies the
// software-level equivalent of a hardware fault this way. `add` adds to a
// Conv2d/Linear layer's real-valued accumulator (its output before a fused
// ReLU and before quantization); `set` overwrites an element of a layer's
// output after its fake quantization. Elements index the layer's output of
// one sample ([C][H][W]). The backward pass runs through the perturbed
// values (an overwritten element's gradient still flows straight through).
struct ForwardPerturbation {
  struct Change {
    int sample = 0;
    int layer = 0;
    std::size_t element = 0;
    float value = 0;  // added (adds) or written (sets)
  };
  std::vector<Change> adds, sets;
  bool empty() const { return adds.empty() && sets.empty(); }
};

// Gradients of the loss with respect to activations of one batch.
struct ActivationGradients {
  std::vector<std::vector<float>> outputs;  // dL/d(layer output), per layer, [batch][shape]
  // dL/d(value before the output's quantization): for Conv2d/Linear the
  // real-valued pre-requantization accumulator (before a fused ReLU).
  std::vector<std::vector<float>> pre_quant;
  std::vector<float> input;  // dL/d(network input), [batch][input shape]
};

// The weights and biases a forward or backward pass multiplies by, per
// layer (FloatNetwork::effective_weight/effective_bias), computed once for
// passes that do not change the parameters in between: quantizing an
// 11 M-parameter network's weights per pass costs more than the pass.
struct EffectiveParams {
  std::vector<std::vector<float>> weight, bias;  // empty for layers without weights
};

// A float network over an Architecture, trained by backpropagation.
class FloatNetwork {
 public:
  FloatNetwork() = default;
  explicit FloatNetwork(Architecture arch);

  const Architecture& arch() const { return arch_; }
  std::vector<LayerParams>& params() { return params_; }
  const std::vector<LayerParams>& params() const { return params_; }
  std::vector<LayerParams>& grads() { return grads_; }
  FakeQuantization& fake_quant() { return fake_quant_; }
  const FakeQuantization& fake_quant() const { return fake_quant_; }

  // He-normal weights, zero biases, from a seed.
  void initialize(std::uint64_t seed);
  void zero_grads();

  // Forward pass of `batch` images (each arch().input_shape().size() floats).
  // `effective`, when given, must be effective_params() of the parameters
  // as they are now (the same bits as computing them per pass).
  void forward(const float* input, int batch, ForwardPass& pass, const ForwardPerturbation* perturbation = nullptr,
               const EffectiveParams* effective = nullptr) const;
  // Backward pass from dL/dlogits ([batch][classes]); adds the parameter
  // gradients to grads() and, when `activations` is given, stores dL/d(every
  // layer output) there.
  void backward(const ForwardPass& pass, const std::vector<float>& dlogits, ActivationGradients* activations,
                const EffectiveParams* effective = nullptr);

  // Weights as the int8 model holds them when fake quantization is enabled,
  // per output channel (per-channel symmetric); the float weights otherwise.
  std::vector<float> effective_weight(int layer) const;
  std::vector<float> effective_bias(int layer) const;
  EffectiveParams effective_params() const;

 private:
  Architecture arch_;
  std::vector<LayerParams> params_;
  std::vector<LayerParams> grads_;
  FakeQuantization fake_quant_;
};

// Mean softmax cross-entropy over a batch against `labels`; writes
// dL/dlogits into `dlogits`. Returns the loss.
double softmax_cross_entropy(const std::vector<float>& logits, const std::vector<int>& labels, int classes,
                             std::vector<float>& dlogits);

int argmax(const float* values, int count);

}  // namespace isimdl
