#include "models/gradients.h"

#include "models/error.h"
#include "models/reference_engine.h"
#include "models/trainer.h"

namespace isimdl {

namespace {

void check_range(const MnistSplit& data, int begin, int end) {
  if (begin < 0 || end > data.images.count || begin >= end)
    throw Error("compute_gradients: image range " + std::to_string(begin) + ":" + std::to_string(end) +
                " is outside the " + std::to_string(data.images.count) + " images");
}

}  // namespace

GradientWorkspace::GradientWorkspace(const QuantizedModel& model)
    : model_(model), net_(dequantized_network(model)), effective_(net_.effective_params()) {}

const NetworkGradients& GradientWorkspace::run(const MnistSplit& data, int begin, int end, LossTarget target) {
  check_range(data, begin, end);
  NetworkGradients& result = result_;
  result.batch = end - begin;
  result.targets.clear();
  if (target == LossTarget::kTrueLabel) {
    for (int i = begin; i < end; ++i) result.targets.push_back(data.labels[static_cast<std::size_t>(i)]);
  } else {
    ReferenceEngine engine(model_);
    InferenceTrace trace;
    for (int i = begin; i < end; ++i) {
      engine.run(data.images, i, trace);
      result.targets.push_back(ReferenceEngine::top1(trace.logits()));
    }
  }
  const std::vector<float> inputs = images_to_float(data.images, begin, end);
  net_.forward(inputs.data(), result.batch, pass_, nullptr, &effective_);
  softmax_cross_entropy(pass_.logits(), result.targets, model_.arch.num_classes(), dlogits_);
  net_.zero_grads();
  net_.backward(pass_, dlogits_, &act_, &effective_);
  result.activation.swap(act_.outputs);
  result.accumulator.resize(static_cast<std::size_t>(model_.arch.size()));
  result.weight.clear();
  result.bias.clear();
  for (int li = 0; li < model_.arch.size(); ++li) {
    const auto i = static_cast<std::size_t>(li);
    if (model_.arch.has_weights(li))
      result.accumulator[i].swap(act_.pre_quant[i]);
    else
      result.accumulator[i].clear();
  }
  return result;
}

NetworkGradients compute_gradients(const QuantizedModel& model, const MnistSplit& data, int begin, int end,
                                   LossTarget target) {
  check_range(data, begin, end);
  GradientWorkspace workspace(model);
  NetworkGradients result = workspace.run(data, begin, end, target);
  result.weight.resize(static_cast<std::size_t>(model.arch.size()));
  result.bias.resize(static_cast<std::size_t>(model.arch.size()));
  for (int li = 0; li < model.arch.size(); ++li) {
    if (!model.arch.has_weights(li)) continue;
    const auto i = static_cast<std::size_t>(li);
    result.weight[i] = workspace.weight_gradients()[i].weight;
    result.bias[i] = workspace.weight_gradients()[i].bias;
  }
  return result;
}

}  // namespace isimdl
