#include "runner/fault_simulator.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "hw/fault_equivalent.h"
#include "models/error.h"

namespace isimdl {
namespace {

const char* kOutcomeNames[] = {"masked", "sdc_benign", "sdc_top1", "sdc_top5", "due"};
const char* kDeathNames[] = {"array", "accumulator", "requantization", "relu", "pooling", "logits", "n/a"};

std::vector<int> ranking(const std::vector<std::int8_t>& logits) {
  std::vector<int> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return logits[static_cast<std::size_t>(a)] > logits[static_cast<std::size_t>(b)];
  });
  return order;
}

bool is_array_side(RegisterGroup g) { return register_info(g).array_side; }

}  // namespace

const char* to_string(Outcome outcome) { return kOutcomeNames[static_cast<int>(outcome)]; }
const char* to_string(DeathPoint point) { return kDeathNames[static_cast<int>(point)]; }

Outcome classify(const std::vector<std::int8_t>& golden, const std::vector<std::int8_t>& faulty) {
  if (golden == faulty) return Outcome::kMasked;
  const int golden_top1 = ranking(golden).front();
  const std::vector<int> order = ranking(faulty);
  if (order.front() == golden_top1) return Outcome::kSdcBenign;
  const std::size_t top = std::min<std::size_t>(5, order.size());
  if (std::find(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(top), golden_top1) ==
      order.begin() + static_cast<std::ptrdiff_t>(top))
    return Outcome::kSdcTop5;
  return Outcome::kSdcTop1;
}

FaultSimulator::FaultSimulator(Accelerator& accelerator, const QuantizedModel& model, const MnistSplit& data)
    : accelerator_(accelerator), model_(model), data_(data), runner_(accelerator, model) {}

const InferenceTrace& FaultSimulator::golden(int image) {
  auto it = golden_.find(image);
  if (it != golden_.end()) return it->second;
  InferenceTrace& trace = golden_[image];
  runner_.engine().run(data_.images, image, trace);
  return trace;
}

LayerOracle& FaultSimulator::context(int layer, int image) {
  auto& slot = contexts_[{layer, image}];
  if (!slot) slot = make_layer_oracle(model_, layer, golden(image), accelerator_.config());
  return *slot;
}

FaultResult FaultSimulator::run_fast(const FaultSite& fault, int image) {
  const InferenceTrace& g = golden(image);
  FaultResult r;
  const auto layer = static_cast<std::size_t>(fault.layer);
  if (fault.layer < 0 || fault.layer >= model_.arch.size() || !model_.arch.has_weights(fault.layer))
    throw Error("fault layer " + std::to_string(fault.layer) + " is not a layer that runs on the array");
  if (analytic_) {
    // The fault's software-level equivalent (hw/fault_equivalent.h): its
    // exact effect on the layer's accumulators and outputs, without
    // simulating. Multi-edge stuck-at faults have none and are simulated.
    LayerOracle& ctx = context(fault.layer, image);
    const FaultEquivalent eq = fault_equivalent(ctx, fault);
    if (eq.expressible) {
      r.injection = eq.injection;
      if (eq.dead()) {
        // Dead value: the layer, and so the logits, stay golden.
        r.died = is_array_side(fault.group) ? DeathPoint::kArray : DeathPoint::kAccumulator;
        r.logits = g.logits();
        r.top1 = ReferenceEngine::top1(r.logits);
        return r;
      }
      work_ = g;
      apply_equivalent(eq, ctx.job, work_.acc[layer], work_.out[layer]);
      return finish(fault, image, r);
    }
  }
  work_ = g;  // layers before the faulty one hold exactly these values
  try {
    runner_.run_array_layer(fault.layer, work_, nullptr, &fault, &r.injection);
  } catch (const WatchdogError&) {
    r.outcome = Outcome::kDue;
    r.died = DeathPoint::kNotApplicable;
    return r;
  }
  return finish(fault, image, r);
}

FaultResult FaultSimulator::finish(const FaultSite& fault, int image, FaultResult r) {
  const InferenceTrace& g = golden(image);
  const auto layer = static_cast<std::size_t>(fault.layer);
  if (work_.out[layer] == g.out[layer]) {
    // Nothing left the layer: the logits are golden.
    r.died = work_.acc[layer] != g.acc[layer] ? DeathPoint::kRequantization
             : is_array_side(fault.group)      ? DeathPoint::kArray
                                               : DeathPoint::kAccumulator;
    if (r.died == DeathPoint::kRequantization && model_.layers[layer].fused_relu) {
      // Every corrupted accumulator requantizes to the zero point's clamp: the fused ReLU masked it.
      bool all_relu = true;
      const QuantizedLayer& q = model_.layers[layer];
      const int m_count = model_.arch.gemm(fault.layer).m;
      for (std::size_t e = 0; e < g.acc[layer].size() && all_relu; ++e)
        if (work_.acc[layer][e] != g.acc[layer][e]) {
          const auto& mult = q.multiplier[e / static_cast<std::size_t>(m_count)];
          all_relu = requantize(work_.acc[layer][e], mult, q.output.zero_point, false) <= q.output.zero_point &&
                     requantize(g.acc[layer][e], mult, q.output.zero_point, false) <= q.output.zero_point;
        }
      if (all_relu) r.died = DeathPoint::kRelu;
    }
    r.logits = g.logits();
    r.top1 = ReferenceEngine::top1(r.logits);
    r.outcome = Outcome::kMasked;
    return r;
  }
  runner_.engine().run_from(fault.layer + 1, work_);
  r.died = DeathPoint::kLogits;
  for (int l = fault.layer + 1; l < model_.arch.size(); ++l)
    if (work_.out[static_cast<std::size_t>(l)] == g.out[static_cast<std::size_t>(l)]) {
      const LayerKind kind = model_.arch.layer(l).kind;
      const bool activation = kind == LayerKind::kReLU || kind == LayerKind::kClip || kind == LayerKind::kLeakyReLU;
      r.died = activation                                                             ? DeathPoint::kRelu
               : (kind == LayerKind::kMaxPool2d || kind == LayerKind::kAvgPool2d) ? DeathPoint::kPooling
                                                                                   : DeathPoint::kRequantization;
      break;
    }
  r.logits = work_.logits();
  r.top1 = ReferenceEngine::top1(r.logits);
  r.outcome = classify(g.logits(), r.logits);
  return r;
}

FaultResult FaultSimulator::run_full(const FaultSite& fault, int image) {
  const InferenceTrace& g = golden(image);
  FaultResult r;
  InferenceTrace trace;
  try {
    runner_.run(data_.images, image, trace, nullptr, &fault, &r.injection);
  } catch (const WatchdogError&) {
    r.outcome = Outcome::kDue;
    r.died = DeathPoint::kNotApplicable;
    return r;
  }
  r.logits = trace.logits();
  r.top1 = ReferenceEngine::top1(r.logits);
  r.outcome = classify(g.logits(), r.logits);
  return r;
}

}  // namespace isimdl
