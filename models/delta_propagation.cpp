#include "models/delta_propagation.h"

#include <fmt/format.h>

#include <algorithm>

#include "models/error.h"

namespace isimdl {

ChangeLiveness::ChangeLiveness(const Architecture& arch) : last_reader_(static_cast<std::size_t>(arch.size()), -1) {
  for (int l = 0; l < arch.size(); ++l)
    for (const int from : arch.layer(l).inputs())
      if (from >= 0) last_reader_[static_cast<std::size_t>(from)] = std::max(last_reader_[static_cast<std::size_t>(from)], l);
  last_reader_.back() = arch.size();  // the logits are what the application reads
}

bool ChangeLiveness::alive_after(int l, const std::vector<int>& changed) const {
  return std::any_of(changed.begin(), changed.end(), [&](int t) { return t <= l && last_reader(t) > l; });
}

DeltaPropagator::DeltaPropagator(const ReferenceEngine& engine, Strategy strategy)
    : engine_(engine), model_(engine.model()), liveness_(engine.model().arch), strategy_(strategy) {
  const int n = model_.arch.size();
  delta_.resize(static_cast<std::size_t>(n));
  whole_.assign(static_cast<std::size_t>(n), 0);
  full_.resize(static_cast<std::size_t>(n));
  stamp_.resize(static_cast<std::size_t>(n));
  over_.resize(static_cast<std::size_t>(n));
  std::size_t largest = 0;
  for (int l = 0; l < n; ++l) {
    inputs_.push_back(model_.arch.layer(l).inputs());
    im2col_.push_back(model_.arch.has_weights(l) ? model_.arch.im2col(l) : Im2col());
    const std::size_t size = model_.arch.output_shape(l).size();
    stamp_[static_cast<std::size_t>(l)].assign(size, 0);
    over_[static_cast<std::size_t>(l)].assign(size, 0);
    largest = std::max(largest, size);
  }
  mark_.assign(largest, 0);
  pixel_mark_.assign(largest, 0);
  row_of_.assign(largest, 0);
  acc_delta_.assign(largest, 0);
}

void DeltaPropagator::set(int t, std::int64_t e, std::int8_t v) {
  const auto ti = static_cast<std::size_t>(t);
  delta_[ti].push(e, v);
  stamp_[ti][static_cast<std::size_t>(e)] = epoch_;
  over_[ti][static_cast<std::size_t>(e)] = v;
}

std::int8_t DeltaPropagator::read(const InferenceTrace& golden, int t, std::int64_t e) const {
  if (t < 0) return golden.input[static_cast<std::size_t>(e)];
  const auto ti = static_cast<std::size_t>(t);
  const auto ei = static_cast<std::size_t>(e);
  return stamp_[ti][ei] == epoch_ ? over_[ti][ei] : golden.out[ti][ei];
}

void DeltaPropagator::next_mark() {
  if (++mark_epoch_ == 0) {  // wrapped: forget every old mark
    std::fill(mark_.begin(), mark_.end(), 0);
    mark_epoch_ = 1;
  }
  touched_.clear();
}

bool DeltaPropagator::touch(std::int32_t e) {
  std::uint32_t& m = mark_[static_cast<std::size_t>(e)];
  if (m == mark_epoch_) return false;
  m = mark_epoch_;
  touched_.push_back(e);
  return true;
}

void DeltaPropagator::faulty_copy(const InferenceTrace& golden, int t, std::vector<std::int8_t>& out) const {
  const auto ti = static_cast<std::size_t>(t);
  out = golden.out[ti];
  const TensorDelta& d = delta_[ti];
  for (std::size_t i = 0; i < d.size(); ++i) out[static_cast<std::size_t>(d.element[i])] = d.value[i];
}

const std::vector<std::int8_t>& DeltaPropagator::faulty_input(const InferenceTrace& golden, int l, std::size_t j) {
  const int t = inputs_[static_cast<std::size_t>(l)][j];
  if (t < 0) return golden.input;
  const auto ti = static_cast<std::size_t>(t);
  if (is_whole(t)) return full_[ti];
  if (delta_[ti].empty()) return golden.out[ti];
  if (dense_in_.size() <= j) dense_in_.resize(j + 1);
  faulty_copy(golden, t, dense_in_[j]);
  return dense_in_[j];
}

void DeltaPropagator::hold_whole_if_wide(const InferenceTrace& golden, int l) {
  const auto li = static_cast<std::size_t>(l);
  const TensorDelta& d = delta_[li];
  if (strategy_ != Strategy::kAuto || static_cast<double>(d.size()) <= kWholeShare * static_cast<double>(golden.out[li].size()))
    return;
  faulty_copy(golden, l, full_[li]);
  whole_[li] = epoch_;
}

void DeltaPropagator::whole_layer(const InferenceTrace& golden, int l, Result& result) {
  const std::size_t count = inputs_[static_cast<std::size_t>(l)].size();
  std::vector<const std::vector<std::int8_t>*> inputs;
  for (std::size_t j = 0; j < count; ++j) inputs.push_back(&faulty_input(golden, l, j));
  const auto li = static_cast<std::size_t>(l);
  if (model_.arch.has_weights(l)) result.macs += model_.arch.gemm(l).useful_macs();
  engine_.compute_layer(l, inputs, dense_acc_, full_[li]);
  if (full_[li] != golden.out[li]) whole_[li] = epoch_;
}

void DeltaPropagator::region_layer(const InferenceTrace& golden, int l, Result& result) {
  // touched_ holds the GEMM rows (output pixels) to recompute, gathered
  // from the faulty input: a copy of golden with the changes written in
  // when they are many, else golden's rows with each changed element
  // written where the rows read it.
  const LayerSpec& spec = model_.arch.layer(l);
  const GemmShape g = model_.arch.gemm(l);
  const Im2col& im2col = im2col_[static_cast<std::size_t>(l)];
  const TensorDelta& in = delta_[static_cast<std::size_t>(spec.input)];
  const std::vector<std::int8_t>& golden_in = golden.out[static_cast<std::size_t>(spec.input)];
  const double taps = spec.kind == LayerKind::kConv2d ? static_cast<double>(spec.window.kernel_h) * spec.window.kernel_w : 1.0;
  const bool copy = static_cast<double>(in.size()) * taps * kScatterPerCopiedByte > static_cast<double>(golden_in.size());
  const std::vector<std::int8_t>& x = copy ? faulty_input(golden, l, 0) : golden_in;
  if (copy) ++result.region_copies;
  const auto pad = static_cast<std::int8_t>(model_.tensor_qparams(spec.input).zero_point);
  const int rows = static_cast<int>(touched_.size());
  rows_.resize(static_cast<std::size_t>(rows) * g.k);
  for (int i = 0; i < rows; ++i) {
    const auto m = static_cast<std::size_t>(touched_[static_cast<std::size_t>(i)]);
    row_of_[m] = i;
    im2col.gather_row(x.data(), pad, static_cast<int>(m), g.k, rows_.data() + static_cast<std::size_t>(i) * g.k);
  }
  if (!copy)
    for (std::size_t j = 0; j < in.size(); ++j)
      im2col.for_each_use(in.element[j], [&](int m, int k) {
        rows_[static_cast<std::size_t>(row_of_[static_cast<std::size_t>(m)]) * g.k + static_cast<std::size_t>(k)] = in.value[j];
      });
  region_acc_.resize(static_cast<std::size_t>(rows) * g.n);
  result.macs += static_cast<std::int64_t>(rows) * g.k * g.n;
  gemm_s8s8s32(rows, g.n, g.k, rows_.data(), model_.layers[static_cast<std::size_t>(l)].weight.data(),
               engine_.effective_bias(l).data(), region_acc_.data());
  const std::vector<std::int8_t>& out = golden.out[static_cast<std::size_t>(l)];
  const QuantizedLayer& q = model_.layers[static_cast<std::size_t>(l)];
  region_out_.resize(static_cast<std::size_t>(rows));
  for (int n = 0; n < g.n; ++n) {
    requantize_span(region_acc_.data() + static_cast<std::size_t>(n) * rows, static_cast<std::size_t>(rows),
                    q.multiplier[static_cast<std::size_t>(n)], q.output.zero_point, q.fused_relu, region_out_.data());
    const std::int8_t* golden_row = out.data() + static_cast<std::size_t>(n) * g.m;
    for (int i = 0; i < rows; ++i) {
      const std::int32_t m = touched_[static_cast<std::size_t>(i)];
      const std::int8_t y = region_out_[static_cast<std::size_t>(i)];
      if (y != golden_row[m]) set(l, static_cast<std::int64_t>(n) * g.m + m, y);
    }
  }
}

void DeltaPropagator::gemm_layer(const InferenceTrace& golden, int l, Result& result) {
  const LayerSpec& spec = model_.arch.layer(l);
  const TensorDelta& in = delta_[static_cast<std::size_t>(spec.input)];
  const GemmShape g = model_.arch.gemm(l);
  const Im2col& im2col = im2col_[static_cast<std::size_t>(l)];
  // The rows a region recomputation would take.
  next_mark();
  if (!im2col.conv()) {
    touch(0);  // a Linear layer's one row
  } else {
    // The rows a changed element reaches depend on its pixel alone: visit
    // each changed pixel once, whatever the number of its changed channels.
    const Shape& is = model_.arch.output_shape(spec.input);
    const std::int64_t plane = static_cast<std::int64_t>(is.h) * is.w;
    if (++pixel_epoch_ == 0) {
      std::fill(pixel_mark_.begin(), pixel_mark_.end(), 0);
      pixel_epoch_ = 1;
    }
    for (const std::int32_t e : in.element) {
      const auto p = static_cast<std::size_t>(e % plane);
      if (pixel_mark_[p] == pixel_epoch_) continue;
      pixel_mark_[p] = pixel_epoch_;
      im2col.for_each_use(static_cast<std::int64_t>(p), [&](int m, int) { touch(m); });
    }
  }
  // Work estimates, in scattered scalar updates.
  const double taps = spec.kind == LayerKind::kConv2d ? static_cast<double>(spec.window.kernel_h) * spec.window.kernel_w : 1.0;
  const double delta_cost = static_cast<double>(in.size()) * taps * g.n_per_group();
  // A region runs the full-K GEMM on its rows (structural zeros of a
  // grouped convolution included); the engine runs a grouped layer group by
  // group, short reductions in the plain loop (models/gemm.h).
  const double region_row = static_cast<double>(g.k) * g.n / kGemmSpeedup + g.k + g.n;
  const double dense_speed = g.k_per_group() >= 32 ? kGemmSpeedup : 4.0;
  const double dense_row = static_cast<double>(g.k_per_group()) * g.n / dense_speed + g.k + 2.0 * g.n;
  const double region_cost = static_cast<double>(touched_.size()) * region_row;
  const double dense_cost = static_cast<double>(g.m) * dense_row;
  Strategy way = strategy_;
  if (way == Strategy::kAuto)
    way = delta_cost <= std::min(region_cost, dense_cost) ? Strategy::kDelta
          : region_cost <= dense_cost                     ? Strategy::kRegion
                                                          : Strategy::kDense;
  switch (way) {
    case Strategy::kRegion:
      ++result.region_layers;
      region_layer(golden, l, result);
      return;
    case Strategy::kDense:
      ++result.dense_layers;
      whole_layer(golden, l, result);
      return;
    default:
      ++result.delta_layers;
      result.macs += static_cast<std::int64_t>(delta_cost);
      delta_layer(golden, l);
      return;
  }
}

void DeltaPropagator::delta_layer(const InferenceTrace& golden, int l) {
  const LayerSpec& spec = model_.arch.layer(l);
  const TensorDelta& in = delta_[static_cast<std::size_t>(spec.input)];
  const GemmShape g = model_.arch.gemm(l);
  const Im2col& im2col = im2col_[static_cast<std::size_t>(l)];
  next_mark();
  const std::vector<std::int8_t>& w = model_.layers[static_cast<std::size_t>(l)].weight;
  const std::vector<std::int8_t>& x = golden.out[static_cast<std::size_t>(spec.input)];
  const int npg = g.n_per_group();
  for (std::size_t i = 0; i < in.size(); ++i) {
    const std::int64_t e = in.element[i];
    // The sum is int32 and wraps: the change is added unsigned, as the accumulator register does.
    const auto d = static_cast<std::uint32_t>(static_cast<std::int32_t>(in.value[i]) - x[static_cast<std::size_t>(e)]);
    im2col.for_each_use(e, [&](int m, int k) {
      const int first = g.groups == 1 ? 0 : im2col.group_of_channel(im2col.k_channel(k)) * npg;
      for (int n = first; n < first + npg; ++n) {
        const auto a = static_cast<std::int32_t>(static_cast<std::size_t>(n) * g.m + static_cast<std::size_t>(m));
        if (touch(a)) acc_delta_[static_cast<std::size_t>(a)] = 0;
        acc_delta_[static_cast<std::size_t>(a)] +=
            d * static_cast<std::uint32_t>(static_cast<std::int32_t>(w[static_cast<std::size_t>(n) * g.k + static_cast<std::size_t>(k)]));
      }
    });
  }
  const std::vector<std::int32_t>& acc = golden.acc[static_cast<std::size_t>(l)];
  const std::vector<std::int8_t>& out = golden.out[static_cast<std::size_t>(l)];
  for (const std::int32_t a : touched_) {
    const auto ai = static_cast<std::size_t>(a);
    if (acc_delta_[ai] == 0) continue;
    const auto faulty = static_cast<std::int32_t>(static_cast<std::uint32_t>(acc[ai]) + acc_delta_[ai]);
    const std::int8_t y = engine_.requantize_output(l, a / g.m, faulty);
    if (y != out[ai]) set(l, a, y);
  }
}

void DeltaPropagator::propagate(const InferenceTrace& golden, int layer, const TensorDelta& changed, Result& result) {
  propagate(std::vector<Job>{Job{&golden, layer, &changed, &result}});
}

void DeltaPropagator::propagate(const std::vector<Job>& jobs) {
  tails_.clear();
  for (const Job& job : jobs) {
    if (!job.golden || !job.changed || !job.result) throw Error("delta propagation: a job without its trace, change or result");
    propagate_sparse(job);
  }
  run_tails();
}

bool DeltaPropagator::only_whole_from(int l, const std::vector<int>& live) const {
  return std::all_of(live.begin(), live.end(), [&](int t) { return liveness_.last_reader(t) < l || is_whole(t); });
}

void DeltaPropagator::run_tails() {
  if (tails_.empty()) return;
  const int count = model_.arch.size();
  int first = count;
  for (const Tail& t : tails_) first = std::min(first, t.from);
  std::vector<std::vector<const std::vector<std::int8_t>*>> inputs;
  std::vector<std::vector<std::int8_t>*> out;
  std::vector<Tail*> members;
  for (int l = first; l < count; ++l) {
    const auto li = static_cast<std::size_t>(l);
    const std::vector<int>& reads = inputs_[li];
    inputs.clear();
    out.clear();
    members.clear();
    for (Tail& t : tails_) {
      if (t.done || t.from > l) continue;
      if (std::none_of(reads.begin(), reads.end(), [&](int r) { return r >= 0 && !t.faulty[static_cast<std::size_t>(r)].empty(); }))
        continue;  // every input golden: so is the output
      inputs.emplace_back();
      for (const int r : reads) {
        const auto ri = static_cast<std::size_t>(r);
        inputs.back().push_back(r < 0 ? &t.golden->input : t.faulty[ri].empty() ? &t.golden->out[ri] : &t.faulty[ri]);
      }
      members.push_back(&t);
    }
    if (!members.empty()) {
      if (tail_out_.size() < members.size()) tail_out_.resize(members.size());
      for (std::size_t j = 0; j < members.size(); ++j) out.push_back(&tail_out_[j]);
      engine_.compute_layers(l, inputs, out);
      const std::int64_t macs = model_.arch.has_weights(l) ? model_.arch.gemm(l).useful_macs() : 0;
      for (std::size_t j = 0; j < members.size(); ++j) {
        Tail& t = *members[j];
        ++t.result->whole_layers;
        t.result->macs += macs;
        if (*out[j] != t.golden->out[li]) {
          std::swap(t.faulty[li], *out[j]);
          t.live.push_back(l);
        }
      }
    }
    for (Tail& t : tails_) {
      if (t.done || t.from > l) continue;
      if (!liveness_.alive_after(l, t.live)) {
        t.result->died = l;
        t.done = true;
      }
      // What no later layer reads is dropped (the logits are read last).
      for (const int r : reads)
        if (r >= 0 && liveness_.last_reader(r) == l) std::vector<std::int8_t>().swap(t.faulty[static_cast<std::size_t>(r)]);
    }
  }
  for (Tail& t : tails_) t.result->logits = t.faulty.back().empty() ? t.golden->logits() : t.faulty.back();
  tails_.clear();
}

void DeltaPropagator::propagate_sparse(const Job& job) {
  const InferenceTrace& golden = *job.golden;
  const int layer = job.layer;
  const TensorDelta& changed = *job.changed;
  Result& result = *job.result;
  const int count = model_.arch.size();
  if (layer < 0 || layer >= count) throw Error(fmt::format("delta propagation: no layer {}", layer));
  if (golden.out.size() != static_cast<std::size_t>(count))
    throw Error("delta propagation: the golden trace does not belong to this model");
  result.delta_layers = result.region_layers = result.region_copies = result.dense_layers = result.whole_layers = 0;
  result.macs = 0;
  result.tail_from = -1;
  if (++epoch_ == 0) {  // wrapped: forget every old overlay
    for (auto& s : stamp_) std::fill(s.begin(), s.end(), 0);
    std::fill(whole_.begin(), whole_.end(), 0);
    epoch_ = 1;
  }
  for (auto& d : delta_) d.clear();
  const std::size_t layer_size = golden.out[static_cast<std::size_t>(layer)].size();
  for (std::size_t i = 0; i < changed.size(); ++i) {
    if (changed.element[i] < 0 || static_cast<std::size_t>(changed.element[i]) >= layer_size)
      throw Error(fmt::format("delta propagation: element {} is outside layer {}'s {} outputs", changed.element[i], layer,
                              layer_size));
    set(layer, changed.element[i], changed.value[i]);
  }
  hold_whole_if_wide(golden, layer);
  std::vector<int> live;
  if (!changed.empty()) live.push_back(layer);
  result.died = -1;
  if (!liveness_.alive_after(layer, live)) result.died = layer;
  for (int l = layer + 1; l < count && result.died < 0; ++l) {
    if (only_whole_from(l, live)) {
      // From here on every reader of the change reads a whole tensor: the
      // rest is the dense tail, run with the other jobs' (run_tails).
      Tail& tail = tails_.emplace_back();
      tail.golden = &golden;
      tail.result = &result;
      tail.from = result.tail_from = l;
      tail.live = live;
      tail.faulty.resize(static_cast<std::size_t>(count));
      for (const int t : live)
        if (liveness_.last_reader(t) >= l) std::swap(tail.faulty[static_cast<std::size_t>(t)], full_[static_cast<std::size_t>(t)]);
      return;
    }
    const LayerSpec& spec = model_.arch.layer(l);
    const std::vector<int>& inputs = inputs_[static_cast<std::size_t>(l)];
    const bool touched = std::any_of(inputs.begin(), inputs.end(), [&](int t) { return differs(t); });
    const bool reads_whole = std::any_of(inputs.begin(), inputs.end(), [&](int t) { return is_whole(t); });
    if (touched && reads_whole) {
      ++result.whole_layers;
      whole_layer(golden, l, result);
      if (is_whole(l)) live.push_back(l);
    } else if (touched) {
      const std::vector<std::int8_t>& out = golden.out[static_cast<std::size_t>(l)];
      switch (spec.kind) {
        case LayerKind::kConv2d:
        case LayerKind::kLinear:
          gemm_layer(golden, l, result);
          break;
        case LayerKind::kReLU:
        case LayerKind::kClip:
        case LayerKind::kLeakyReLU:
        case LayerKind::kFlatten: {
          const TensorDelta& in = delta_[static_cast<std::size_t>(spec.input)];
          for (std::size_t i = 0; i < in.size(); ++i) {
            const std::int8_t y = engine_.pointwise(l, in.value[i]);
            if (y != out[static_cast<std::size_t>(in.element[i])]) set(l, in.element[i], y);
          }
          break;
        }
        case LayerKind::kMaxPool2d:
        case LayerKind::kAvgPool2d: {
          const TensorDelta& in = delta_[static_cast<std::size_t>(spec.input)];
          const Shape& is = model_.arch.output_shape(spec.input);
          const Shape& os = model_.arch.output_shape(l);
          next_mark();
          const auto plane = static_cast<std::int64_t>(is.h) * is.w;
          for (std::size_t i = 0; i < in.size(); ++i) {
            const std::int64_t e = in.element[i];
            const int c = static_cast<int>(e / plane), y = static_cast<int>(e / is.w % is.h), x = static_cast<int>(e % is.w);
            for_each_window_covering(spec.window, os, y, x, [&](int oy, int ox, int, int) {
              touch(static_cast<std::int32_t>((static_cast<std::int64_t>(c) * os.h + oy) * os.w + ox));
            });
          }
          const auto reader = [&](std::size_t e) { return read(golden, spec.input, static_cast<std::int64_t>(e)); };
          const auto out_plane = static_cast<std::int32_t>(os.h) * os.w;
          for (const std::int32_t o : touched_) {
            const std::int32_t r = o % out_plane;
            const std::int8_t y = engine_.pool(l, reader, o / out_plane, r / os.w, r % os.w);
            if (y != out[static_cast<std::size_t>(o)]) set(l, o, y);
          }
          break;
        }
        case LayerKind::kAdd: {
          next_mark();
          for (const int t : {spec.input, spec.input2})
            if (t >= 0)
              for (const std::int32_t e : delta_[static_cast<std::size_t>(t)].element) touch(e);
          for (const std::int32_t e : touched_) {
            const std::int8_t y = engine_.add(l, read(golden, spec.input, e), read(golden, spec.input2, e));
            if (y != out[static_cast<std::size_t>(e)]) set(l, e, y);
          }
          break;
        }
        case LayerKind::kConcat: {
          std::int64_t offset = 0;
          for (std::size_t j = 0; j < inputs.size(); ++j) {
            const int t = inputs[j];
            if (t >= 0) {
              const TensorDelta& in = delta_[static_cast<std::size_t>(t)];
              for (std::size_t i = 0; i < in.size(); ++i) {
                const std::int64_t e = offset + in.element[i];
                const std::int8_t y = engine_.concat(l, static_cast<int>(j), in.value[i]);
                if (y != out[static_cast<std::size_t>(e)]) set(l, e, y);
              }
            }
            offset += static_cast<std::int64_t>(model_.arch.output_shape(t).size());
          }
          break;
        }
      }
      if (differs(l)) live.push_back(l);
      hold_whole_if_wide(golden, l);
    }
    if (!liveness_.alive_after(l, live)) result.died = l;
  }
  if (is_whole(count - 1)) {
    result.logits = full_.back();
    return;
  }
  result.logits = golden.logits();
  const TensorDelta& last = delta_.back();
  for (std::size_t i = 0; i < last.size(); ++i) result.logits[static_cast<std::size_t>(last.element[i])] = last.value[i];
}

}  // namespace isimdl
