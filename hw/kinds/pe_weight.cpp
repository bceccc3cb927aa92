// The weight path: the two weight registers of a PE (double buffering: even
// folds use w0, odd folds w1) and the d path that shifts a fold's weights
// down the columns during its preload.
#include "hw/kinds/kinds.h"

namespace isimdl::kinds {
namespace {

using Holding = RegisterOracle::Holding;

// What a stationary register holds: the fold's W[n][k] weight-stationary,
// A[m][k] input-stationary.
Holding weight_holding(const RegisterOracle& o, const Fold* f, int r, int c) {
  if (f && r < f->k_count && c < f->c_count) return o.stationary_holding(f->c0 + c, f->k0 + r, f->index);
  return Holding{};
}

// w_p of PE(r, c): written by the latch of every fold of parity p, read by
// that fold's MACs at this PE up to its last vector.
class WeightRegister : public RegisterKind {
 public:
  WeightRegister(RegisterInfo info, int parity) : RegisterKind(std::move(info)), p_(parity) {}

  LiveIntervals live(const LayerSchedule& s, const LayerGeometry&) const override {
    // From the latch to the last MAC, which reads it before its edge.
    return per_pe(s, [&](int r, int c, const Fold& f) {
      if ((f.index & 1) != p_ || r >= f.k_count || c >= f.c_count) return LiveInterval{};
      return LiveInterval{s.at.latch(f), s.at.pe_edge(FoldTiming::feed(f, f.vectors - 1), r, c)};
    });
  }
  std::int64_t value(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [r, c] = row_column(index, o.cols());
    return o.weight_register(r, c, p_, e);
  }
  Holding holds(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [r, c] = row_column(index, o.cols());
    const Fold* last = nullptr;
    for (const Fold& f : o.schedule().folds)
      if ((f.index & 1) == p_ && o.at().latch(f) <= e) last = &f;
    return weight_holding(o, last, r, c);
  }
  void effect(const RegisterOracle& o, std::int64_t index, std::int64_t e, std::int64_t before, std::int64_t after,
              std::vector<RegisterOracle::Change>& out) const override {
    const auto [r, c] = row_column(index, o.cols());
    o.weight_change(r, c, p_, e, delta32(before, after), out);
  }

 private:
  int p_;
};

// d of PE(r, c): the top feed of schedule cycle at.d_feed_of(e, r), on its
// way down; the latch copies the incoming d values into the weight registers.
class WeightPath : public RegisterKind {
 public:
  using RegisterKind::RegisterKind;

  LiveIntervals live(const LayerSchedule& s, const LayerGeometry&) const override {
    // The value in row r after edge e enters row x = r + L - e at the latch
    // edge L, and matters when the fold uses row x: e in [L - k_count + 1 + r, L).
    return per_pe(s, [&](int r, int c, const Fold& f) {
      if (c >= f.c_count) return LiveInterval{};
      return LiveInterval{s.at.latch(f) - f.k_count + 1 + r, s.at.latch(f)};
    });
  }
  std::int64_t value(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [r, c] = row_column(index, o.cols());
    const auto [f, row] = o.weight_fed_at(o.at().d_feed_of(e, r));
    return f ? o.fold_weight(*f, row, c) : 0;
  }
  Holding holds(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [r, c] = row_column(index, o.cols());
    const auto [f, row] = o.weight_fed_at(o.at().d_feed_of(e, r));
    return weight_holding(o, f, row, c);
  }
  void effect(const RegisterOracle& o, std::int64_t index, std::int64_t e, std::int64_t before, std::int64_t after,
              std::vector<RegisterOracle::Change>& out) const override {
    // The value moves one row down per edge; the next latch copies it into
    // the weight register of the row x it enters at that edge.
    const auto [r, c] = row_column(index, o.cols());
    const std::int64_t t = o.at().d_feed_of(e, r);
    for (const Fold& f : o.schedule().folds) {
      const std::int64_t latch = o.at().latch(f);
      if (latch <= e) continue;
      const std::int64_t x = latch - o.at().d_edge(t, 0);  // d_edge(t, x) == latch
      if (x > o.rows() - 1) break;
      o.weight_change(static_cast<int>(x), c, f.index & 1, latch, delta32(before, after), out);
      break;
    }
  }
};

RegisterInfo weight_info(RegisterGroup group, const char* name, const char* field, int saboteur, const char* description) {
  RegisterInfo info{group, name, Placement::kPe, {{field, 0, 8, true}}, description};
  info.holds_operand_value = true;
  info.rtl_saboteur = saboteur;
  // Output-stationary holds no operand: its cell has no weight registers.
  if (group != RegisterGroup::kPeD)
    info.dataflows = (1u << static_cast<unsigned>(Dataflow::kWeightStationary)) |
                     (1u << static_cast<unsigned>(Dataflow::kInputStationary));
  return info;
}

}  // namespace

std::unique_ptr<RegisterKind> pe_w0() {
  return std::make_unique<WeightRegister>(
      weight_info(RegisterGroup::kPeW0, "pe_w0", "w0", 2, "PE weight register 0 (folds with even index)"), 0);
}

std::unique_ptr<RegisterKind> pe_w1() {
  return std::make_unique<WeightRegister>(
      weight_info(RegisterGroup::kPeW1, "pe_w1", "w1", 3, "PE weight register 1 (folds with odd index)"), 1);
}

std::unique_ptr<RegisterKind> pe_d() {
  return std::make_unique<WeightPath>(weight_info(RegisterGroup::kPeD, "pe_d", "d", 4,
                                                  "PE weight shift path: weights travel down the column during preload"));
}

}  // namespace isimdl::kinds
