// The partial-sum path of the array: the psum a PE passes down, and the
// de-skew stages that align a row's column sums for the accumulator. Values
// are only ever added to, so a change reaches exactly one output's final
// accumulator, unchanged — or none, when the value is dead.
#include <algorithm>

#include "hw/kinds/kinds.h"

namespace isimdl::kinds {
namespace {

using Holding = RegisterOracle::Holding;

// psum of PE(r, c): the sum over rows 0..r of the vector fed at t, after
// edge at.pe_edge(t, r, c). The bottom row's go into the de-skew (the last
// column's is the array's output register the accumulator reads).
class PePsum : public RegisterKind {
 public:
  using RegisterKind::RegisterKind;
  LiveIntervals live(const LayerSchedule& s, const LayerGeometry&) const override {
    return per_pe(s, [&](int r, int c, const Fold& f) {
      if (c >= f.c_count) return LiveInterval{};
      return streamed(f, [&](std::int64_t t) { return s.at.pe_edge(t, r, c); });
    });
  }
  Holding holds(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const Place p = place(o, index, e);
    const RegisterOracle::Slot s = o.slot_at(p.t);
    Holding h;
    if (!s.fold || p.c >= s.fold->c_count) return h;
    h.kind = Holding::Kind::kPartialSum;
    h.m = o.schedule().m_of(s.fold->v0 + s.i, s.fold->c0 + p.c);
    h.n = o.schedule().n_of(s.fold->v0 + s.i, s.fold->c0 + p.c);
    h.k = s.fold->k0;
    h.terms = std::min(p.r + 1, s.fold->k_count);
    h.fold = s.fold->index;
    return h;
  }
  std::int64_t value(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const Place p = place(o, index, e);
    const RegisterOracle::Slot s = o.slot_at(p.t);
    return s.fold ? o.partial(*s.fold, s.i, p.c, p.r + 1) : 0;
  }
  void effect(const RegisterOracle& o, std::int64_t index, std::int64_t e, std::int64_t before, std::int64_t after,
              std::vector<RegisterOracle::Change>& out) const override {
    // The sum goes on down the column (or through the de-skew) into the
    // accumulator; an idle slot's or a column beyond N's is never accumulated.
    const Place p = place(o, index, e);
    const RegisterOracle::Slot s = o.slot_at(p.t);
    if (!s.fold || p.c >= s.fold->c_count) return;
    out.push_back(o.change(s.fold->v0 + s.i, s.fold->c0 + p.c, delta32(before, after)));
  }

 private:
  // Where instance `index` sits: its PE row and column, and the feed cycle
  // of the vector whose sum it holds after edge e.
  struct Place {
    int r = 0, c = 0;
    std::int64_t t = 0;
  };
  static Place place(const RegisterOracle& o, std::int64_t index, std::int64_t e) {
    const auto [r, c] = row_column(index, o.cols());
    return {r, c, o.at().pe_feed_of(e, r, c)};
  }
};

// De-skew stage s of column c: the column's sum of the result row leaving
// the array as if fed at t (LayerSchedule::result_at: the vector itself, or
// output-stationary's drained row) after edge at.deskew_edge(t, c, s); the
// last stage is the column's output register, read by the accumulator at
// the next edge.
class DeskewStage : public RegisterKind {
 public:
  using RegisterKind::RegisterKind;
  LiveIntervals live(const LayerSchedule& s, const LayerGeometry&) const override {
    LiveIntervals out(static_cast<std::size_t>(s.cols) * (s.cols - 1) / 2);
    for (auto& list : out) list.reserve(s.folds.size());  // at most one interval per fold
    std::size_t index = 0;
    for (int c = 0; c + 1 < s.cols; ++c)
      for (int st = 0; st < s.cols - 1 - c; ++st, ++index)
        for (const Fold& f : s.folds)
          if (c < f.c_count)
            add_live(out[index], s.at.deskew_edge(f.result_start, c, st),
                     s.at.deskew_edge(f.result_time(f.results - 1), c, st) + 1);
    return out;
  }
  Holding holds(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [c, stage] = deskew_column_stage(index, o.cols());
    const auto [f, i] = o.schedule().result_at(o.at().deskew_feed_of(e, c, stage));
    Holding h;
    if (!f || c >= f->c_count) return h;
    h.kind = Holding::Kind::kPartialSum;
    h.m = o.schedule().m_of(f->v0 + i, f->c0 + c);
    h.n = o.schedule().n_of(f->v0 + i, f->c0 + c);
    h.k = f->k0;
    h.terms = o.schedule().output_stationary() ? f->k_count : std::min(o.rows(), f->k_count);
    h.fold = f->index;
    return h;
  }
  std::int64_t value(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [c, stage] = deskew_column_stage(index, o.cols());
    const auto [f, i] = o.schedule().result_at(o.at().deskew_feed_of(e, c, stage));
    return f ? o.result_sum(*f, i, c) : 0;
  }
  void effect(const RegisterOracle& o, std::int64_t index, std::int64_t e, std::int64_t before, std::int64_t after,
              std::vector<RegisterOracle::Change>& out) const override {
    // Into the accumulator with its row; a row that is no result, or a
    // column beyond N, is never accumulated.
    const auto [c, stage] = deskew_column_stage(index, o.cols());
    const auto [f, i] = o.schedule().result_at(o.at().deskew_feed_of(e, c, stage));
    if (!f || c >= f->c_count) return;
    out.push_back(o.change(f->v0 + i, f->c0 + c, delta32(before, after)));
  }
};

}  // namespace

std::unique_ptr<RegisterKind> pe_psum() {
  RegisterInfo info{RegisterGroup::kPePsum, "pe_psum", Placement::kPe, {{"psum", 0, 32, true}},
                    "PE partial sum, passed to the PE below each cycle"};
  info.rtl_saboteur = 1;
  return std::make_unique<PePsum>(std::move(info));
}

std::unique_ptr<RegisterKind> deskew() {
  RegisterInfo info{RegisterGroup::kDeskew, "deskew", Placement::kDeskewStage, {{"psum", 0, 32, true}},
                    "output de-skew register: column c delays results by C-1-c cycles so a row leaves aligned"};
  info.rtl_saboteur = 8;
  return std::make_unique<DeskewStage>(std::move(info));
}

}  // namespace isimdl::kinds
