#pragma once

#include <cstdint>
#include <vector>

#include "models/reference_engine.h"

namespace isimdl {

// The elements of one int8 tensor that differ from their golden values, with
// their faulty values; each element at most once, in no particular order.
struct TensorDelta {
  std::vector<std::int32_t> element;
  std::vector<std::int8_t> value;

  bool empty() const { return element.empty(); }
  std::size_t size() const { return element.size(); }
  void clear() {
    element.clear();
    value.clear();
  }
  void push(std::int64_t e, std::int8_t v) {
    element.push_back(static_cast<std::int32_t>(e));
    value.push_back(v);
  }
};

// Where a change to the tensors of a network stops (the "where masked"
// bookkeeping of campaigns): after layer l, the change is dead when none of
// the tensors that differ from golden, among layers up to l, is read by a
// layer after l (the network's last tensor, the logits, counts as read).
// For a chain of layers that is the first layer whose output is golden; on
// a residual network a change that dies on one branch but lives on in the
// skip connection is still alive.
class ChangeLiveness {
 public:
  explicit ChangeLiveness(const Architecture& arch);
  // The last layer that reads tensor t (the network size for the logits).
  int last_reader(int t) const { return last_reader_[static_cast<std::size_t>(t)]; }
  // True when some tensor in `changed` (layer indices) is read after layer l.
  bool alive_after(int l, const std::vector<int>& changed) const;
  // The first layer l >= from after which the change is dead, given which
  // layer outputs differ from golden (changed(t)); -1 when it reaches the logits.
  template <typename Changed>
  int dies_at(int faulty_layer, Changed&& changed) const {
    std::vector<int> live;
    for (int l = faulty_layer; l < static_cast<int>(last_reader_.size()); ++l) {
      if (changed(l)) live.push_back(l);
      if (!alive_after(l, live)) return l;
    }
    return -1;
  }

 private:
  std::vector<int> last_reader_;
};

// Carries the change of one layer's int8 output to the logits, recomputing
// only what it touches. A Conv2d or Linear layer whose input changed takes
// the cheapest of three exact ways:
//   delta   each changed input element changes the accumulators of the
//           outputs whose window covers it by (faulty - golden) * weight
//           (int32, wrapping, exactly as the dense sum would:
//           docs/quantization.md), then those are requantized — cheapest
//           for few changes and for depthwise convolutions;
//   region  the output pixels (GEMM rows) whose window covers a changed
//           element are recomputed with the library GEMM on their im2col
//           rows of the faulty input — a changed region a few kernels wide;
//   dense   the whole layer, as the engine runs it.
// Pointwise layers, pooling windows, Add and Concat recompute only the
// elements whose inputs changed. Every recomputed value is compared with
// golden and only those that differ are carried on; the propagation stops
// when the change is dead (ChangeLiveness).
// A change that has spread over a large share of a tensor (kWholeShare;
// kAuto only) is carried on whole: the tensor is held as a full faulty copy
// and every layer reading it is computed whole by the engine, compared with
// golden as one block — per-element bookkeeping would cost more than the
// layer.
//
// Exact: gives the faulty logits ReferenceEngine::run_from computes on a
// copy of the golden trace with the change applied, on every change
// (tests/test_delta_propagation.cpp). Not thread-safe: one per worker.
class DeltaPropagator {
 public:
  // kAuto picks per layer by an estimate of the work (library GEMM MACs
  // counted kGemmSpeedup times cheaper than scattered updates); the others
  // force one way where it applies (tests run all four).
  enum class Strategy { kAuto, kDelta, kRegion, kDense };
  static constexpr double kGemmSpeedup = 32.0;
  // A region gathers its rows from a copy of the faulty input when its
  // changed elements' scattered writes (count x kernel taps) would cost more
  // than copying the input, one scattered write counted as this many bytes.
  static constexpr double kScatterPerCopiedByte = 16.0;
  // kAuto holds a layer output whole once more than this share of it differs.
  static constexpr double kWholeShare = 0.25;
  explicit DeltaPropagator(const ReferenceEngine& engine, Strategy strategy = Strategy::kAuto);

  struct Result {
    std::vector<std::int8_t> logits;  // the faulty logits
    int died = -1;                    // ChangeLiveness::dies_at; -1: the change reached the logits
    int delta_layers = 0;             // Conv2d/Linear layers updated by accumulator deltas
    int region_layers = 0;            // ... by recomputing the changed rows
    int region_copies = 0;            // ... of which gathered from a copy of the faulty input
    int dense_layers = 0;             // ... recomputed whole
    int whole_layers = 0;             // layers of any kind computed whole because an input was held whole
    // Multiply-accumulates the recomputation performed: scattered updates
    // of the delta way, GEMM MACs of regions and of Conv2d/Linear layers
    // computed whole (a measure of the work against an inference's).
    std::int64_t macs = 0;
    // The layer from which the change was carried on as a dense tail (every
    // tensor it still changed held whole), computed together with the
    // other jobs' tails; -1 when it died or reached the logits before.
    int tail_from = -1;
  };
  // `changed`: the elements of golden.out[layer] the fault changed (not
  // empty; each differing from golden).
  void propagate(const InferenceTrace& golden, int layer, const TensorDelta& changed, Result& result);

  // One change of a batch: its image's golden trace, the layer it changed,
  // the changed elements (as above) and where its result goes.
  struct Job {
    const InferenceTrace* golden = nullptr;
    int layer = 0;
    const TensorDelta* changed = nullptr;
    Result* result = nullptr;
  };
  // Several changes at once — one fault on each of a campaign's images.
  // Each is carried on as propagate() carries it until every tensor it
  // still changes is held whole; from there its tail is the engine's dense
  // computation of every layer that reads a changed tensor, and the tails
  // of all jobs run layer by layer together (ReferenceEngine::
  // compute_layers: one GEMM over all of their columns, the weights read
  // once). The same results as one job at a time; propagate() is a batch
  // of one.
  void propagate(const std::vector<Job>& jobs);

  const ChangeLiveness& liveness() const { return liveness_; }

 private:
  const ReferenceEngine& engine_;
  const QuantizedModel& model_;
  ChangeLiveness liveness_;
  Strategy strategy_;
  // Per layer, computed once: the tensors it reads and its im2col map.
  std::vector<std::vector<int>> inputs_;
  std::vector<Im2col> im2col_;
  // Per layer output: its delta, and an overlay (stamp == epoch_: value in
  // over_) so that a faulty value is read in O(1) without copying golden.
  std::vector<TensorDelta> delta_;
  std::vector<std::vector<std::uint32_t>> stamp_;
  std::vector<std::vector<std::int8_t>> over_;
  std::uint32_t epoch_ = 0;
  // Scratch for one layer: which outputs are touched (mark_ == mark_epoch_),
  // their accumulated accumulator change, in touch order.
  std::vector<std::uint32_t> mark_;
  std::uint32_t mark_epoch_ = 0;
  std::vector<std::uint32_t> acc_delta_;
  std::vector<std::int32_t> touched_;
  // Which input pixels a layer's touched rows were collected from.
  std::vector<std::uint32_t> pixel_mark_;
  std::uint32_t pixel_epoch_ = 0;
  // Region and dense recomputation scratch.
  std::vector<std::int8_t> rows_;
  std::vector<std::int32_t> row_of_;  // GEMM row m -> its row in rows_
  std::vector<std::int32_t> region_acc_;
  std::vector<std::int8_t> region_out_;
  std::vector<std::vector<std::int8_t>> dense_in_;
  std::vector<std::int32_t> dense_acc_;
  // Per layer output held whole (whole_[t] == epoch_): its faulty values in full_[t].
  std::vector<std::uint32_t> whole_;
  std::vector<std::vector<std::int8_t>> full_;

  // A job whose change is held whole: what its dense tail needs.
  struct Tail {
    const InferenceTrace* golden = nullptr;
    Result* result = nullptr;
    int from = 0;           // its first layer
    std::vector<int> live;  // layers whose output differs (ChangeLiveness)
    // Per layer output: its faulty values when they differ from golden, else empty.
    std::vector<std::vector<std::int8_t>> faulty;
    bool done = false;
  };
  std::vector<Tail> tails_;
  std::vector<std::vector<std::int8_t>> tail_out_;
  // Carries one job's change until it dies, reaches the logits, or is held
  // whole everywhere it is still read (then appends its Tail to tails_).
  void propagate_sparse(const Job& job);
  // True when every changed tensor read at layer l or later is held whole.
  bool only_whole_from(int l, const std::vector<int>& live) const;
  void run_tails();

  void set(int t, std::int64_t e, std::int8_t v);
  std::int8_t read(const InferenceTrace& golden, int t, std::int64_t e) const;
  void next_mark();
  bool touch(std::int32_t e);
  void gemm_layer(const InferenceTrace& golden, int l, Result& result);
  // Computes layer l whole from its faulty inputs into full_[l]; holds it
  // whole when it differs from golden.
  void whole_layer(const InferenceTrace& golden, int l, Result& result);
  // Golden layer output t with its delta written in, into `out`.
  void faulty_copy(const InferenceTrace& golden, int t, std::vector<std::int8_t>& out) const;
  // kAuto: holds layer l's output whole when its delta covers more than kWholeShare of it.
  void hold_whole_if_wide(const InferenceTrace& golden, int l);
  bool is_whole(int t) const { return t >= 0 && whole_[static_cast<std::size_t>(t)] == epoch_; }
  bool differs(int t) const { return is_whole(t) || (t >= 0 && !delta_[static_cast<std::size_t>(t)].empty()); }
  void region_layer(const InferenceTrace& golden, int l, Result& result);
  void delta_layer(const InferenceTrace& golden, int l);
  // The layer's input tensor j, faulty: full_ when held whole, dense_in_[j]
  // when changed, golden's when unchanged.
  const std::vector<std::int8_t>& faulty_input(const InferenceTrace& golden, int l, std::size_t j);
};

}  // namespace isimdl
