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
    : accelerator_(accelerator), model_(model), data_(data), runner_(accelerator, model), propagator_(runner_.engine()) {}

namespace {

// Drops least recently used entries other than `keep` until `bytes` fits the budget.
template <typename Map, typename Key>
void evict(Map& cache, const Key& keep, std::size_t& bytes, std::size_t budget) {
  while (bytes > budget && cache.size() > 1) {
    auto victim = cache.end();
    for (auto it = cache.begin(); it != cache.end(); ++it)
      if (!(it->first == keep) && (victim == cache.end() || it->second.used < victim->second.used)) victim = it;
    bytes -= victim->second.bytes;
    cache.erase(victim);
  }
}

std::size_t trace_bytes(const InferenceTrace& t) {
  std::size_t n = t.input.size();
  for (const auto& a : t.acc) n += a.size() * sizeof(std::int32_t);
  for (const auto& o : t.out) n += o.size();
  return n;
}

}  // namespace

const InferenceTrace& FaultSimulator::golden(int image) { return *golden_shared(image); }

const std::shared_ptr<const InferenceTrace>& FaultSimulator::golden_shared(int image) {
  auto it = golden_.find(image);
  if (it != golden_.end()) {
    it->second.used = ++clock_;
    return it->second.value;
  }
  auto trace = std::make_shared<InferenceTrace>();
  runner_.engine().run(data_.images, image, *trace);
  auto& slot = golden_[image];
  slot.value = trace;
  slot.bytes = trace_bytes(*trace);
  slot.used = ++clock_;
  golden_bytes_ += slot.bytes;
  evict(golden_, image, golden_bytes_, budget_);
  return slot.value;
}

LayerOracle& FaultSimulator::context(int layer, int image) {
  const std::pair<int, int> key{layer, image};
  auto it = contexts_.find(key);
  if (it != contexts_.end()) {
    it->second.used = ++clock_;
    return *it->second.value;
  }
  auto& plan = plans_[layer];
  if (!plan) plan = make_layer_plan(model_, layer, accelerator_.config());
  auto& slot = contexts_[key];
  slot.value = make_layer_oracle(plan, golden(image));
  const GemmShape& g = plan->job.gemm;
  slot.bytes = slot.value->job.input.size() + static_cast<std::size_t>(g.m) * static_cast<std::size_t>(g.k) + sizeof(LayerOracle);
  slot.used = ++clock_;
  context_bytes_ += slot.bytes;
  evict(contexts_, key, context_bytes_, budget_);
  return *slot.value;
}

FaultResult FaultSimulator::run_fast(const FaultSite& fault, int image) {
  run_fast(fault, image, image + 1, one_);
  return std::move(one_.front());
}

void FaultSimulator::run_fast(const FaultSite& fault, int first, int end, std::vector<FaultResult>& results) {
  if (fault.layer < 0 || fault.layer >= model_.arch.size() || !model_.arch.has_weights(fault.layer))
    throw Error("fault layer " + std::to_string(fault.layer) + " is not a layer that runs on the array");
  if (first > end) throw Error(fmt::format("images [{}, {}): the first is past the end", first, end));
  // Reset in place: the logits keep their capacity from call to call.
  results.resize(static_cast<std::size_t>(end - first));
  for (FaultResult& r : results) {
    r.outcome = Outcome::kMasked;
    r.died = DeathPoint::kArray;
    r.top1 = -1;
    r.logits.clear();
    r.injection = InjectionRecord{};
  }
  for (int b0 = first; b0 < end; b0 += kBatchImages) {
    const int b1 = std::min(end, b0 + kBatchImages);
    // pending_[0, pending) is this batch's; the entries stay allocated from batch to batch.
    std::size_t pending = 0;
    for (int image = b0; image < b1; ++image) {
      FaultResult& r = results[static_cast<std::size_t>(image - first)];
      std::shared_ptr<const InferenceTrace> g = golden_shared(image);
      if (!layer_change(fault, image, *g, r, change_)) continue;
      if (finish_here(fault, *g, change_, r)) continue;
      if (pending_.size() == pending) pending_.emplace_back();
      Pending& p = pending_[pending++];
      p.index = image - first;
      p.golden = std::move(g);
      p.delta.clear();
      for (const auto& [e, v] : change_.out) p.delta.push(e, v);
    }
    if (pending == 0) continue;
    // Only what the change touches is recomputed (models/delta_propagation.h).
    jobs_.clear();
    for (std::size_t i = 0; i < pending; ++i)
      jobs_.push_back({pending_[i].golden.get(), fault.layer, &pending_[i].delta, &pending_[i].propagated});
    propagator_.propagate(jobs_);
    for (std::size_t i = 0; i < pending; ++i) {
      Pending& p = pending_[i];
      propagated_macs_ += p.propagated.macs;
      finish_propagated(*p.golden, p.propagated, results[static_cast<std::size_t>(p.index)]);
      p.golden.reset();  // the cache alone decides how long a trace is kept
    }
  }
}

bool FaultSimulator::layer_change(const FaultSite& fault, int image, const InferenceTrace& g, FaultResult& r,
                                  LayerChange& change) {
  const auto layer = static_cast<std::size_t>(fault.layer);
  change.acc.clear();
  change.out.clear();
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
        return false;
      }
      change = equivalent_change(eq, ctx.job, g.acc[layer], g.out[layer]);
      return true;
    }
  }
  work_ = g;  // layers before the faulty one hold exactly these values
  try {
    runner_.run_array_layer(fault.layer, work_, nullptr, &fault, &r.injection);
  } catch (const WatchdogError&) {
    r.outcome = Outcome::kDue;
    r.died = DeathPoint::kNotApplicable;
    return false;
  }
  for (std::size_t e = 0; e < g.acc[layer].size(); ++e)
    if (work_.acc[layer][e] != g.acc[layer][e]) change.acc.emplace_back(static_cast<std::int64_t>(e), work_.acc[layer][e]);
  for (std::size_t e = 0; e < g.out[layer].size(); ++e)
    if (work_.out[layer][e] != g.out[layer][e]) change.out.emplace_back(static_cast<std::int64_t>(e), work_.out[layer][e]);
  return true;
}

namespace {

// The death point a change that dies at layer l (ChangeLiveness) is reported at.
DeathPoint death_point_of(const Architecture& arch, int l) {
  switch (arch.layer(l).kind) {
    case LayerKind::kReLU:
    case LayerKind::kClip:
    case LayerKind::kLeakyReLU: return DeathPoint::kRelu;
    case LayerKind::kMaxPool2d:
    case LayerKind::kAvgPool2d: return DeathPoint::kPooling;
    default: return DeathPoint::kRequantization;
  }
}

}  // namespace

bool FaultSimulator::finish_here(const FaultSite& fault, const InferenceTrace& g, const LayerChange& change, FaultResult& r) {
  const auto layer = static_cast<std::size_t>(fault.layer);
  if (change.out.empty()) {
    // Nothing left the layer: the logits are golden.
    r.died = !change.acc.empty()           ? DeathPoint::kRequantization
             : is_array_side(fault.group) ? DeathPoint::kArray
                                          : DeathPoint::kAccumulator;
    if (r.died == DeathPoint::kRequantization && model_.layers[layer].fused_relu) {
      // Every corrupted accumulator requantizes to the zero point's clamp: the fused ReLU masked it.
      const QuantizedLayer& q = model_.layers[layer];
      const auto m_count = static_cast<std::int64_t>(model_.arch.gemm(fault.layer).m);
      const bool all_relu = std::all_of(change.acc.begin(), change.acc.end(), [&](const auto& ea) {
        const auto& mult = q.multiplier[static_cast<std::size_t>(ea.first / m_count)];
        return requantize(ea.second, mult, q.output.zero_point, false) <= q.output.zero_point &&
               requantize(g.acc[layer][static_cast<std::size_t>(ea.first)], mult, q.output.zero_point, false) <=
                   q.output.zero_point;
      });
      if (all_relu) r.died = DeathPoint::kRelu;
    }
    r.logits = g.logits();
    r.top1 = ReferenceEngine::top1(r.logits);
    r.outcome = Outcome::kMasked;
    return true;
  }
  if (incremental_) return false;
  // The dense tail: every later layer recomputed on a copy of the golden trace.
  work_ = g;
  for (const auto& [e, a] : change.acc) work_.acc[layer][static_cast<std::size_t>(e)] = a;
  for (const auto& [e, v] : change.out) work_.out[layer][static_cast<std::size_t>(e)] = v;
  runner_.engine().run_from(fault.layer + 1, work_);
  const int died = propagator_.liveness().dies_at(fault.layer, [&](int t) {
    return work_.out[static_cast<std::size_t>(t)] != g.out[static_cast<std::size_t>(t)];
  });
  DeltaPropagator::Result dense;
  dense.died = died;
  dense.logits = work_.logits();
  finish_propagated(g, dense, r);
  return true;
}

void FaultSimulator::finish_propagated(const InferenceTrace& g, const DeltaPropagator::Result& p, FaultResult& r) {
  r.died = p.died < 0 ? DeathPoint::kLogits : death_point_of(model_.arch, p.died);
  r.logits = p.logits;
  r.top1 = ReferenceEngine::top1(r.logits);
  r.outcome = classify(g.logits(), r.logits);
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
