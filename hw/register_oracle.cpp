#include "hw/register_oracle.h"

#include <fmt/format.h>

#include <tuple>
#include <utility>

#include "models/error.h"
#include "models/reference_engine.h"

namespace isimdl {

namespace {

// Skew register `index` (docs/hardware.md order) as (row, stage).
std::pair<int, int> skew_row_stage(std::int64_t index) {
  int r = 1;
  while (static_cast<std::int64_t>(r) * (r + 1) / 2 <= index) ++r;
  return {r, static_cast<int>(index - static_cast<std::int64_t>(r) * (r - 1) / 2)};
}

// De-skew register `index` of a C-column array as (column, stage).
std::pair<int, int> deskew_column_stage(std::int64_t index, int C) {
  int c = 0;
  while (index >= C - 1 - c) index -= C - 1 - c, ++c;
  return {c, static_cast<int>(index)};
}

}  // namespace

RegisterOracle::RegisterOracle(const LayerJob& job, const LayerSchedule& schedule)
    : job_(job), schedule_(schedule), at_(schedule.at), rows_(schedule.rows), cols_(schedule.cols) {
  const GemmShape g = job.gemm;
  a_.resize(static_cast<std::size_t>(g.m) * g.k);
  im2col_s8(job.input.data(), job.im2col, g, job.input_zero_point, a_.data());
}

std::int32_t RegisterOracle::fold_weight(const Fold& f, int r, int c) const {
  if (r >= f.k_count || c >= f.n_count) return 0;
  return job_.weight[static_cast<std::size_t>(f.n0 + c) * job_.gemm.k + static_cast<std::size_t>(f.k0 + r)];
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
    o.a = a_[static_cast<std::size_t>(s.fold->m0 + s.i) * job_.gemm.k + static_cast<std::size_t>(s.fold->k0 + r)];
  }
  return o;
}

void RegisterOracle::row_change(std::int64_t t_feed, int r, int first_col, const Operand& was, const Operand& now,
                                std::vector<Change>& out) const {
  const Slot s = slot_at(t_feed);
  if (!s.fold) return;  // an idle slot's sums are never accumulated
  for (int c = first_col; c < std::min(cols_, s.fold->n_count); ++c) {
    const std::int64_t mac_edge = at_.pe_edge(t_feed, r, c);  // reads the weight register before this edge's latch
    const std::int32_t before = was.valid ? was.a * weight_register(r, c, was.propagate, mac_edge - 1) : 0;
    const std::int32_t after = now.valid ? now.a * weight_register(r, c, now.propagate, mac_edge - 1) : 0;
    if (before != after)
      out.push_back(Change{s.fold->m0 + s.i, s.fold->n0 + c,
                           static_cast<std::int32_t>(static_cast<std::uint32_t>(after) - static_cast<std::uint32_t>(before))});
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
    if ((f.index & 1) != p || r >= f.k_count || c >= f.n_count) continue;
    for (int i = 0; i < f.rows; ++i) {
      const std::int64_t mac_edge = at_.pe_edge(FoldTiming::feed(f, i), r, c);
      if (mac_edge <= e) continue;
      if (mac_edge > next_latch) break;
      const std::int32_t a = a_[static_cast<std::size_t>(f.m0 + i) * job_.gemm.k + static_cast<std::size_t>(f.k0 + r)];
      if (a != 0) out.push_back(Change{f.m0 + i, f.n0 + c, a * delta_w});
    }
  }
}

RegisterOracle::Holding RegisterOracle::holds(RegisterGroup group, std::int64_t index, std::int64_t e) const {
  using Kind = Holding::Kind;
  const int R = rows_, C = cols_;
  Holding h;
  auto operand_holding = [&](const Slot& s, int r) {
    // A row beyond the fold's K carries no activation, but its propagate
    // tag still says the fold's parity.
    if (s.fold) h.fold = s.fold->index;
    if (s.fold && r < s.fold->k_count) {
      h.kind = Kind::kActivation;
      h.m = s.fold->m0 + s.i;
      h.k = s.fold->k0 + r;
      h.fold = s.fold->index;
    }
    return h;
  };
  auto weight_holding = [&](const Fold* f, int r, int c) {
    if (f && r < f->k_count && c < f->n_count) {
      h.kind = Kind::kWeight;
      h.n = f->n0 + c;
      h.k = f->k0 + r;
      h.fold = f->index;
    }
    return h;
  };
  switch (group) {
    case RegisterGroup::kPeA:
    case RegisterGroup::kPeValid:
    case RegisterGroup::kPePropagate: {
      const int r = static_cast<int>(index / C), c = static_cast<int>(index % C);
      return operand_holding(slot_at(at_.pe_feed_of(e, r, c)), r);
    }
    case RegisterGroup::kSkew: {
      const auto [r, stage] = skew_row_stage(index);
      return operand_holding(slot_at(at_.skew_feed_of(e, stage)), r);
    }
    case RegisterGroup::kPeW0:
    case RegisterGroup::kPeW1: {
      const int r = static_cast<int>(index / C), c = static_cast<int>(index % C);
      const int p = group == RegisterGroup::kPeW1 ? 1 : 0;
      const Fold* last = nullptr;
      for (const Fold& f : schedule_.folds)
        if ((f.index & 1) == p && at_.latch(f) <= e) last = &f;
      return weight_holding(last, r, c);
    }
    case RegisterGroup::kPeD: {
      const int r = static_cast<int>(index / C), c = static_cast<int>(index % C);
      if (const auto [f, row] = weight_fed_at(at_.d_feed_of(e, r)); f) return weight_holding(f, row, c);
      return h;
    }
    case RegisterGroup::kPePsum:
    case RegisterGroup::kDeskew: {
      int r = R - 1, c = 0;
      std::int64_t t_feed = 0;
      if (group == RegisterGroup::kPePsum) {
        r = static_cast<int>(index / C), c = static_cast<int>(index % C);
        t_feed = at_.pe_feed_of(e, r, c);
      } else {
        int stage = 0;
        std::tie(c, stage) = deskew_column_stage(index, C);
        t_feed = at_.deskew_feed_of(e, c, stage);
      }
      const Slot s = slot_at(t_feed);
      if (!s.fold || c >= s.fold->n_count) return h;
      h.kind = Kind::kPartialSum;
      h.m = s.fold->m0 + s.i;
      h.n = s.fold->n0 + c;
      h.k = s.fold->k0;
      h.terms = std::min(r + 1, s.fold->k_count);
      h.fold = s.fold->index;
      return h;
    }
    case RegisterGroup::kAccumulator: {
      const int m_local = static_cast<int>(index / C), c = static_cast<int>(index % C);
      const Fold* last = nullptr;
      std::int64_t best = -1;
      for (const Fold& f : schedule_.folds) {
        if (m_local >= f.rows || c >= f.n_count) continue;
        const std::int64_t edge = access_edge(f, m_local);
        if (edge <= e && edge > best) best = edge, last = &f;
      }
      if (!last) return h;
      h.kind = Kind::kAccumulator;
      h.m = last->m0 + m_local;
      h.n = last->n0 + c;
      h.k = 0;
      h.terms = last->k0 - last->group * job_.gemm.k_per_group() + last->k_count;  // the group's K so far
      h.fold = last->index;
      return h;
    }
    case RegisterGroup::kOutputStage: {
      const int c = static_cast<int>(index);
      std::int64_t best = -1;
      for (const Fold& f : schedule_.folds) {
        if (!f.last_k || c >= f.n_count) continue;
        for (int i = 0; i < f.rows; ++i) {
          const std::int64_t latch = at_.output_latch(FoldTiming::feed(f, i));
          if (latch > e) break;
          if (latch > best) {
            best = latch;
            h.kind = Kind::kAccumulator;
            h.m = f.m0 + i;
            h.n = f.n0 + c;
            h.k = 0;
            h.terms = job_.gemm.k_per_group();
            h.fold = f.index;
          }
        }
      }
      return h;
    }
    case RegisterGroup::kIfmapBuffer:
      h.kind = Kind::kInputWord;
      h.element = index;
      return h;
    case RegisterGroup::kWeightBuffer:
      h.kind = Kind::kWeight;
      std::tie(h.n, h.k) = job_.gemm.weight_of_word(index);
      return h;
    case RegisterGroup::kOutputBuffer: {
      const int m = static_cast<int>(index % job_.gemm.m), n = static_cast<int>(index / job_.gemm.m);
      if (output_write_edge(m, n) > e) return h;
      h.kind = Kind::kOutputWord;
      h.m = m;
      h.n = n;
      return h;
    }
  }
  throw Error(fmt::format("the register oracle does not cover group {}", register_info(group).group_name));
}

std::vector<RegisterOracle::Change> RegisterOracle::effect(RegisterGroup group, std::int64_t index, std::int64_t e,
                                                           std::int64_t after) const {
  std::vector<Change> out;
  const std::int64_t before = value(group, index, e);
  if (before == after) return out;
  const int R = rows_, C = cols_;
  switch (group) {
    case RegisterGroup::kPePsum:
    case RegisterGroup::kDeskew:
    case RegisterGroup::kAccumulator:
    case RegisterGroup::kOutputStage:
      if (const auto t = target(group, index, e))
        out.push_back(Change{t->m, t->n, static_cast<std::int32_t>(static_cast<std::uint32_t>(after) -
                                                                    static_cast<std::uint32_t>(before))});
      return out;
    case RegisterGroup::kPeA:
    case RegisterGroup::kPeValid:
    case RegisterGroup::kPePropagate: {
      // The vector's operand at PE(r, c) goes on to the PEs on its right.
      const int r = static_cast<int>(index / C), c = static_cast<int>(index % C);
      const std::int64_t t_feed = at_.pe_feed_of(e, r, c);
      const Operand was = operand(slot_at(t_feed), r);
      Operand now = was;
      if (group == RegisterGroup::kPeA) now.a = static_cast<std::int32_t>(after);
      if (group == RegisterGroup::kPeValid) now.valid = static_cast<int>(after & 1);
      if (group == RegisterGroup::kPePropagate) now.propagate = static_cast<int>(after & 1);
      row_change(t_feed, r, c + 1, was, now, out);
      return out;
    }
    case RegisterGroup::kSkew: {
      // Row r, stage s: the operand enters PE(r, 0) and goes along the whole row.
      const auto [r, stage] = skew_row_stage(index);
      const std::int64_t t_feed = at_.skew_feed_of(e, stage);
      const Operand was = operand(slot_at(t_feed), r);
      Operand now;
      now.a = static_cast<std::int8_t>(after & 0xff);
      now.valid = static_cast<int>((after >> 8) & 1);
      now.propagate = static_cast<int>((after >> 9) & 1);
      row_change(t_feed, r, 0, was, now, out);
      return out;
    }
    case RegisterGroup::kPeW0:
    case RegisterGroup::kPeW1: {
      const int r = static_cast<int>(index / C), c = static_cast<int>(index % C);
      weight_change(r, c, group == RegisterGroup::kPeW1 ? 1 : 0, e, static_cast<std::int32_t>(after - before), out);
      return out;
    }
    case RegisterGroup::kPeD: {
      // The value moves one row down per edge; a latch at edge L copies it
      // into the weight register of the row x it enters at that edge.
      const int r = static_cast<int>(index / C), c = static_cast<int>(index % C);
      const std::int64_t t = at_.d_feed_of(e, r);
      for (const Fold& f : schedule_.folds) {
        const std::int64_t latch = at_.latch(f);
        if (latch <= e) continue;
        const std::int64_t x = latch - at_.d_edge(t, 0);  // d_edge(t, x) == latch
        if (x > R - 1) break;
        weight_change(static_cast<int>(x), c, f.index & 1, latch, static_cast<std::int32_t>(after - before), out);
        break;
      }
      return out;
    }
    case RegisterGroup::kIfmapBuffer:
      ifmap_change(index, e, static_cast<std::int32_t>(after - before), out);
      return out;
    case RegisterGroup::kWeightBuffer: {
      const auto [n, k] = job_.gemm.weight_of_word(index);
      weight_word_change(n, k, e, static_cast<std::int32_t>(after - before), out);
      return out;
    }
    case RegisterGroup::kOutputBuffer:
      return out;  // an int8 output, not an accumulator: see output_write_edge
  }
  throw Error(fmt::format("the register oracle does not cover group {}", register_info(group).group_name));
}

void RegisterOracle::ifmap_change(std::int64_t word, std::int64_t e, std::int32_t delta, std::vector<Change>& out) const {
  const GemmShape g = job_.gemm;
  // The (m, k) GEMM positions im2col reads this word at.
  const std::vector<std::pair<int, int>> uses = job_.im2col.uses_of(word);
  // Each N-fold reads the word again, when the vector of m enters the array.
  for (const Fold& f : schedule_.folds)
    for (const auto& [m, k] : uses) {
      if (m < f.m0 || m >= f.m0 + f.rows || k < f.k0 || k >= f.k0 + f.k_count) continue;
      if (FoldTiming::feed(f, m - f.m0) <= e) continue;  // read (at the edge of its feed cycle) before the fault
      for (int c = 0; c < f.n_count; ++c) {
        const std::int32_t w = job_.weight[static_cast<std::size_t>(f.n0 + c) * g.k + static_cast<std::size_t>(k)];
        if (w != 0) out.push_back(Change{m, f.n0 + c, w * delta});
      }
    }
}

void RegisterOracle::weight_word_change(int n, int k, std::int64_t e, std::int32_t delta, std::vector<Change>& out) const {
  // Read once per fold that holds (n, k), at the preload cycle of its row.
  for (const Fold& f : schedule_.folds) {
    if (n < f.n0 || n >= f.n0 + f.n_count || k < f.k0 || k >= f.k0 + f.k_count) continue;
    if (at_.weight_feed(f, k - f.k0) <= e) continue;
    for (int i = 0; i < f.rows; ++i) {
      const std::int32_t a = a_[static_cast<std::size_t>(f.m0 + i) * job_.gemm.k + static_cast<std::size_t>(k)];
      if (a != 0) out.push_back(Change{f.m0 + i, n, a * delta});
    }
  }
}

std::int8_t RegisterOracle::final_out(int m, int n) const {
  return requantize(final_acc(m, n), job_.multiplier[static_cast<std::size_t>(n)], job_.output_zero_point, job_.relu);
}

std::int64_t RegisterOracle::output_write_edge(int m, int n) const {
  // The accumulator finishes the row of m in the last K-fold, the output
  // stage latches it one edge later and writes it at the next.
  for (const Fold& f : schedule_.folds)
    if (f.last_k && m >= f.m0 && m < f.m0 + f.rows && n >= f.n0 && n < f.n0 + f.n_count)
      return at_.output_write(FoldTiming::feed(f, m - f.m0));
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
    if (t_feed >= f.stream_start && t_feed < f.stream_start + f.rows)
      return Slot{&f, static_cast<int>(t_feed - f.stream_start)};
  return Slot{};
}

std::int32_t RegisterOracle::partial(const Fold& f, int i, int c, int rows) const {
  if (c >= f.n_count) return 0;
  const int m = f.m0 + i, n = f.n0 + c, K = job_.gemm.k;
  std::uint32_t sum = 0;
  for (int r = 0; r < std::min(rows, f.k_count); ++r)
    sum += static_cast<std::uint32_t>(static_cast<std::int32_t>(a_[static_cast<std::size_t>(m) * K + f.k0 + r]) *
                                      job_.weight[static_cast<std::size_t>(n) * K + f.k0 + r]);
  return static_cast<std::int32_t>(sum);
}

std::int32_t RegisterOracle::word_after(std::size_t fold_index, int m_local, int c) const {
  // Walk back to the first K-fold of this (M-tile, N-slice).
  std::size_t first = fold_index;
  while (!schedule_.folds[first].first_k) --first;
  const Fold& f0 = schedule_.folds[first];
  std::uint32_t sum = static_cast<std::uint32_t>(job_.bias[static_cast<std::size_t>(f0.n0 + c)]);
  for (std::size_t j = first; j <= fold_index; ++j) sum += static_cast<std::uint32_t>(partial(schedule_.folds[j], m_local, c, rows_));
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

std::optional<RegisterOracle::Target> RegisterOracle::target(RegisterGroup group, std::int64_t index,
                                                              std::int64_t e) const {
  const int C = cols_;
  switch (group) {
    case RegisterGroup::kPePsum: {
      // psum of PE(r, c) after edge e belongs to the vector fed at e - 1 - r - c.
      const int r = static_cast<int>(index / C), c = static_cast<int>(index % C);
      const Slot s = slot_at(at_.pe_feed_of(e, r, c));
      if (!s.fold || c >= s.fold->n_count) return std::nullopt;
      return Target{s.fold->m0 + s.i, s.fold->n0 + c};
    }
    case RegisterGroup::kDeskew: {
      // Column c's chain of C-1-c stages; stage s after edge e holds the
      // bottom psum after edge e - s - 1.
      const auto [c, stage] = deskew_column_stage(index, C);
      const Slot s = slot_at(at_.deskew_feed_of(e, c, stage));
      if (!s.fold || c >= s.fold->n_count) return std::nullopt;
      return Target{s.fold->m0 + s.i, s.fold->n0 + c};
    }
    case RegisterGroup::kAccumulator: {
      const int m_local = static_cast<int>(index / C), c = static_cast<int>(index % C);
      // The next access after edge e decides: a read-modify-write carries the
      // change into that output's final sum; an overwrite (first K-fold) kills it.
      const Fold* next = nullptr;
      std::int64_t best = INT64_MAX;
      for (const Fold& f : schedule_.folds) {
        if (m_local >= f.rows || c >= f.n_count) continue;
        const std::int64_t edge = access_edge(f, m_local);
        if (edge > e && edge < best) best = edge, next = &f;
      }
      if (!next || next->first_k) return std::nullopt;
      return Target{next->m0 + m_local, next->n0 + c};
    }
    case RegisterGroup::kOutputStage: {
      // Latched at edge e when the accumulator finished a last-K row at edge
      // e - 1; consumed at edge e + 1.
      const int c = static_cast<int>(index);
      const Slot s = slot_at(at_.output_latch_feed_of(e));
      if (!s.fold || !s.fold->last_k || c >= s.fold->n_count) return std::nullopt;
      return Target{s.fold->m0 + s.i, s.fold->n0 + c};
    }
    default:
      throw Error(fmt::format("the register oracle does not cover group {}", register_info(group).group_name));
  }
}

std::int64_t RegisterOracle::value(RegisterGroup group, std::int64_t index, std::int64_t e) const {
  const int R = rows_, C = cols_;
  switch (group) {
    case RegisterGroup::kPeA:
    case RegisterGroup::kPeValid:
    case RegisterGroup::kPePropagate: {
      const int r = static_cast<int>(index / C), c = static_cast<int>(index % C);
      const Operand o = operand(slot_at(at_.pe_feed_of(e, r, c)), r);
      return group == RegisterGroup::kPeA ? o.a : group == RegisterGroup::kPeValid ? o.valid : o.propagate;
    }
    case RegisterGroup::kSkew: {
      const auto [r, stage] = skew_row_stage(index);
      const Operand o = operand(slot_at(at_.skew_feed_of(e, stage)), r);
      return (o.a & 0xff) | (o.valid << 8) | (o.propagate << 9);
    }
    case RegisterGroup::kPeW0:
    case RegisterGroup::kPeW1: {
      const int r = static_cast<int>(index / C), c = static_cast<int>(index % C);
      return weight_register(r, c, group == RegisterGroup::kPeW1 ? 1 : 0, e);
    }
    case RegisterGroup::kPeD: {
      // d(r, c) after edge e: the top feed the array consumed at edge e - r,
      // i.e. the controller's schedule cycle e - r - 1.
      const int r = static_cast<int>(index / C), c = static_cast<int>(index % C);
      const auto [f, row] = weight_fed_at(at_.d_feed_of(e, r));
      return f ? fold_weight(*f, row, c) : 0;
    }
    case RegisterGroup::kPePsum: {
      const int r = static_cast<int>(index / C), c = static_cast<int>(index % C);
      const Slot s = slot_at(at_.pe_feed_of(e, r, c));
      return s.fold ? partial(*s.fold, s.i, c, r + 1) : 0;
    }
    case RegisterGroup::kDeskew: {
      const auto [c, stage] = deskew_column_stage(index, C);
      const Slot s = slot_at(at_.deskew_feed_of(e, c, stage));
      return s.fold ? partial(*s.fold, s.i, c, R) : 0;
    }
    case RegisterGroup::kAccumulator: {
      const int m_local = static_cast<int>(index / C), c = static_cast<int>(index % C);
      // The last access at or before edge e wrote the value.
      std::int64_t best = -1;
      std::size_t last = 0;
      for (std::size_t j = 0; j < schedule_.folds.size(); ++j) {
        const Fold& f = schedule_.folds[j];
        if (m_local >= f.rows || c >= f.n_count) continue;
        const std::int64_t edge = access_edge(f, m_local);
        if (edge <= e && edge > best) best = edge, last = j;
      }
      return best < 0 ? 0 : word_after(last, m_local, c);
    }
    case RegisterGroup::kOutputStage: {
      // The last row latched at or before edge e with column c in use.
      const int c = static_cast<int>(index);
      std::int64_t best = -1;
      std::int32_t v = 0;
      for (const Fold& f : schedule_.folds) {
        if (!f.last_k || c >= f.n_count) continue;
        for (int i = 0; i < f.rows; ++i) {
          const std::int64_t latch = at_.output_latch(FoldTiming::feed(f, i));
          if (latch > e) break;
          if (latch > best) best = latch, v = final_acc(f.m0 + i, f.n0 + c);
        }
      }
      return v;
    }
    case RegisterGroup::kIfmapBuffer:
      return job_.input[static_cast<std::size_t>(index)];
    case RegisterGroup::kWeightBuffer: {
      const auto [n, k] = job_.gemm.weight_of_word(index);
      return job_.weight[static_cast<std::size_t>(n) * job_.gemm.k + static_cast<std::size_t>(k)];
    }
    case RegisterGroup::kOutputBuffer: {
      // Cleared when the layer starts; written once by the output stage.
      const int m = static_cast<int>(index % job_.gemm.m), n = static_cast<int>(index / job_.gemm.m);
      return output_write_edge(m, n) <= e ? final_out(m, n) : 0;
    }
  }
  throw Error(fmt::format("the register oracle does not cover group {}", register_info(group).group_name));
}

std::unique_ptr<LayerOracle> make_layer_oracle(const QuantizedModel& model, int layer, const InferenceTrace& golden,
                                               const ArrayConfig& array) {
  const int input = model.arch.layer(layer).input;
  auto context = std::make_unique<LayerOracle>();
  context->job = make_layer_job(model, layer, input < 0 ? golden.input : golden.out[static_cast<std::size_t>(input)]);
  context->schedule = make_layer_schedule(context->job.gemm, array);
  context->oracle = std::make_unique<RegisterOracle>(context->job, context->schedule);
  return context;
}

}  // namespace isimdl
