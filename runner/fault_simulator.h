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
  // One fault on every image of [first, end): results[i] is run_fast(fault,
  // first + i), bit for bit. The images' changes that spread over whole
  // tensors are carried on together (DeltaPropagator's batch of jobs), up
  // to kBatchImages images at a time, so that they share each late layer's
  // GEMM and its weights are read once per batch instead of once per image.
  void run_fast(const FaultSite& fault, int first, int end, std::vector<FaultResult>& results);
  static constexpr int kBatchImages = 128;
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
  // The golden trace as the cache holds it: a batch copies the pointer to
  // keep its images' traces while the cache may drop them.
  const std::shared_ptr<const InferenceTrace>& golden_shared(int image);
  // The fault's effect on its layer's accumulators and outputs for one
  // image; false when that already decides r (a dead value, a detected fault).
  bool layer_change(const FaultSite& fault, int image, const InferenceTrace& golden, FaultResult& r, LayerChange& change);
  // Decides r when nothing left the layer or the tail is dense (set_incremental(false)); else false.
  bool finish_here(const FaultSite& fault, const InferenceTrace& g, const LayerChange& change, FaultResult& r);
  // r from the propagation's faulty logits and death layer.
  void finish_propagated(const InferenceTrace& g, const DeltaPropagator::Result& p, FaultResult& r);
  bool analytic_ = true;
  bool incremental_ = true;
  DeltaPropagator propagator_;
  // A batch's images whose change leaves the faulty layer.
  struct Pending {
    int index = 0;  // into the results
    std::shared_ptr<const InferenceTrace> golden;
    TensorDelta delta;
    DeltaPropagator::Result propagated;
  };
  std::vector<Pending> pending_;
  LayerChange change_;
  std::vector<FaultResult> one_;  // run_fast of one image
  std::vector<DeltaPropagator::Job> jobs_;
  std::int64_t propagated_macs_ = 0;
  template <typename T>
  struct Cached {
    T value;
    std::size_t bytes = 0;
    std::uint64_t used = 0;
  };
  std::map<int, Cached<std::shared_ptr<const InferenceTrace>>> golden_;
  std::map<std::pair<int, int>, Cached<std::unique_ptr<LayerOracle>>> contexts_;
  std::size_t budget_ = kDefaultCacheBudget;
  std::size_t golden_bytes_ = 0, context_bytes_ = 0;
  std::uint64_t clock_ = 0;
  std::map<int, std::shared_ptr<const LayerPlan>> plans_;
  InferenceTrace work_;
};

}  // namespace isimdl
