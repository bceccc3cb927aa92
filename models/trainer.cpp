#include "models/trainer.h"

#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <numeric>

#include "models/error.h"
#include "models/random.h"

namespace isimdl {
namespace {

class SgdMomentum : public Optimizer {
 public:
  SgdMomentum(double momentum, double weight_decay) : momentum_(momentum), weight_decay_(weight_decay) {}
  void step(std::vector<LayerParams>& params, const std::vector<LayerParams>& grads) override {
    if (velocity_.empty()) {
      velocity_ = grads;
      for (auto& v : velocity_) std::fill(v.weight.begin(), v.weight.end(), 0.0f), std::fill(v.bias.begin(), v.bias.end(), 0.0f);
    }
    for (std::size_t l = 0; l < params.size(); ++l) {
      update(params[l].weight, grads[l].weight, velocity_[l].weight, weight_decay_);
      update(params[l].bias, grads[l].bias, velocity_[l].bias, 0.0);
    }
  }

 private:
  void update(std::vector<float>& p, const std::vector<float>& g, std::vector<float>& v, double decay) const {
    const auto lr = static_cast<float>(learning_rate), mu = static_cast<float>(momentum_), wd = static_cast<float>(decay);
    for (std::size_t i = 0; i < p.size(); ++i) {
      v[i] = mu * v[i] + g[i] + wd * p[i];
      p[i] -= lr * v[i];
    }
  }
  double momentum_, weight_decay_;
  std::vector<LayerParams> velocity_;
};

class Adam : public Optimizer {
 public:
  explicit Adam(double weight_decay) : weight_decay_(weight_decay) {}
  void step(std::vector<LayerParams>& params, const std::vector<LayerParams>& grads) override {
    if (m_.empty()) {
      m_ = grads;
      for (auto& v : m_) std::fill(v.weight.begin(), v.weight.end(), 0.0f), std::fill(v.bias.begin(), v.bias.end(), 0.0f);
      v_ = m_;
    }
    ++t_;
    const double c1 = 1.0 - std::pow(kBeta1, t_), c2 = 1.0 - std::pow(kBeta2, t_);
    const auto step_size = static_cast<float>(learning_rate * std::sqrt(c2) / c1);
    for (std::size_t l = 0; l < params.size(); ++l) {
      update(params[l].weight, grads[l].weight, m_[l].weight, v_[l].weight, step_size, weight_decay_);
      update(params[l].bias, grads[l].bias, m_[l].bias, v_[l].bias, step_size, 0.0);
    }
  }

 private:
  static constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8;
  static void update(std::vector<float>& p, const std::vector<float>& g, std::vector<float>& m, std::vector<float>& v,
                     float step_size, double decay) {
    const auto b1 = static_cast<float>(kBeta1), b2 = static_cast<float>(kBeta2), eps = static_cast<float>(kEps),
               wd = static_cast<float>(decay);
    for (std::size_t i = 0; i < p.size(); ++i) {
      const float gi = g[i] + wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) + eps);
    }
  }
  double weight_decay_;
  int t_ = 0;
  std::vector<LayerParams> m_, v_;
};

}  // namespace

std::unique_ptr<Optimizer> make_optimizer(const TrainOptions& options) {
  std::unique_ptr<Optimizer> opt;
  if (options.optimizer == OptimizerKind::kSgd)
    opt = std::make_unique<SgdMomentum>(options.momentum, options.weight_decay);
  else
    opt = std::make_unique<Adam>(options.weight_decay);
  opt->learning_rate = options.learning_rate;
  return opt;
}

QuantParams mnist_input_qparams() { return QuantParams{1.0f / 255.0f, -128}; }

std::vector<float> images_to_float(const IdxImages& images, int begin, int end) {
  const std::size_t n = images.image_size();
  std::vector<float> out(n * static_cast<std::size_t>(end - begin));
  for (int i = begin; i < end; ++i) images.input(i, out.data() + static_cast<std::size_t>(i - begin) * n);
  return out;
}

std::vector<EpochReport> train(FloatNetwork& net, const MnistSplit& data, const TrainOptions& options,
                               const std::function<void(const EpochReport&)>& on_epoch, const ProgressFn& progress,
                               const PerturbFn& perturb) {
  const int n = options.train_images > 0 ? std::min(options.train_images, data.images.count) : data.images.count;
  if (n <= 0) throw Error("train: no training images");
  const Shape in = net.arch().input_shape();
  if (data.images.image_size() != in.size())
    throw Error("train: image size does not match the network input " + to_string(in));
  const int classes = net.arch().num_classes();
  for (int i = 0; i < n; ++i)
    if (data.labels[static_cast<std::size_t>(i)] >= classes)
      throw Error(fmt::format("train: training image {} has label {}, the network has {} classes{}", i,
                              data.labels[static_cast<std::size_t>(i)], classes,
                              data.labels[static_cast<std::size_t>(i)] == kUnlabelled ? " (an unlabelled image)" : ""));
  const std::vector<float> inputs = images_to_float(data.images, 0, n);
  auto optimizer = make_optimizer(options);
  Random random(options.seed);
  std::vector<int> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::vector<EpochReport> reports;
  ForwardPass pass;
  std::vector<float> batch_input, dlogits;
  std::vector<int> labels, indices;
  ForwardPerturbation perturbation;
  const int batches = (n + options.batch - 1) / options.batch;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    for (int i = n - 1; i > 0; --i)  // Fisher-Yates with the project's generator
      std::swap(order[static_cast<std::size_t>(i)], order[random.uniform_below(static_cast<std::uint64_t>(i) + 1)]);
    double loss_sum = 0.0;
    int correct = 0;
    for (int b = 0; b < batches; ++b) {
      const int first = b * options.batch, count = std::min(options.batch, n - first);
      batch_input.resize(in.size() * count);
      labels.resize(static_cast<std::size_t>(count));
      for (int s = 0; s < count; ++s) {
        const int idx = order[static_cast<std::size_t>(first + s)];
        std::copy(inputs.begin() + static_cast<std::ptrdiff_t>(in.size() * idx),
                  inputs.begin() + static_cast<std::ptrdiff_t>(in.size() * (idx + 1)),
                  batch_input.begin() + static_cast<std::ptrdiff_t>(in.size() * s));
        labels[static_cast<std::size_t>(s)] = data.labels[static_cast<std::size_t>(idx)];
      }
      if (perturb) {
        indices.assign(order.begin() + first, order.begin() + first + count);
        perturbation = ForwardPerturbation{};
        perturb(net, indices, perturbation);
      }
      net.forward(batch_input.data(), count, pass, perturb ? &perturbation : nullptr);
      loss_sum += softmax_cross_entropy(pass.logits(), labels, classes, dlogits) * count;
      for (int s = 0; s < count; ++s)
        correct += argmax(pass.logits().data() + static_cast<std::size_t>(s) * classes, classes) == labels[static_cast<std::size_t>(s)];
      net.zero_grads();
      net.backward(pass, dlogits, nullptr);
      optimizer->step(net.params(), net.grads());
      if (progress && ((b + 1) % 100 == 0 || b + 1 == batches)) progress(b + 1, batches, loss_sum / (first + count));
    }
    EpochReport report{epoch, loss_sum / n, static_cast<double>(correct) / n};
    reports.push_back(report);
    if (on_epoch) on_epoch(report);
    optimizer->learning_rate *= options.lr_decay;
  }
  return reports;
}

double evaluate(const FloatNetwork& net, const MnistSplit& data, int begin, int end) {
  const int classes = net.arch().num_classes();
  ForwardPass pass;
  int correct = 0;
  const int chunk = 256;
  for (int first = begin; first < end; first += chunk) {
    const int last = std::min(end, first + chunk);
    const std::vector<float> inputs = images_to_float(data.images, first, last);
    net.forward(inputs.data(), last - first, pass);
    for (int s = 0; s < last - first; ++s)
      correct += argmax(pass.logits().data() + static_cast<std::size_t>(s) * classes, classes) ==
                 data.labels[static_cast<std::size_t>(first + s)];
  }
  return static_cast<double>(correct) / (end - begin);
}

}  // namespace isimdl
