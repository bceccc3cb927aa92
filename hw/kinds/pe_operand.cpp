// The operand path: the activation a PE passes to its right neighbour with
// its two tags, and the input skew word that carries all three to column 0.
#include "hw/kinds/kinds.h"

namespace isimdl::kinds {
namespace {

using Holding = RegisterOracle::Holding;
using Operand = RegisterOracle::Operand;

// What an operand register holds: the streamed operand of the vector it
// carries (A[m][k] weight-stationary, W[n][k] input-stationary), or nothing;
// a row beyond the fold's K carries no operand, but its propagate tag still
// says the fold's parity.
Holding operand_holding(const RegisterOracle& o, const RegisterOracle::Slot& s, int r) {
  Holding h;
  if (s.fold) h.fold = s.fold->index;
  if (s.fold && r < s.fold->k_count) h = o.stream_holding(s.fold->v0 + s.i, s.fold->k0 + r, s.fold->index);
  return h;
}

// a, valid or propagate of PE(r, c). The operand of row r of the vector fed
// at t is there after edge at.pe_edge(t, r, c); the PE's own MAC used the
// incoming value, so the register matters only to the PEs on its right
// (none in the last column).
class PeOperand : public RegisterKind {
 public:
  enum class Field { kA, kValid, kPropagate };
  PeOperand(RegisterInfo info, Field field) : RegisterKind(std::move(info)), field_(field) {}

  LiveIntervals live(const LayerSchedule& s, const LayerGeometry&) const override {
    return per_pe(s, [&](int r, int c, const Fold& f) {
      if (r >= f.k_count || c + 1 >= f.c_count) return LiveInterval{};
      return streamed(f, [&](std::int64_t t) { return s.at.pe_edge(t, r, c); });
    });
  }
  std::int64_t value(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [r, c] = row_column(index, o.cols());
    const Operand op = o.operand(o.slot_at(o.at().pe_feed_of(e, r, c)), r);
    return field_ == Field::kA ? op.a : field_ == Field::kValid ? op.valid : op.propagate;
  }
  Holding holds(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [r, c] = row_column(index, o.cols());
    return operand_holding(o, o.slot_at(o.at().pe_feed_of(e, r, c)), r);
  }
  void effect(const RegisterOracle& o, std::int64_t index, std::int64_t e, std::int64_t, std::int64_t after,
              std::vector<RegisterOracle::Change>& out) const override {
    // The vector's operand at PE(r, c) goes on to the PEs on its right.
    const auto [r, c] = row_column(index, o.cols());
    const std::int64_t t = o.at().pe_feed_of(e, r, c);
    const Operand was = o.operand(o.slot_at(t), r);
    Operand now = was;
    if (field_ == Field::kA) now.a = static_cast<std::int32_t>(after);
    if (field_ == Field::kValid) now.valid = static_cast<int>(after & 1);
    if (field_ == Field::kPropagate) now.propagate = static_cast<int>(after & 1);
    o.row_change(t, r, c + 1, was, now, out);
  }

 private:
  Field field_;
};

// Skew stage s of row r (r >= 1): the operand of row r of the vector fed at
// t after edge at.skew_edge(t, s), on its way to PE(r, 0), in one word.
class SkewWord : public RegisterKind {
 public:
  using RegisterKind::RegisterKind;

  LiveIntervals live(const LayerSchedule& s, const LayerGeometry&) const override {
    LiveIntervals out(static_cast<std::size_t>(s.rows) * (s.rows - 1) / 2);
    for (auto& list : out) list.reserve(s.folds.size());  // at most one interval per fold
    for (int r = 1; r < s.rows; ++r)
      for (int st = 0; st < r; ++st)
        for (const Fold& f : s.folds)
          if (r < f.k_count) {
            const LiveInterval iv = streamed(f, [&](std::int64_t t) { return s.at.skew_edge(t, st); });
            add_live(out[static_cast<std::size_t>(r) * (r - 1) / 2 + st], iv.begin, iv.end);
          }
    return out;
  }
  std::int64_t value(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [r, stage] = skew_row_stage(index);
    const Operand op = o.operand(o.slot_at(o.at().skew_feed_of(e, stage)), r);
    return info().pack({op.a, op.valid, op.propagate});
  }
  Holding holds(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const auto [r, stage] = skew_row_stage(index);
    return operand_holding(o, o.slot_at(o.at().skew_feed_of(e, stage)), r);
  }
  void effect(const RegisterOracle& o, std::int64_t index, std::int64_t e, std::int64_t, std::int64_t after,
              std::vector<RegisterOracle::Change>& out) const override {
    // The operand enters PE(r, 0) and goes along the whole row.
    const auto [r, stage] = skew_row_stage(index);
    const std::int64_t t = o.at().skew_feed_of(e, stage);
    const Operand was = o.operand(o.slot_at(t), r);
    Operand now;
    now.a = static_cast<std::int32_t>(info().unpack(after, 0));
    now.valid = static_cast<int>(info().unpack(after, 1));
    now.propagate = static_cast<int>(info().unpack(after, 2));
    o.row_change(t, r, 0, was, now, out);
  }
};

RegisterInfo pe_info(RegisterGroup group, const char* name, const char* field, int width, bool is_signed,
                     int saboteur, const char* role, const char* description) {
  RegisterInfo info{group, name, Placement::kPe, {{field, 0, width, is_signed}}, description};
  info.holds_operand_value = width > 1;
  info.role = role;
  info.rtl_saboteur = saboteur;
  return info;
}

}  // namespace

std::unique_ptr<RegisterKind> pe_a() {
  return std::make_unique<PeOperand>(
      pe_info(RegisterGroup::kPeA, "pe_a", "a", 8, true, 0, "", "PE activation register, passed to the right neighbour each cycle"),
      PeOperand::Field::kA);
}

std::unique_ptr<RegisterKind> pe_valid() {
  return std::make_unique<PeOperand>(
      pe_info(RegisterGroup::kPeValid, "pe_valid", "valid", 1, false, 6, "the valid tag of ",
              "PE tag travelling with the activation: the MAC happens only when set"),
      PeOperand::Field::kValid);
}

std::unique_ptr<RegisterKind> pe_propagate() {
  return std::make_unique<PeOperand>(
      pe_info(RegisterGroup::kPePropagate, "pe_propagate", "propagate", 1, false, 5, "the weight-select tag of ",
              "PE tag travelling with the activation: selects w1 (1) or w0 (0) for its MAC"),
      PeOperand::Field::kPropagate);
}

std::unique_ptr<RegisterKind> skew() {
  RegisterInfo info{RegisterGroup::kSkew,
                    "skew",
                    Placement::kSkewStage,
                    {{"a", 0, 8, true}, {"valid", 8, 1, false}, {"propagate", 9, 1, false}},
                    "input skew register, row r has r of them: bits 0-7 activation, bit 8 valid, bit 9 propagate"};
  info.rtl_saboteur = 7;
  return std::make_unique<SkewWord>(std::move(info));
}

}  // namespace isimdl::kinds
