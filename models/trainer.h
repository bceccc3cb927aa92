#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/float_network.h"
#include "models/idx_reader.h"

namespace isimdl {

// MNIST images as float network inputs: pixel / 255, so that the int8
// input quantization (scale 1/255, zero point -128) is exact: q = pixel - 128.
std::vector<float> images_to_float(const IdxImages& images, int begin, int end);
QuantParams mnist_input_qparams();

enum class OptimizerKind { kSgd, kAdam };

struct TrainOptions {
  int epochs = 5;
  int batch = 64;
  OptimizerKind optimizer = OptimizerKind::kAdam;
  double learning_rate = 1e-3;
  double momentum = 0.9;        // SGD
  double weight_decay = 0.0;    // L2, both optimizers
  double lr_decay = 1.0;        // learning rate multiplied by this after every epoch
  std::uint64_t seed = 1;       // shuffling (initialisation is the caller's)
  int train_images = 0;         // use the first N training images; 0 = all
};

struct EpochReport {
  int epoch = 0;
  double mean_loss = 0.0;
  double train_accuracy = 0.0;
};

// Progress of a long run: called every `every` batches with (done, total).
using ProgressFn = std::function<void(int done, int total, double running_loss)>;

// Called before every training step's forward pass with the network and the
// step's training image indices; fills the perturbation the step's forward
// (and so its backward) pass applies (fault-aware training).
using PerturbFn = std::function<void(const FloatNetwork& net, const std::vector<int>& images, ForwardPerturbation& out)>;

// Trains in place with the options given; deterministic for a seed (one
// thread, fixed order of every floating-point sum). Fake quantization, when
// enabled on the network, makes this quantization-aware training.
std::vector<EpochReport> train(FloatNetwork& net, const MnistSplit& data, const TrainOptions& options,
                               const std::function<void(const EpochReport&)>& on_epoch = {},
                               const ProgressFn& progress = {}, const PerturbFn& perturb = {});

// Top-1 accuracy of the float network (with its fake quantization, if enabled)
// on images [begin, end).
double evaluate(const FloatNetwork& net, const MnistSplit& data, int begin, int end);

// Optimizers over a network's parameters.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void step(std::vector<LayerParams>& params, const std::vector<LayerParams>& grads) = 0;
  double learning_rate = 1e-3;
};
std::unique_ptr<Optimizer> make_optimizer(const TrainOptions& options);

}  // namespace isimdl
