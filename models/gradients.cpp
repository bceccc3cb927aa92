#include "models/gradients.h"

#include "models/error.h"
#include "models/reference_engine.h"
#include "models/trainer.h"

namespace isimdl {

NetworkGradients compute_gradients(const QuantizedModel& model, const MnistSplit& data, int begin, int end,
                                   LossTarget target) {
  if (begin < 0 || end > data.images.count || begin >= end)
    throw Error("compute_gradients: image range " + std::to_string(begin) + ":" + std::to_string(end) +
                " is outside the " + std::to_string(data.images.count) + " images");
  NetworkGradients result;
  result.batch = end - begin;
  if (target == LossTarget::kTrueLabel) {
    for (int i = begin; i < end; ++i) result.targets.push_back(data.labels[static_cast<std::size_t>(i)]);
  } else {
    ReferenceEngine engine(model);
    InferenceTrace trace;
    for (int i = begin; i < end; ++i) {
      engine.run(data.images, i, trace);
      result.targets.push_back(ReferenceEngine::top1(trace.logits()));
    }
  }
  FloatNetwork net = dequantized_network(model);
  const std::vector<float> inputs = images_to_float(data.images, begin, end);
  ForwardPass pass;
  net.forward(inputs.data(), result.batch, pass);
  std::vector<float> dlogits;
  softmax_cross_entropy(pass.logits(), result.targets, model.arch.num_classes(), dlogits);
  net.zero_grads();
  ActivationGradients act;
  net.backward(pass, dlogits, &act);
  result.activation = std::move(act.outputs);
  result.accumulator.resize(static_cast<std::size_t>(model.arch.size()));
  result.weight.resize(static_cast<std::size_t>(model.arch.size()));
  result.bias.resize(static_cast<std::size_t>(model.arch.size()));
  for (int li = 0; li < model.arch.size(); ++li) {
    if (!model.arch.has_weights(li)) continue;
    const auto i = static_cast<std::size_t>(li);
    result.accumulator[i] = std::move(act.pre_quant[i]);
    result.weight[i] = net.grads()[i].weight;
    result.bias[i] = net.grads()[i].bias;
  }
  return result;
}

}  // namespace isimdl
