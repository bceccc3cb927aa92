// The accumulator path: the int32 accumulator buffer words that sum a
// layer's K-folds, and the output stage's input registers that hold a
// finished row for requantization.
#include "hw/kinds/kinds.h"

#include <algorithm>
#include <cstdint>

namespace isimdl::kinds {
namespace {

using Holding = RegisterOracle::Holding;

// Word m_local * C + c: the row of vector m_local of the current M-tile,
// column c. Every fold that streams that vector through column c accesses it
// at at.accumulate(t): the first K-fold writes bias + psum, later ones
// read-modify-write.
class AccumulatorWord : public RegisterKind {
 public:
  using RegisterKind::RegisterKind;

  LiveIntervals live(const LayerSchedule& s, const LayerGeometry&) const override {
    // Live from one access to the next when the next one reads it (a later
    // K-fold of the same outputs); dead after the last access.
    LiveIntervals out(static_cast<std::size_t>(s.m_tile) * s.cols);
    for (int m = 0; m < s.m_tile; ++m)
      for (int c = 0; c < s.cols; ++c) {
        std::vector<std::pair<std::int64_t, const Fold*>> accesses;
        for (const Fold& f : s.folds)
          if (m < f.results && c < f.c_count) accesses.push_back({s.at.accumulate(f.result_time(m)), &f});
        std::sort(accesses.begin(), accesses.end());
        for (std::size_t i = 0; i + 1 < accesses.size(); ++i)
          if (!accesses[i + 1].second->first_k)
            add_live(out[static_cast<std::size_t>(m) * s.cols + c], accesses[i].first, accesses[i + 1].first);
      }
    return out;
  }
  std::int64_t value(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [m_local, c] = row_column(index, o.cols());
    const std::size_t last = last_access(o, m_local, c, e);
    return last == kNone ? 0 : o.word_after(last, m_local, c);
  }
  Holding holds(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [m_local, c] = row_column(index, o.cols());
    Holding h;
    const std::size_t last = last_access(o, m_local, c, e);
    if (last == kNone) return h;
    const Fold& f = o.schedule().folds[last];
    h.kind = Holding::Kind::kAccumulator;
    h.m = o.schedule().m_of(f.v0 + m_local, f.c0 + c);
    h.n = o.schedule().n_of(f.v0 + m_local, f.c0 + c);
    h.k = 0;
    h.terms = f.k0 - f.group * o.job().gemm.k_per_group() + f.k_count;  // the group's K so far
    h.fold = f.index;
    return h;
  }
  void effect(const RegisterOracle& o, std::int64_t index, std::int64_t e, std::int64_t before, std::int64_t after,
              std::vector<RegisterOracle::Change>& out) const override {
    // The next access after edge e decides: a read-modify-write carries the
    // change into that output's final sum; an overwrite (first K-fold) kills it.
    const auto [m_local, c] = row_column(index, o.cols());
    const Fold* next = nullptr;
    std::int64_t best = INT64_MAX;
    for (const Fold& f : o.schedule().folds) {
      if (m_local >= f.results || c >= f.c_count) continue;
      const std::int64_t edge = o.access_edge(f, m_local);
      if (edge > e && edge < best) best = edge, next = &f;
    }
    if (!next || next->first_k) return;
    out.push_back(o.change(next->v0 + m_local, next->c0 + c, delta32(before, after)));
  }

 private:
  static constexpr std::size_t kNone = SIZE_MAX;
  // The fold whose access to (m_local, c) was the last at or before edge e.
  static std::size_t last_access(const RegisterOracle& o, int m_local, int c, std::int64_t e) {
    std::int64_t best = -1;
    std::size_t last = kNone;
    const auto& folds = o.schedule().folds;
    for (std::size_t j = 0; j < folds.size(); ++j) {
      const Fold& f = folds[j];
      if (m_local >= f.results || c >= f.c_count) continue;
      const std::int64_t edge = o.access_edge(f, m_local);
      if (edge <= e && edge > best) best = edge, last = j;
    }
    return last;
  }
};

// acc_c: latched at at.output_latch(t) with column c of a last-K row,
// requantized and written at the next edge.
class OutputStageRegister : public RegisterKind {
 public:
  using RegisterKind::RegisterKind;

  LiveIntervals live(const LayerSchedule& s, const LayerGeometry&) const override {
    LiveIntervals out(static_cast<std::size_t>(s.cols));
    for (int c = 0; c < s.cols; ++c)
      for (const Fold& f : s.folds)
        if (f.last_k && c < f.c_count)
          for (int i = 0; i < f.results; ++i) {
            const std::int64_t e = s.at.output_latch(f.result_time(i));
            add_live(out[static_cast<std::size_t>(c)], e, e + 1);
          }
    return out;
  }
  std::int64_t value(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const Holding h = holds(o, index, e);
    return h.kind == Holding::Kind::kNothing ? 0 : o.final_acc(h.m, h.n);
  }
  Holding holds(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    // The last row latched at or before edge e with column c in use.
    const int c = static_cast<int>(index);
    Holding h;
    std::int64_t best = -1;
    for (const Fold& f : o.schedule().folds) {
      if (!f.last_k || c >= f.c_count) continue;
      for (int i = 0; i < f.results; ++i) {
        const std::int64_t latch = o.at().output_latch(f.result_time(i));
        if (latch > e) break;
        if (latch > best) {
          best = latch;
          h.kind = Holding::Kind::kAccumulator;
          h.m = o.schedule().m_of(f.v0 + i, f.c0 + c);
          h.n = o.schedule().n_of(f.v0 + i, f.c0 + c);
          h.k = 0;
          h.terms = o.job().gemm.k_per_group();
          h.fold = f.index;
        }
      }
    }
    return h;
  }
  void effect(const RegisterOracle& o, std::int64_t index, std::int64_t e, std::int64_t before, std::int64_t after,
              std::vector<RegisterOracle::Change>& out) const override {
    // Latched at edge e for a last-K row: consumed at edge e + 1.
    const int c = static_cast<int>(index);
    const auto [f, i] = o.schedule().result_at(o.at().output_latch_feed_of(e));
    if (!f || !f->last_k || c >= f->c_count) return;
    out.push_back(o.change(f->v0 + i, f->c0 + c, delta32(before, after)));
  }
};

}  // namespace

std::unique_ptr<RegisterKind> accumulator() {
  RegisterInfo info{RegisterGroup::kAccumulator, "accumulator", Placement::kAccumulatorWord, {{"word", 0, 32, true}},
                    "accumulator buffer word (int32), sums K-folds"};
  info.array_side = false;
  return std::make_unique<AccumulatorWord>(std::move(info));
}

std::unique_ptr<RegisterKind> output_stage() {
  RegisterInfo info{RegisterGroup::kOutputStage, "output_stage", Placement::kColumn, {{"acc", 0, 32, true}},
                    "output stage input register per column: the accumulator word being requantized"};
  info.array_side = false;
  return std::make_unique<OutputStageRegister>(std::move(info));
}

}  // namespace isimdl::kinds
