#include "campaign/fault_aware_training.h"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <map>

#include "campaign/campaign.h"
#include "campaign/progress.h"
#include "hw/accelerator.h"
#include "hw/fault_equivalent.h"
#include "runner/fault_simulator.h"
#include "hw/register_oracle.h"
#include "models/error.h"
#include "models/random.h"
#include "models/reference_engine.h"

namespace isimdl {

bool add_fault_perturbation(const QuantizedModel& q, const FakeQuantization& fq, const ArrayConfig& array,
                            const FaultSite& fault, int sample, const IdxImages& images, int image, ForwardPerturbation& out) {
  return add_fault_perturbation(ReferenceEngine(q), q, fq, array, fault, sample, images, image, out);
}

bool add_fault_perturbation(const ReferenceEngine& engine, const QuantizedModel& q, const FakeQuantization& fq,
                            const ArrayConfig& array, const FaultSite& fault, int sample, const IdxImages& images,
                            int image, ForwardPerturbation& out) {
  const int l = fault.layer;
  const auto li = static_cast<std::size_t>(l);
  const float s_in = q.tensor_qparams(q.arch.layer(l).input).scale;
  // The layer holding the int8 output tensor (the ReLU after a fused one).
  const int out_layer = fq.quantize_output[li] ? l : l + 1;
  const QuantParams out_q = fq.output[static_cast<std::size_t>(out_layer)];
  InferenceTrace trace;
  engine.run(images, image, trace);
  const auto ctx = make_layer_oracle(q, l, trace, array);
  const FaultEquivalent eq = fault_equivalent(*ctx, fault);
  if (!eq.expressible) throw Error("fault-aware training: " + eq.not_expressible);
  if (eq.dead()) return false;
  const int M = ctx->job.gemm.m;
  std::map<std::size_t, std::int64_t> sums;
  for (const auto& c : eq.accumulators)
    sums[static_cast<std::size_t>(c.n) * static_cast<std::size_t>(M) + static_cast<std::size_t>(c.m)] += c.delta;
  bool changed = !eq.outputs.empty();
  for (const auto& [e, d] : sums) {
    const std::int32_t golden = trace.acc[li][e];
    const auto faulty = static_cast<std::int32_t>(static_cast<std::uint32_t>(golden) + static_cast<std::uint32_t>(d));
    const double delta = static_cast<double>(faulty) - golden;
    if (delta == 0) continue;
    changed = true;
    const std::size_t n = e / static_cast<std::size_t>(M);
    out.adds.push_back({sample, l, e, static_cast<float>(delta * s_in * q.layers[li].weight_scale[n])});
  }
  for (const auto& w : eq.outputs)
    out.sets.push_back({sample, out_layer,
                        static_cast<std::size_t>(w.n) * static_cast<std::size_t>(M) + static_cast<std::size_t>(w.m),
                        dequantize(w.value, out_q)});
  return changed;
}

QuantizedModel fault_aware_training(const QuantizedModel& model, const ArrayConfig& array,
                                    const std::vector<FaultSite>& faults, const MnistSplit& train_set,
                                    const FatOptions& options, const std::function<void(const EpochReport&)>& on_epoch,
                                    const ProgressFn& progress, FatStepStats* stats) {
  if (faults.empty()) throw Error("fault-aware training needs at least one fault");
  for (const FaultSite& f : faults) {
    if (f.layer < 0 || f.layer >= model.arch.size() || !model.arch.has_weights(f.layer))
      throw Error(fmt::format("fault in layer {}: not a layer that runs on the array", f.layer));
    // Checked before any training: only single-edge faults have an equivalent.
    if ((f.kind == FaultKind::kStuckAt0 || f.kind == FaultKind::kStuckAt1) && f.duration > 1)
      throw Error(fmt::format("fault-aware training: a stuck-at fault held for {} edges (layer {} {}[{}]) has no "
                              "software-level equivalent; use single-edge faults",
                              f.duration, f.layer, register_info(f.group).group_name, f.index));
  }
  FloatNetwork net = dequantized_network(model);
  const FakeQuantization fq = net.fake_quant();
  Random random(options.train.seed ^ 0xfa7);
  FatStepStats local;
  FatStepStats& s = stats ? *stats : local;
  auto perturb = [&](const FloatNetwork& current, const std::vector<int>& images, ForwardPerturbation& out) {
    ++s.steps;
    if (random.uniform01() >= options.fault_probability) return;
    ++s.faulty_steps;
    const FaultSite& fault = faults[random.uniform_below(faults.size())];
    // The int8 model the current weights quantize to: the one whose
    // registers the fault hits in this step.
    const QuantizedModel q = quantize_network(current, fq);
    const ReferenceEngine engine(q);
    for (std::size_t b = 0; b < images.size(); ++b)
      s.images_changed += add_fault_perturbation(engine, q, fq, array, fault, static_cast<int>(b),
                                                 train_set.images, images[b], out);
  };
  train(net, train_set, options.train, on_epoch, progress, perturb);
  return quantize_network(net, fq);
}

double FaultAccuracy::mean() const {
  double s = 0;
  for (double v : under) s += v;
  return under.empty() ? 0 : s / static_cast<double>(under.size());
}

double FaultAccuracy::min() const {
  double m = 1;
  for (double v : under) m = std::min(m, v);
  return m;
}

FaultAccuracy measure_fault_accuracy(const Config& config, const QuantizedModel& model, const MnistSplit& data,
                                     const std::vector<FaultSite>& faults, bool show_progress) {
  Accelerator& accelerator = shared_accelerator();
  accelerator.configure(config.array);
  FaultSimulator simulator(accelerator, model, data);
  FaultAccuracy a;
  const int golden = golden_correct(simulator, data, config.images);
  a.clean = static_cast<double>(golden) / config.images.size();
  Progress line(std::cerr, "faults evaluated", static_cast<std::int64_t>(faults.size()), show_progress);
  for (std::size_t i = 0; i < faults.size(); ++i) {
    a.under.push_back(evaluate_fault(simulator, data, config, golden, static_cast<std::int64_t>(i), faults[i]).accuracy);
    line.update(static_cast<std::int64_t>(i + 1));
  }
  return a;
}

}  // namespace isimdl
