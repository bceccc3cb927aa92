#include "hw/register_oracle.h"

#include <fmt/format.h>

#include <tuple>
#include <utility>

#include "hw/register_kind.h"
#include "models/error.h"
#include "models/reference_engine.h"

namespace isimdl {


RegisterOracle::RegisterOracle(const LayerJob& job, const LayerSchedule& schedule)
    : job_(job), schedule_(schedule), at_(schedule.at), rows_(schedule.rows), cols_(schedule.cols) {
  const GemmShape g = job.gemm;
  a_.resize(static_cast<std::size_t>(g.m) * g.k);
  im2col_s8(job.input.data(), job.im2col, g, job.input_zero_point, a_.data());
}

std::int32_t RegisterOracle::stream_value(int v, int k) const {
  const std::size_t i = static_cast<std::size_t>(v) * job_.gemm.k + static_cast<std::size_t>(k);
  return schedule_.input_stationary() ? job_.weight[i] : a_[i];
}

std::int32_t RegisterOracle::stationary_value(int j, int k) const {
  const std::size_t i = static_cast<std::size_t>(j) * job_.gemm.k + static_cast<std::size_t>(k);
  return schedule_.input_stationary() ? a_[i] : job_.weight[i];
}

namespace {

// A register holding operand element (index, k): an activation A[index][k]
// or a weight W[index][k].
RegisterOracle::Holding operand_element(bool activation, int index, int k, int fold) {
  RegisterOracle::Holding h;
  h.kind = activation ? RegisterOracle::Holding::Kind::kActivation : RegisterOracle::Holding::Kind::kWeight;
  (activation ? h.m : h.n) = index;
  h.k = k;
  h.fold = fold;
  return h;
}

}  // namespace

RegisterOracle::Holding RegisterOracle::stream_holding(int v, int k, int fold) const {
  return operand_element(!schedule_.input_stationary(), v, k, fold);
}

RegisterOracle::Holding RegisterOracle::stationary_holding(int j, int k, int fold) const {
  return operand_element(schedule_.input_stationary(), j, k, fold);
}

std::int32_t RegisterOracle::fold_weight(const Fold& f, int r, int c) const {
  if (r >= f.k_count || c >= f.c_count) return 0;
  return stationary_value(f.c0 + c, f.k0 + r);
}

std::int32_t RegisterOracle::weight_register(int r, int c, int p, std::int64_t x) const {
  const Fold* last = nullptr;
  for (const Fold& f : schedule_.folds)
    if ((f.index & 1) == p && at_.latch(f) <= x) last = &f;
  return last ? fold_weight(*last, r, c) : 0;
}

RegisterOracle::Operand RegisterOracle::operand(const Slot& s, int r) const {
  Operand o;
  if (!s.fold) return o;
  o.propagate = s.fold->index & 1;
  if (r < s.fold->k_count) {
    o.valid = 1;
    o.a = stream_value(s.fold->v0 + s.i, s.fold->k0 + r);
  }
  return o;
}

void RegisterOracle::row_change(std::int64_t t_feed, int r, int first_col, const Operand& was, const Operand& now,
                                std::vector<Change>& out) const {
  const Slot s = slot_at(t_feed);
  if (!s.fold) return;  // an idle slot's sums are never accumulated
  for (int c = first_col; c < std::min(cols_, s.fold->c_count); ++c) {
    const std::int64_t mac_edge = at_.pe_edge(t_feed, r, c);  // reads the weight register before this edge's latch
    const std::int32_t before = was.valid ? was.a * weight_register(r, c, was.propagate, mac_edge - 1) : 0;
    const std::int32_t after = now.valid ? now.a * weight_register(r, c, now.propagate, mac_edge - 1) : 0;
    if (before != after)
      out.push_back(change(s.fold->v0 + s.i, s.fold->c0 + c,
                           static_cast<std::int32_t>(static_cast<std::uint32_t>(after) - static_cast<std::uint32_t>(before))));
  }
}

void RegisterOracle::weight_change(int r, int c, int p, std::int64_t e, std::int32_t delta_w,
                                   std::vector<Change>& out) const {
  std::int64_t next_latch = INT64_MAX;
  for (const Fold& f : schedule_.folds)
    if ((f.index & 1) == p && at_.latch(f) > e) {
      next_latch = at_.latch(f);
      break;
    }
  for (const Fold& f : schedule_.folds) {
    if ((f.index & 1) != p || r >= f.k_count || c >= f.c_count) continue;
    for (int i = 0; i < f.vectors; ++i) {
      const std::int64_t mac_edge = at_.pe_edge(FoldTiming::feed(f, i), r, c);
      if (mac_edge <= e) continue;
      if (mac_edge > next_latch) break;
      const std::int32_t a = stream_value(f.v0 + i, f.k0 + r);
      if (a != 0) out.push_back(change(f.v0 + i, f.c0 + c, a * delta_w));
    }
  }
}

RegisterOracle::Holding RegisterOracle::holds(RegisterGroup group, std::int64_t index, std::int64_t e) const {
  return register_kind(group, schedule_.dataflow).holds(*this, index, e);
}

std::int64_t RegisterOracle::value(RegisterGroup group, std::int64_t index, std::int64_t e) const {
  return register_kind(group, schedule_.dataflow).value(*this, index, e);
}

std::vector<RegisterOracle::Change> RegisterOracle::effect(RegisterGroup group, std::int64_t index, std::int64_t e,
                                                           std::int64_t after) const {
  std::vector<Change> out;
  const std::int64_t before = value(group, index, e);
  if (before != after) register_kind(group, schedule_.dataflow).effect(*this, index, e, before, after, out);
  return out;
}

void RegisterOracle::stream_word_change(int v, int k, std::int64_t e, std::int32_t delta, std::vector<Change>& out) const {
  // Read again by every column slice, when the vector enters the array.
  for (const Fold& f : schedule_.folds) {
    if (v < f.v0 || v >= f.v0 + f.vectors || k < f.k0 || k >= f.k0 + f.k_count) continue;
    if (FoldTiming::feed(f, v - f.v0) <= e) continue;  // read (at the edge of its feed cycle) before the fault
    for (int c = 0; c < f.c_count; ++c) {
      const std::int32_t w = stationary_value(f.c0 + c, k);
      if (w != 0) out.push_back(change(v, f.c0 + c, w * delta));
    }
  }
}

void RegisterOracle::stationary_word_change(int j, int k, std::int64_t e, std::int32_t delta, std::vector<Change>& out) const {
  // Read once per fold that holds (j, k), at the preload cycle of its row.
  for (const Fold& f : schedule_.folds) {
    if (j < f.c0 || j >= f.c0 + f.c_count || k < f.k0 || k >= f.k0 + f.k_count) continue;
    if (at_.weight_feed(f, k - f.k0) <= e) continue;
    for (int i = 0; i < f.vectors; ++i) {
      const std::int32_t a = stream_value(f.v0 + i, k);
      if (a != 0) out.push_back(change(f.v0 + i, j, a * delta));
    }
  }
}

void RegisterOracle::ifmap_change(std::int64_t word, std::int64_t e, std::int32_t delta, std::vector<Change>& out) const {
  // The (m, k) GEMM positions im2col reads this word at.
  for (const auto& [m, k] : job_.im2col.uses_of(word)) {
    if (schedule_.output_stationary()) {
      // Read for every fold holding output row m, when its K-step k is fed.
      for (const Fold& f : schedule_.folds) {
        if (m < f.v0 || m >= f.v0 + f.results || k < f.k0 || k >= f.k0 + f.k_count) continue;
        if (FoldTiming::feed(f, k - f.k0) <= e) continue;
        for (int c = 0; c < f.c_count; ++c) {
          const std::int32_t w = stationary_value(f.c0 + c, k);
          if (w != 0) out.push_back(Change{m, f.c0 + c, w * delta});
        }
      }
    } else if (schedule_.input_stationary())
      stationary_word_change(m, k, e, delta, out);
    else
      stream_word_change(m, k, e, delta, out);
  }
}

void RegisterOracle::weight_word_change(int n, int k, std::int64_t e, std::int32_t delta, std::vector<Change>& out) const {
  if (schedule_.output_stationary()) {
    // Read for every fold holding column n, c = n - c0 cycles after its K-step k is fed.
    for (const Fold& f : schedule_.folds) {
      if (n < f.c0 || n >= f.c0 + f.c_count || k < f.k0 || k >= f.k0 + f.k_count) continue;
      if (FoldTiming::feed(f, k - f.k0) + (n - f.c0) <= e) continue;
      for (int r = 0; r < f.results; ++r) {
        const std::int32_t a = stream_value(f.v0 + r, k);
        if (a != 0) out.push_back(Change{f.v0 + r, n, a * delta});
      }
    }
  } else if (schedule_.input_stationary())
    stream_word_change(n, k, e, delta, out);
  else
    stationary_word_change(n, k, e, delta, out);
}

std::int8_t RegisterOracle::final_out(int m, int n) const {
  return requantize(final_acc(m, n), job_.multiplier[static_cast<std::size_t>(n)], job_.output_zero_point, job_.relu);
}

std::int64_t RegisterOracle::output_write_edge(int m, int n) const {
  // The accumulator finishes the row of the output's vector in the last
  // K-fold, the output stage latches it one edge later and writes it at the next.
  const int v = schedule_.input_stationary() ? n : m, j = schedule_.input_stationary() ? m : n;
  for (const Fold& f : schedule_.folds)
    if (f.last_k && v >= f.v0 && v < f.v0 + f.results && j >= f.c0 && j < f.c0 + f.c_count)
      return at_.output_write(f.result_time(v - f.v0));
  throw Error(fmt::format("output ({}, {}) is not in the layer's schedule", m, n));
}

std::pair<const Fold*, int> RegisterOracle::weight_fed_at(std::int64_t t) const {
  for (const Fold& f : schedule_.folds) {
    const std::int64_t row = at_.weight_feed(f, 0) - t;  // inverse of weight_feed
    if (row >= 0 && row < rows_) return {&f, static_cast<int>(row)};
  }
  return {nullptr, 0};
}

RegisterOracle::Slot RegisterOracle::slot_at(std::int64_t t_feed) const {
  for (const Fold& f : schedule_.folds)
    if (t_feed >= f.stream_start && t_feed < f.stream_start + f.vectors)
      return Slot{&f, static_cast<int>(t_feed - f.stream_start)};
  return Slot{};
}

std::int32_t RegisterOracle::partial(const Fold& f, int i, int c, int rows) const {
  if (c >= f.c_count) return 0;
  const int v = f.v0 + i, j = f.c0 + c;
  std::uint32_t sum = 0;
  for (int r = 0; r < std::min(rows, f.k_count); ++r)
    sum += static_cast<std::uint32_t>(stream_value(v, f.k0 + r) * stationary_value(j, f.k0 + r));
  return static_cast<std::int32_t>(sum);
}

std::int32_t RegisterOracle::word_after(std::size_t fold_index, int i, int c) const {
  // Walk back to the first K-fold of this (tile, column slice).
  std::size_t first = fold_index;
  while (!schedule_.folds[first].first_k) --first;
  const Fold& f0 = schedule_.folds[first];
  std::uint32_t sum = static_cast<std::uint32_t>(job_.bias[static_cast<std::size_t>(schedule_.n_of(f0.v0 + i, f0.c0 + c))]);
  for (std::size_t j = first; j <= fold_index; ++j) sum += static_cast<std::uint32_t>(result_sum(schedule_.folds[j], i, c));
  return static_cast<std::int32_t>(sum);
}

std::int32_t RegisterOracle::result_sum(const Fold& f, int i, int c) const {
  if (!schedule_.output_stationary()) return partial(f, i, c, rows_);
  // Output-stationary: the PE's whole sum over the group's K.
  if (i >= f.results || c >= f.c_count) return 0;
  std::uint32_t sum = 0;
  for (int k = f.k0; k < f.k0 + f.k_count; ++k)
    sum += static_cast<std::uint32_t>(stream_value(f.v0 + i, k) * stationary_value(f.c0 + c, k));
  return static_cast<std::int32_t>(sum);
}

std::int32_t RegisterOracle::final_acc(int m, int n) const {
  std::uint32_t sum = static_cast<std::uint32_t>(job_.bias[static_cast<std::size_t>(n)]);
  const int K = job_.gemm.k;
  for (int k = 0; k < K; ++k)
    sum += static_cast<std::uint32_t>(static_cast<std::int32_t>(a_[static_cast<std::size_t>(m) * K + k]) *
                                      job_.weight[static_cast<std::size_t>(n) * K + k]);
  return static_cast<std::int32_t>(sum);
}

std::shared_ptr<const LayerPlan> make_layer_plan(const QuantizedModel& model, int layer, const ArrayConfig& array) {
  const LayerSpec& spec = model.arch.layer(layer);
  auto plan = std::make_shared<LayerPlan>();
  plan->job = make_layer_job(model, layer, std::vector<std::int8_t>(model.arch.output_shape(spec.input).size(), 0));
  plan->schedule = make_layer_schedule(plan->job.gemm, array);
  return plan;
}

LayerOracle::LayerOracle(std::shared_ptr<const LayerPlan> p, const std::vector<std::int8_t>& input)
    : plan(std::move(p)), job(plan->job), schedule(plan->schedule) {
  if (input.size() != job.input_shape.size())
    throw Error(fmt::format("layer input has {} values, expected {}", input.size(), job.input_shape.size()));
  job.input = input;
  oracle = std::make_unique<RegisterOracle>(job, schedule);
}

std::unique_ptr<LayerOracle> make_layer_oracle(std::shared_ptr<const LayerPlan> plan, const InferenceTrace& golden) {
  const int input = plan->job.spec.input;
  const std::vector<std::int8_t>& x = input < 0 ? golden.input : golden.out[static_cast<std::size_t>(input)];
  return std::make_unique<LayerOracle>(std::move(plan), x);
}

std::unique_ptr<LayerOracle> make_layer_oracle(const QuantizedModel& model, int layer, const InferenceTrace& golden,
                                               const ArrayConfig& array) {
  return make_layer_oracle(make_layer_plan(model, layer, array), golden);
}

}  // namespace isimdl
