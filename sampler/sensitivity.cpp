#include "sampler/sensitivity.h"

#include <fmt/format.h>

#include <cmath>
#include <sstream>

#include "models/atomic_file.h"
#include "models/error.h"

namespace isimdl {
namespace {

void accumulate_abs(std::vector<float>& sum, const std::vector<float>& grad, float scale) {
  if (sum.empty()) sum.assign(grad.size(), 0.0f);
  for (std::size_t i = 0; i < grad.size(); ++i) sum[i] += std::fabs(grad[i]) * scale;
}

}  // namespace

std::vector<LayerSensitivity> compute_sensitivity(const QuantizedModel& model, const MnistSplit& data, int begin,
                                                  int end, LossTarget target) {
  if (begin < 0 || end > data.images.count || begin >= end)
    throw Error(fmt::format("sensitivity: images {}:{} outside the {} images", begin, end, data.images.count));
  std::vector<LayerSensitivity> sums(static_cast<std::size_t>(model.arch.size()));
  const float inv = 1.0f / static_cast<float>(end - begin);
  // One image at a time: the mean of |gradient| needs each image's own
  // gradient (a batch would sum the weight gradients before the absolute value).
  GradientWorkspace workspace(model);
  for (int i = begin; i < end; ++i) {
    const NetworkGradients& g = workspace.run(data, i, i + 1, target);
    for (std::size_t l = 0; l < sums.size(); ++l) {
      accumulate_abs(sums[l].activation, g.activation[l], inv);
      if (!g.accumulator[l].empty()) accumulate_abs(sums[l].accumulator, g.accumulator[l], inv);
      const std::vector<float>& weight = workspace.weight_gradients()[l].weight;
      if (!weight.empty()) accumulate_abs(sums[l].weight, weight, inv);
    }
  }
  return sums;
}

void write_sensitivity_csv(const std::string& path, const QuantizedModel& model,
                           const std::vector<LayerSensitivity>& sensitivity) {
  std::ostringstream out;
  out << "layer,kind,tensor,index,mean_abs_grad\n";
  for (std::size_t l = 0; l < sensitivity.size(); ++l) {
    const char* kind = to_string(model.arch.layer(static_cast<int>(l)).kind);
    const auto emit = [&](const char* tensor, const std::vector<float>& values) {
      for (std::size_t i = 0; i < values.size(); ++i) out << l << ',' << kind << ',' << tensor << ',' << i << ',' << values[i] << '\n';
    };
    emit("activation", sensitivity[l].activation);
    emit("accumulator", sensitivity[l].accumulator);
    emit("weight", sensitivity[l].weight);
  }
  write_file_atomically(path, out.str());
}

}  // namespace isimdl
