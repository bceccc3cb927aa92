// The accumulator path: the int32 accumulator buffer words that sum a
// layer's K-folds, and the output stage's input registers that hold a
// finished row for requantization.
#include "hw/kinds/kinds.h"

#include <algorithm>
#include <cstdint>

namespace isimdl::kinds {
namespace {

using Holding = RegisterOracle::Holding;

// Word a * C + c: accumulator row a (LayerSchedule::accumulator_row of a
// fold's result row i: i itself for a weight- or input-stationary tile;
// output-stationary rows wrap), column c. Every result row that uses it is
// an access at at.accumulate(its result time): the first K-fold writes bias
// + the row's sum, later ones read-modify-write.
class AccumulatorWord : public RegisterKind {
 public:
  using RegisterKind::RegisterKind;

  LiveIntervals live(const LayerSchedule& s, const LayerGeometry&) const override {
    // Live from one access to the next when the next one reads it (a later
    // K-fold of the same outputs); dead after the last access.
    LiveIntervals out(static_cast<std::size_t>(s.m_tile) * s.cols);
    for (int a = 0; a < s.m_tile; ++a)
      for (int c = 0; c < s.cols; ++c) {
        const std::vector<Access> list = accesses(s, a, c);
        for (std::size_t i = 0; i + 1 < list.size(); ++i)
          if (!list[i + 1].fold->first_k) add_live(out[static_cast<std::size_t>(a) * s.cols + c], list[i].edge, list[i + 1].edge);
      }
    return out;
  }
  std::int64_t value(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [a, c] = row_column(index, o.cols());
    const Access last = last_access(o, a, c, e);
    return last.fold ? o.word_after(static_cast<std::size_t>(last.fold->index), last.i, c) : 0;
  }
  Holding holds(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [a, c] = row_column(index, o.cols());
    Holding h;
    const Access last = last_access(o, a, c, e);
    if (!last.fold) return h;
    const Fold& f = *last.fold;
    h.kind = Holding::Kind::kAccumulator;
    h.m = o.schedule().m_of(f.v0 + last.i, f.c0 + c);
    h.n = o.schedule().n_of(f.v0 + last.i, f.c0 + c);
    h.k = 0;
    h.terms = f.k0 - f.group * o.job().gemm.k_per_group() + f.k_count;  // the group's K so far
    h.fold = f.index;
    return h;
  }
  void effect(const RegisterOracle& o, std::int64_t index, std::int64_t e, std::int64_t before, std::int64_t after,
              std::vector<RegisterOracle::Change>& out) const override {
    // The next access after edge e decides: a read-modify-write carries the
    // change into that output's final sum; an overwrite (first K-fold) kills it.
    const auto [a, c] = row_column(index, o.cols());
    for (const Access& next : accesses(o.schedule(), a, c)) {
      if (next.edge <= e) continue;
      if (!next.fold->first_k) out.push_back(o.change(next.fold->v0 + next.i, next.fold->c0 + c, delta32(before, after)));
      return;
    }
  }

 private:
  struct Access {
    std::int64_t edge = -1;
    const Fold* fold = nullptr;
    int i = 0;  // the fold's result row
  };
  // The accesses to row a, column c, in edge order.
  static std::vector<Access> accesses(const LayerSchedule& s, int a, int c) {
    std::vector<Access> list;
    for (const Fold& f : s.folds)
      if (c < f.c_count)
        for (int i = a; i < f.results; i += s.m_tile) list.push_back({s.at.accumulate(f.result_time(i)), &f, i});
    std::sort(list.begin(), list.end(), [](const Access& x, const Access& y) { return x.edge < y.edge; });
    return list;
  }
  // The last access to row a, column c at or before edge e.
  static Access last_access(const RegisterOracle& o, int a, int c, std::int64_t e) {
    Access last;
    for (const Access& x : accesses(o.schedule(), a, c))
      if (x.edge <= e) last = x;
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
