#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hw/accelerator.h"
#include "hw/fault_site.h"
#include "hw/fold_schedule.h"
#include "hw/register_oracle.h"
#include "hw/fault_equivalent.h"
#include "models/delta_propagation.h"
#include "models/idx_reader.h"
#include "models/quantized_model.h"
#include "runner/network_runner.h"

namespace isimdl {

// What the application sees of one fault on one image.
enum class Outcome {
  kMasked,     // logits bit-identical to golden
  kSdcBenign,  // logits differ, top-1 the same
  kSdcTop1,    // top-1 changed (golden top-1 still in the top 5)
  kSdcTop5,    // golden top-1 not in the faulty top 5
  kDue,        // detected: the watchdog fired (or the controller saw an inconsistency)
};
const char* to_string(Outcome outcome);
inline constexpr int kOutcomeCount = 5;

// Where the error stopped propagating (kLogits: it did not).
enum class DeathPoint { kArray, kAccumulator, kRequantization, kRelu, kPooling, kLogits, kNotApplicable };
const char* to_string(DeathPoint point);
inline constexpr int kDeathPointCount = 7;

struct FaultResult {
  Outcome outcome = Outcome::kMasked;
  DeathPoint died = DeathPoint::kArray;
  int top1 = -1;
  std::vector<std::int8_t> logits;  // empty for kDue
  InjectionRecord injection;
};

// Classifies faulty logits against golden ones.
Outcome classify(const std::vector<std::int8_t>& golden, const std::vector<std::int8_t>& faulty);

// Runs faults against cached golden values. The fast path simulates only the
// faulty layer cycle by cycle, starting from the golden values of the layers
// before it, and carries a corrupted output to the logits on the reference
// engine; the full path re-simulates the whole inference on the accelerator
// with the fault injected. Contract 2: both give the same outcome and the
// same faulty logits (tests/test_fault_simulator.cpp).
class FaultSimulator {
 public:
  FaultSimulator(Accelerator& accelerator, const QuantizedModel& model, const MnistSplit& data);

  // Golden trace of an image, computed once (reference engine == accelerator
  // by contract 1) and kept while the cache budget allows.
  const InferenceTrace& golden(int image);
  // Golden traces and per-(layer, image) oracle contexts are kept within
  // this many bytes each (default 1 GiB): past it the least recently used
  // are dropped and recomputed when needed again, so memory stays bounded
  // however many images a campaign has; results do not depend on it.
  void set_cache_budget(std::size_t bytes) { budget_ = bytes; }
  static constexpr std::size_t kDefaultCacheBudget = std::size_t{1} << 30;
  // Multiply-accumulates the fast path's propagations have recomputed so
  // far (DeltaPropagator::Result::macs summed): against an inference's
  // MACs, the share of the network an evaluation recomputes.
  std::int64_t propagated_macs() const { return propagated_macs_; }
  // Bytes the caches hold now.
  std::size_t cached_bytes() const { return golden_bytes_ + context_bytes_; }
  FaultResult run_fast(const FaultSite& fault, int image);
  // Analytic classification of the fast path is on by default; off, every
  // fault is simulated (the benchmark compares the two).
  void set_analytic(bool on) { analytic_ = on; }
  // A corrupted layer output is carried to the logits incrementally
  // (models/delta_propagation.h) by default; off, every later layer is
  // recomputed densely (the referee of tests/test_delta_propagation.cpp).
  void set_incremental(bool on) { incremental_ = on; }
  FaultResult run_full(const FaultSite& fault, int image);

 private:
  Accelerator& accelerator_;
  const QuantizedModel& model_;
  const MnistSplit& data_;
  NetworkRunner runner_;
  // What the fast path needs of a faulty layer for one image, built once.
  LayerOracle& context(int layer, int image);
  FaultResult finish(const FaultSite& fault, int image, const LayerChange& change, FaultResult r);
  bool analytic_ = true;
  bool incremental_ = true;
  DeltaPropagator propagator_;
  TensorDelta delta_;
  DeltaPropagator::Result propagated_;
  std::int64_t propagated_macs_ = 0;
  template <typename T>
  struct Cached {
    T value;
    std::size_t bytes = 0;
    std::uint64_t used = 0;
  };
  std::map<int, Cached<InferenceTrace>> golden_;
  std::map<std::pair<int, int>, Cached<std::unique_ptr<LayerOracle>>> contexts_;
  std::size_t budget_ = kDefaultCacheBudget;
  std::size_t golden_bytes_ = 0, context_bytes_ = 0;
  std::uint64_t clock_ = 0;
  std::map<int, std::shared_ptr<const LayerPlan>> plans_;
  InferenceTrace work_;
};

}  // namespace isimdl
