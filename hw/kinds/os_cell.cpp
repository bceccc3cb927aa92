// The output-stationary cell (docs/hardware.md, "Output-stationary"): the
// registers of the same grid mean other things when the outputs stay. a
// (with valid) carries A[v0 + r][k] right, d carries W[c0 + c][k] down and is
// multiplied as it passes, psum holds the output being summed, the
// propagate tag is the drain tag that moves psum into the out chain, and
// out carries finished sums down to the de-skew. The weight registers are
// absent. Everything here is read off the fold timing (LayerSchedule::at and
// Fold::result_start): vector i of fold f is fed in cycle s + i (s =
// stream_start) into every row, the weight of column c in cycle s + i + c
// into the top of the d path, and the drain tag of row r in cycle
// FoldTiming::drain_feed(f, r); row r's finished sums then leave the bottom
// as if fed in that cycle (Fold::result_time(r)).
#include <algorithm>

#include "hw/kinds/kinds.h"

namespace isimdl::kinds {
namespace {

using Holding = RegisterOracle::Holding;
using Operand = RegisterOracle::Operand;
using Change = RegisterOracle::Change;

// The fold timing of an output-stationary layer, with its fault-free values.
class OsCell {
 public:
  explicit OsCell(const RegisterOracle& o) : o_(o), s_(o.schedule()), at_(o.at()) {}

  // The feed of row r in cycle t: the operand of the fold streaming then (if
  // the row holds one of its M rows) and the drain tag.
  Operand feed(std::int64_t t, int r) const {
    Operand op;
    for (const Fold& f : s_.folds) {
      const std::int64_t i = t - f.stream_start;
      if (i >= 0 && i < f.vectors && r < f.results) {
        op.valid = 1;
        op.a = o_.activation(f.v0 + r, f.k0 + static_cast<int>(i));
      }
      if (t == FoldTiming::drain_feed(f, r)) op.propagate = 1;
    }
    return op;
  }
  // The fold (and vector) whose operand row r carries in cycle t.
  RegisterOracle::Slot vector_at(std::int64_t t, int r) const {
    for (const Fold& f : s_.folds) {
      const std::int64_t i = t - f.stream_start;
      if (i >= 0 && i < f.vectors && r < f.results) return {&f, static_cast<int>(i)};
    }
    return {};
  }
  // The weight fed into the top of column c in cycle t, and its fold and K-step.
  struct Top {
    const Fold* fold = nullptr;
    int i = 0;
    std::int32_t w = 0;
  };
  Top top(int c, std::int64_t t) const {
    for (const Fold& f : s_.folds) {
      const std::int64_t i = t - f.stream_start - c;
      if (i >= 0 && i < f.vectors && c < f.c_count)
        return {&f, static_cast<int>(i), weight(f.c0 + c, f.k0 + static_cast<int>(i))};
    }
    return {};
  }
  std::int32_t weight(int n, int k) const {
    return o_.job().weight[static_cast<std::size_t>(n) * o_.job().gemm.k + static_cast<std::size_t>(k)];
  }

  // The fold whose drain at PE(r, c) is the first after edge e: what psum
  // holds after e is summed into the output that drain delivers.
  const Fold* next_drain(int r, int c, std::int64_t e) const {
    for (const Fold& f : s_.folds)
      if (at_.drain_edge(f, r, c) > e) return &f;
    return nullptr;
  }
  // The MACs of fold f at PE(r, c) up to edge e (vector i's at pe_edge(s + i, r, c)).
  int macs_by(const Fold& f, int r, int c, std::int64_t e) const {
    return static_cast<int>(std::clamp<std::int64_t>(e - f.stream_start - r - c, 0, f.vectors));
  }
  // Sum over the first `terms` K-steps of output (v0 + r, c0 + c) of fold f
  // (0 for a row or column the fold does not use).
  std::int32_t sum(const Fold& f, int r, int c, int terms) const {
    if (r >= f.results || c >= f.c_count) return 0;
    std::uint32_t acc = 0;
    for (int i = 0; i < terms; ++i)
      acc += static_cast<std::uint32_t>(o_.activation(f.v0 + r, f.k0 + i) * weight(f.c0 + c, f.k0 + i));
    return static_cast<std::int32_t>(acc);
  }
  // psum of PE(r, c) after edge e.
  std::int32_t psum(int r, int c, std::int64_t e) const {
    const Fold* f = next_drain(r, c, e);
    return f ? sum(*f, r, c, macs_by(*f, r, c, e)) : 0;
  }
  // The result row in the out chain's slot t at row r (loaded at row i <= r):
  // the out register of PE(r, c) holds the slot pe_feed_of(e, r, c) after e.
  std::pair<const Fold*, int> out_slot(std::int64_t t, int r) const {
    const auto [f, i] = s_.result_at(t);
    if (!f || i > r) return {nullptr, 0};
    return {f, i};
  }
  // The output a change summed into PE(r, c)'s psum reaches (via fold f's drain), if any.
  void to_output(const Fold* f, int r, int c, std::int32_t delta, std::vector<Change>& out) const {
    if (!f || r >= f->results || c >= f->c_count || delta == 0) return;
    out.push_back({f->v0 + r, f->c0 + c, delta});
  }

  // Row r's feed of cycle t changed from `was` to `now` (in a register that
  // feeds PE(r, first_col) next): the MAC and the drain at each PE(r, c')
  // from there on.
  void row_change(std::int64_t t, int r, int first_col, const Operand& was, const Operand& now,
                  std::vector<Change>& out) const {
    for (int c = first_col; c < s_.cols; ++c) {
      const std::int64_t x = at_.pe_edge(t, r, c);
      const std::int32_t d = top(c, t + c).w;  // d_in of PE(r, c) at edge x
      const std::int32_t before = was.valid ? was.a * d : 0;
      const std::int32_t after = now.valid ? now.a * d : 0;
      std::int32_t psum_delta = delta32(before, after);
      if (was.propagate != now.propagate) {
        // A drain moves P into the out chain's slot t and restarts the sum;
        // without it the out register takes the slot from above.
        const std::int32_t p = psum(r, c, x - 1);
        psum_delta = static_cast<std::int32_t>(static_cast<std::uint32_t>(psum_delta) +
                                               static_cast<std::uint32_t>(delta32(was.propagate ? 0 : p, now.propagate ? 0 : p)));
        const std::int32_t above = r == 0 ? 0 : out_value(r - 1, c, x - 1);
        const auto [f, i] = out_slot(t, r);
        to_output(f, i, c, delta32(was.propagate ? p : above, now.propagate ? p : above), out);
      }
      to_output(next_drain(r, c, x), r, c, psum_delta, out);
    }
  }
  std::int32_t out_value(int r, int c, std::int64_t e) const {
    const auto [f, i] = out_slot(at_.pe_feed_of(e, r, c), r);
    return f ? sum(*f, i, c, f->vectors) : 0;
  }

 private:
  const RegisterOracle& o_;
  const LayerSchedule& s_;
  const FoldTiming& at_;
};

// A PE's sum of output (v0 + row, c0 + c) of fold f over its first `terms` K-steps.
Holding output_holding(const Fold& f, int row, int c, int terms) {
  Holding h;
  h.kind = Holding::Kind::kPartialSum;
  h.m = f.v0 + row;
  h.n = f.c0 + c;
  h.k = f.k0;
  h.terms = terms;
  h.fold = f.index;
  return h;
}

// The live interval of row r's drain tag in fold f, at the register row r's
// feed of cycle t passes at edge(t): from the fold's first vector to the
// row's own drain, or, in a row the fold does not use, while the rows above
// pass theirs.
template <typename Edge>
void add_drain_live(std::vector<LiveInterval>& list, const Fold& f, int r, Edge&& edge) {
  if (r < f.results)
    add_live(list, edge(f.stream_start), edge(FoldTiming::drain_feed(f, r)) + 1);
  else
    add_live(list, edge(f.result_start), edge(f.result_start + f.results - 1) + 1);
}

Holding activation_holding(const RegisterOracle& o, const OsCell& cell, std::int64_t t, int r) {
  Holding h;
  const RegisterOracle::Slot v = cell.vector_at(t, r);
  if (v.fold) h = o.stream_holding(v.fold->v0 + r, v.fold->k0 + v.i, v.fold->index);
  h.drain = cell.feed(t, r).propagate;
  return h;
}

// a, valid or propagate (the drain tag) of PE(r, c): row r's feed of cycle
// t after at.pe_edge(t, r, c), for the PEs on its right.
class OsOperand : public RegisterKind {
 public:
  enum class Field { kA, kValid, kDrain };
  OsOperand(RegisterInfo info, Field field) : RegisterKind(std::move(info)), field_(field) {}

  LiveIntervals live(const LayerSchedule& s, const LayerGeometry&) const override {
    LiveIntervals out(static_cast<std::size_t>(s.rows) * s.cols);
    for (int r = 0; r < s.rows; ++r)
      for (int c = 0; c < s.cols; ++c)
        for (const Fold& f : s.folds)
          live_fold(s, f, r, c, out[static_cast<std::size_t>(r) * s.cols + c]);
    return out;
  }
  std::int64_t value(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [r, c] = row_column(index, o.cols());
    const Operand op = OsCell(o).feed(o.at().pe_feed_of(e, r, c), r);
    return field_ == Field::kA ? op.a : field_ == Field::kValid ? op.valid : op.propagate;
  }
  Holding holds(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [r, c] = row_column(index, o.cols());
    return activation_holding(o, OsCell(o), o.at().pe_feed_of(e, r, c), r);
  }
  void effect(const RegisterOracle& o, std::int64_t index, std::int64_t e, std::int64_t, std::int64_t after,
              std::vector<Change>& out) const override {
    const auto [r, c] = row_column(index, o.cols());
    const OsCell cell(o);
    const std::int64_t t = o.at().pe_feed_of(e, r, c);
    const Operand was = cell.feed(t, r);
    Operand now = was;
    if (field_ == Field::kA) now.a = static_cast<std::int32_t>(after);
    if (field_ == Field::kValid) now.valid = static_cast<int>(after & 1);
    if (field_ == Field::kDrain) now.propagate = static_cast<int>(after & 1);
    cell.row_change(t, r, c + 1, was, now, out);
  }

 private:
  void live_fold(const LayerSchedule& s, const Fold& f, int r, int c, std::vector<LiveInterval>& list) const {
    // Needs a PE on the right: the interval lists are built per fold in order.
    if (c + 1 >= f.c_count) return;
    const auto edge = [&](std::int64_t t) { return s.at.pe_edge(t, r, c); };
    if (field_ == Field::kDrain) {
      add_drain_live(list, f, r, edge);
    } else if (r < f.results) {
      add_live(list, edge(f.stream_start), edge(f.stream_start + f.vectors - 1) + 1);
    }
  }
  Field field_;
};

// Skew stage st of row r: row r's feed of cycle t after at.skew_edge(t, st),
// in one word, on its way to PE(r, 0).
class OsSkew : public RegisterKind {
 public:
  using RegisterKind::RegisterKind;
  LiveIntervals live(const LayerSchedule& s, const LayerGeometry&) const override {
    LiveIntervals out(static_cast<std::size_t>(s.rows) * (s.rows - 1) / 2);
    for (int r = 1; r < s.rows; ++r)
      for (int st = 0; st < r; ++st) {
        auto& list = out[static_cast<std::size_t>(r) * (r - 1) / 2 + st];
        const auto edge = [&](std::int64_t t) { return s.at.skew_edge(t, st); };
        // The operand and the drain tag in one word: live as the tag is.
        for (const Fold& f : s.folds) add_drain_live(list, f, r, edge);
      }
    return out;
  }
  std::int64_t value(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [r, stage] = skew_row_stage(index);
    const Operand op = OsCell(o).feed(o.at().skew_feed_of(e, stage), r);
    return info().pack({op.a, op.valid, op.propagate});
  }
  Holding holds(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [r, stage] = skew_row_stage(index);
    return activation_holding(o, OsCell(o), o.at().skew_feed_of(e, stage), r);
  }
  void effect(const RegisterOracle& o, std::int64_t index, std::int64_t e, std::int64_t, std::int64_t after,
              std::vector<Change>& out) const override {
    const auto [r, stage] = skew_row_stage(index);
    const OsCell cell(o);
    const std::int64_t t = o.at().skew_feed_of(e, stage);
    const Operand was = cell.feed(t, r);
    Operand now;
    now.a = static_cast<std::int32_t>(info().unpack(after, 0));
    now.valid = static_cast<int>(info().unpack(after, 1));
    now.propagate = static_cast<int>(info().unpack(after, 2));
    cell.row_change(t, r, 0, was, now, out);
  }
};

// d of PE(r, c): the weight fed into the top of column c in cycle t after
// at.d_edge(t, r); PE(r', c) below multiplies it with row r''s operand of
// cycle t - c at edge at.d_edge(t, r').
class OsWeightPath : public RegisterKind {
 public:
  using RegisterKind::RegisterKind;
  LiveIntervals live(const LayerSchedule& s, const LayerGeometry&) const override {
    return per_pe(s, [&](int r, int c, const Fold& f) {
      if (r + 1 >= f.results || c >= f.c_count) return LiveInterval{};
      return LiveInterval{s.at.d_edge(f.stream_start + c, r), s.at.d_edge(f.stream_start + f.vectors - 1 + c, r) + 1};
    });
  }
  std::int64_t value(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [r, c] = row_column(index, o.cols());
    return OsCell(o).top(c, o.at().d_feed_of(e, r)).w;
  }
  Holding holds(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [r, c] = row_column(index, o.cols());
    const OsCell::Top top = OsCell(o).top(c, o.at().d_feed_of(e, r));
    Holding h;
    if (top.fold) {
      h.kind = Holding::Kind::kWeight;
      h.n = top.fold->c0 + c;
      h.k = top.fold->k0 + top.i;
      h.fold = top.fold->index;
    }
    return h;
  }
  void effect(const RegisterOracle& o, std::int64_t index, std::int64_t e, std::int64_t before, std::int64_t after,
              std::vector<Change>& out) const override {
    const auto [r, c] = row_column(index, o.cols());
    const OsCell cell(o);
    const std::int64_t t = o.at().d_feed_of(e, r);
    const std::int32_t dw = delta32(before, after);
    for (int rr = r + 1; rr < o.rows(); ++rr) {
      const Operand op = cell.feed(t - c, rr);
      if (!op.valid || op.a == 0) continue;
      const std::int64_t x = o.at().d_edge(t, rr);
      cell.to_output(cell.next_drain(rr, c, x), rr, c, op.a * dw, out);
    }
  }
};

// psum of PE(r, c): the sum of its output so far; a change is delivered by
// the PE's next drain.
class OsPsum : public RegisterKind {
 public:
  using RegisterKind::RegisterKind;
  LiveIntervals live(const LayerSchedule& s, const LayerGeometry&) const override {
    LiveIntervals out(static_cast<std::size_t>(s.rows) * s.cols);
    for (int r = 0; r < s.rows; ++r)
      for (int c = 0; c < s.cols; ++c) {
        std::int64_t previous = 0;  // the edge after the previous drain
        for (const Fold& f : s.folds) {
          const std::int64_t drain = s.at.drain_edge(f, r, c);
          if (r < f.results && c < f.c_count) add_live(out[static_cast<std::size_t>(r) * s.cols + c], previous, drain);
          previous = drain;
        }
      }
    return out;
  }
  std::int64_t value(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [r, c] = row_column(index, o.cols());
    return OsCell(o).psum(r, c, e);
  }
  Holding holds(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [r, c] = row_column(index, o.cols());
    const OsCell cell(o);
    Holding h;
    const Fold* f = cell.next_drain(r, c, e);
    if (!f || r >= f->results || c >= f->c_count) return h;
    const int terms = cell.macs_by(*f, r, c, e);
    return terms == 0 ? h : output_holding(*f, r, c, terms);
  }
  void effect(const RegisterOracle& o, std::int64_t index, std::int64_t e, std::int64_t before, std::int64_t after,
              std::vector<Change>& out) const override {
    const auto [r, c] = row_column(index, o.cols());
    const OsCell cell(o);
    cell.to_output(cell.next_drain(r, c, e), r, c, delta32(before, after), out);
  }
};

// out of PE(r, c): the out chain's slot pe_feed_of(e, r, c), which holds the
// finished sum of result row i of a fold from row i down to the bottom (the
// bottom row's feed the de-skew).
class OsOut : public RegisterKind {
 public:
  using RegisterKind::RegisterKind;
  LiveIntervals live(const LayerSchedule& s, const LayerGeometry&) const override {
    return per_pe(s, [&](int r, int c, const Fold& f) {
      if (c >= f.c_count) return LiveInterval{};
      const int last = std::min(r, f.results - 1);
      return LiveInterval{s.at.pe_edge(f.result_start, r, c), s.at.pe_edge(f.result_start + last, r, c) + 1};
    });
  }
  std::int64_t value(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [r, c] = row_column(index, o.cols());
    return OsCell(o).out_value(r, c, e);
  }
  Holding holds(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [r, c] = row_column(index, o.cols());
    const auto [f, i] = OsCell(o).out_slot(o.at().pe_feed_of(e, r, c), r);
    return !f || c >= f->c_count ? Holding{} : output_holding(*f, i, c, f->vectors);
  }
  void effect(const RegisterOracle& o, std::int64_t index, std::int64_t e, std::int64_t before, std::int64_t after,
              std::vector<Change>& out) const override {
    const auto [r, c] = row_column(index, o.cols());
    const OsCell cell(o);
    const auto [f, i] = cell.out_slot(o.at().pe_feed_of(e, r, c), r);
    cell.to_output(f, i, c, delta32(before, after), out);
  }
};

RegisterInfo os_info(const RegisterKind& common, const char* description, const char* role = nullptr) {
  RegisterInfo info = common.info();
  info.description = description;
  if (role) info.role = role;
  return info;
}

}  // namespace

std::unique_ptr<RegisterKind> os_kind(RegisterGroup group, const RegisterKind& common) {
  switch (group) {
    case RegisterGroup::kPeA:
      return std::make_unique<OsOperand>(
          os_info(common, "PE activation register: A[m][k] of the PE's row, passed right each cycle"), OsOperand::Field::kA);
    case RegisterGroup::kPeValid:
      return std::make_unique<OsOperand>(
          os_info(common, "PE tag travelling with the activation: the MAC happens only when set"), OsOperand::Field::kValid);
    case RegisterGroup::kPePropagate:
      return std::make_unique<OsOperand>(
          os_info(common, "PE drain tag travelling with the activation: moves psum into out and restarts the sum",
                  "the drain tag of "),
          OsOperand::Field::kDrain);
    case RegisterGroup::kSkew:
      return std::make_unique<OsSkew>(
          os_info(common, "input skew register, row r has r of them: bits 0-7 activation, bit 8 valid, bit 9 drain"));
    case RegisterGroup::kPeD:
      return std::make_unique<OsWeightPath>(
          os_info(common, "PE weight path: W[n][k] of the PE's column, multiplied as it passes down each cycle"));
    case RegisterGroup::kPePsum:
      return std::make_unique<OsPsum>(os_info(common, "PE output register: the PE's output summed in place"));
    case RegisterGroup::kPeOut:
      return std::make_unique<OsOut>(common.info());
    default:
      return nullptr;
  }
}

std::unique_ptr<RegisterKind> pe_out() {
  RegisterInfo info{RegisterGroup::kPeOut, "pe_out", Placement::kPe, {{"out", 0, 32, true}},
                    "output-stationary out chain: a drained output moving down the column to the de-skew"};
  info.dataflows = 1u << static_cast<unsigned>(Dataflow::kOutputStationary);
  info.rtl_saboteur = 9;  // tests/rtl/pe_array_os.v
  return std::make_unique<OsOut>(std::move(info));
}

}  // namespace isimdl::kinds
