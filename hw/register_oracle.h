#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "hw/fault_site.h"
#include "hw/fold_schedule.h"
#include "hw/layer_job.h"
#include "models/reference_engine.h"

namespace isimdl {

// Answers, from a layer's schedule and operands alone (no simulation), what
// every array register holds after a given rising edge, and what changing
// that value does to the layer's final accumulators: contract 3 ("the
// schedule's answer to what register X holds at cycle t matches the model").
//
// Partial-sum path (pe_psum, deskew, accumulator, output_stage): values are
// only ever added to, so a change reaches exactly one output's final
// accumulator, unchanged. Operand path (pe_a, pe_valid, pe_propagate, skew):
// the vector's remaining MACs in that row use the changed operand, tag or
// weight register. Weights (pe_w0, pe_w1): every MAC that reads the
// register before its next latch. Weight path (pe_d): the value is latched
// into a weight register if a latch catches it on its way down. The fault
// simulator uses this to classify these faults without simulating; SRAM
// buffer words are not covered.
//
// Cycle numbering as in docs/traces.md: "after edge e" is the state a fault at
// cycle e acts on.
//
// Each answer comes from the register's kind (hw/register_kind.h): this class
// holds the layer and the fault-free values every kind reads.
class RegisterOracle {
 public:
  RegisterOracle(const LayerJob& job, const LayerSchedule& schedule);

  // The changes to final accumulators when register (group, index) holds
  // `after` instead of value(...) after edge `cycle`. Any group; always empty
  // for output_buffer words, which hold int8 outputs, not accumulators.
  struct Change {
    int m = 0;
    int n = 0;
    std::int32_t delta = 0;  // int32, wrapping
  };
  std::vector<Change> effect(RegisterGroup group, std::int64_t index, std::int64_t cycle, std::int64_t after) const;

  // The value register (group, index) holds after edge `cycle` in a
  // fault-free run.
  std::int64_t value(RegisterGroup group, std::int64_t index, std::int64_t cycle) const;

  // Which tensor element(s) register (group, index) holds after edge
  // `cycle`, in GEMM coordinates (docs/quantization.md: A[m][k] activations,
  // W[n][k] weights, output (m, n)).
  struct Holding {
    enum class Kind {
      kNothing,      // idle: the register holds no element (zero after reset, or a dead value)
      kActivation,   // A[m][k] (pe_a; pe_valid / pe_propagate / skew: its tags)
      kWeight,       // W[n][k] (pe_w0 / pe_w1 / pe_d)
      kPartialSum,   // sum over k in [k, k + terms) of A[m][k] * W[n][k] (pe_psum, deskew)
      kAccumulator,  // bias[n] + sum over k in [0, terms) (accumulator, output_stage)
      kInputWord,    // ifmap_buffer: the layer input element `element` (C x H x W order)
      kOutputWord,   // output_buffer: the int8 output (m, n), once written
    };
    Kind kind = Kind::kNothing;
    std::int64_t element = -1;  // kInputWord
    int m = -1, n = -1, k = -1, terms = 0;
    int fold = -1;  // the fold the element belongs to (for operand tags of a row beyond K: the fold it streams in)
    int drain = 0;  // output-stationary: the drain tag travelling with it (pe_propagate, skew bit 9)
  };
  Holding holds(RegisterGroup group, std::int64_t index, std::int64_t cycle) const;

  // Final accumulator of output (m, n) (bias included), [n][m] layout.
  std::int32_t final_acc(int m, int n) const;
  // Its int8 output after requantization.
  std::int8_t final_out(int m, int n) const;
  // The edge at which the output stage writes output (m, n) into the output
  // buffer; a word changed after it keeps the change to the end of the layer.
  std::int64_t output_write_edge(int m, int n) const;

  // What the register kinds (hw/kinds/) build their answers from: the
  // layer, its schedule and fold timing, and the values and MACs of the
  // fault-free run.
  const LayerJob& job() const { return job_; }
  const LayerSchedule& schedule() const { return schedule_; }
  const FoldTiming& at() const { return at_; }
  int rows() const { return rows_; }
  int cols() const { return cols_; }
  // Activation A[m][k] (im2col of the layer input).
  std::int32_t activation(int m, int k) const { return a_[static_cast<std::size_t>(m) * job_.gemm.k + static_cast<std::size_t>(k)]; }
  // The streamed operand of vector v and the stationary operand of column
  // index j at k (LayerSchedule: WS A[v][k] and W[j][k], IS W[v][k] and A[j][k]).
  std::int32_t stream_value(int v, int k) const;
  std::int32_t stationary_value(int j, int k) const;
  // The change of vector v and column index j's output.
  Change change(int v, int j, std::int32_t delta) const { return Change{schedule_.m_of(v, j), schedule_.n_of(v, j), delta}; }
  // What a register holding the streamed operand of vector v (the
  // stationary operand of column index j) at k holds, in tensor terms.
  Holding stream_holding(int v, int k, int fold) const;
  Holding stationary_holding(int j, int k, int fold) const;

  // The fold and vector whose operand row entered the skew input at
  // schedule cycle t_feed, if any.
  struct Slot {
    const Fold* fold = nullptr;
    int i = 0;
  };
  Slot slot_at(std::int64_t t_feed) const;
  // Sum over rows [0, rows) of fold f for vector i, column c (no bias).
  std::int32_t partial(const Fold& f, int i, int c, int rows) const;
  // The column-c sum result row i of fold f leaves the array with (what the
  // accumulator adds): the K-slice's partial sum, or output-stationary's
  // whole sum.
  std::int32_t result_sum(const Fold& f, int i, int c) const;
  // Accumulator word value after fold f's access with its result row i
  // (the tile's row: weight- and input-stationary), column c.
  std::int32_t word_after(std::size_t fold_index, int i, int c) const;
  // The fold and fold row whose weight is fed into the top of the d path in
  // schedule cycle t, if any.
  std::pair<const Fold*, int> weight_fed_at(std::int64_t t) const;
  // Weight register w_p of PE(r, c) after edge x: the weight the last latch
  // into it (at or before x) wrote.
  std::int32_t weight_register(int r, int c, int p, std::int64_t x) const;
  // The stationary value fold f preloads into row r, column c (0 outside the fold).
  std::int32_t fold_weight(const Fold& f, int r, int c) const;
  // The operand (a, valid, propagate) of row r of the vector fed at t_feed.
  struct Operand {
    std::int32_t a = 0;
    int valid = 0;
    int propagate = 0;
  };
  Operand operand(const Slot& slot, int r) const;
  // MAC contributions of row r of the vector fed at t_feed, columns
  // [first_col, C), with the operand `was` replaced by `now`.
  void row_change(std::int64_t t_feed, int r, int first_col, const Operand& was, const Operand& now,
                  std::vector<Change>& out) const;
  // Every MAC reading w_p of PE(r, c) after edge e up to its next latch,
  // with the weight changed by `delta_w`.
  void weight_change(int r, int c, int p, std::int64_t e, std::int32_t delta_w, std::vector<Change>& out) const;
  // Every MAC of every read of ifmap word `word` after edge e, the word changed by `delta`.
  void ifmap_change(std::int64_t word, std::int64_t e, std::int32_t delta, std::vector<Change>& out) const;
  // Every MAC of every read of weight W[n][k] after edge e, changed by `delta`.
  void weight_word_change(int n, int k, std::int64_t e, std::int32_t delta, std::vector<Change>& out) const;
  // The same for a streamed operand (read when its vector is fed) and a
  // stationary one (read in its preload cycle), by the dataflow's roles.
  void stream_word_change(int v, int k, std::int64_t e, std::int32_t delta, std::vector<Change>& out) const;
  void stationary_word_change(int j, int k, std::int64_t e, std::int32_t delta, std::vector<Change>& out) const;

 private:
  const LayerJob& job_;
  const LayerSchedule& schedule_;
  const FoldTiming& at_;
  int rows_, cols_;
  std::vector<std::int8_t> a_;  // im2col, [M][K]
};

// What the oracles of one layer share across images: the job without its
// input (the weights held once, SharedArray) and the schedule.
struct LayerPlan {
  LayerJob job;  // input: zeros
  LayerSchedule schedule;
};
std::shared_ptr<const LayerPlan> make_layer_plan(const QuantizedModel& model, int layer, const ArrayConfig& array);

// A layer's job on one image (operands from a golden trace), its schedule and
// register oracle, built together because the oracle refers to the other two.
struct LayerOracle {
  LayerOracle(std::shared_ptr<const LayerPlan> plan, const std::vector<std::int8_t>& input);
  LayerOracle(const LayerOracle&) = delete;
  LayerOracle& operator=(const LayerOracle&) = delete;
  std::shared_ptr<const LayerPlan> plan;
  LayerJob job;                    // the plan's job with this image's input
  const LayerSchedule& schedule;   // the plan's
  std::unique_ptr<RegisterOracle> oracle;
};
std::unique_ptr<LayerOracle> make_layer_oracle(const QuantizedModel& model, int layer, const InferenceTrace& golden,
                                               const ArrayConfig& array);
// The same from a plan built once for every image of the layer.
std::unique_ptr<LayerOracle> make_layer_oracle(std::shared_ptr<const LayerPlan> plan, const InferenceTrace& golden);

}  // namespace isimdl
