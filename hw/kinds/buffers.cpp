// The SRAM buffers' words: the layer input (ifmap), the weights that exist
// (weight) and the int8 layer output (output). An ifmap or weight word is
// live until its last read; an output word from the edge the output stage
// writes it to the end of the layer.
#include "hw/kinds/kinds.h"

#include <algorithm>

namespace isimdl::kinds {
namespace {

using Holding = RegisterOracle::Holding;

LiveIntervals live_until(const std::vector<std::int64_t>& last_read) {
  LiveIntervals out(last_read.size());
  for (std::size_t w = 0; w < last_read.size(); ++w) add_live(out[w], 0, last_read[w]);
  return out;
}

// Every read of an operand word in a fold, as read(activation, index, k,
// edge): A[index][k] or W[index][k] read in the cycle `edge`. The streamed
// operand of vector v0 + i at k0 + r when the vector is fed, the stationary
// operand of column index c0 + c at k0 + r in its preload cycle;
// output-stationary A[v0 + r][k0 + i] when vector i is fed and W[c0 + c][k0
// + i] c cycles later.
template <class Read>
void fold_reads(const LayerSchedule& s, const Fold& f, Read read) {
  if (s.output_stationary()) {
    for (int i = 0; i < f.vectors; ++i) {
      for (int r = 0; r < f.results; ++r) read(true, f.v0 + r, f.k0 + i, FoldTiming::feed(f, i));
      for (int c = 0; c < f.c_count; ++c) read(false, f.c0 + c, f.k0 + i, FoldTiming::feed(f, i) + c);
    }
    return;
  }
  const bool is = s.input_stationary();
  for (int i = 0; i < f.vectors; ++i)
    for (int r = 0; r < f.k_count; ++r) read(!is, f.v0 + i, f.k0 + r, FoldTiming::feed(f, i));
  for (int c = 0; c < f.c_count; ++c)
    for (int r = 0; r < f.k_count; ++r) read(is, f.c0 + c, f.k0 + r, s.at.weight_feed(f, r));
}

// Word = element of the layer input (C x H x W). Each im2col use (m, k) is
// read when the array takes A[m][k]: weight-stationary when the vector of m
// is fed (once per column slice), input-stationary in the preload cycle of
// its row (once per tile of filters).
class IfmapWord : public RegisterKind {
 public:
  using RegisterKind::RegisterKind;
  LiveIntervals live(const LayerSchedule& s, const LayerGeometry& geo) const override {
    std::vector<std::int64_t> last(geo.input.size(), 0);
    for (const Fold& f : s.folds)
      fold_reads(s, f, [&](bool activation, int m, int k, std::int64_t edge) {
        if (!activation) return;
        const std::int64_t word = geo.im2col.input_element(m, k);
        if (word < 0) return;  // padding: no read
        auto& l = last[static_cast<std::size_t>(word)];
        l = std::max(l, edge);
      });
    return live_until(last);
  }
  std::int64_t value(const RegisterOracle& o, std::int64_t index, std::int64_t) const override {
    return o.job().input[static_cast<std::size_t>(index)];
  }
  Holding holds(const RegisterOracle&, std::int64_t index, std::int64_t) const override {
    Holding h;
    h.kind = Holding::Kind::kInputWord;
    h.element = index;
    return h;
  }
  void effect(const RegisterOracle& o, std::int64_t index, std::int64_t e, std::int64_t before, std::int64_t after,
              std::vector<RegisterOracle::Change>& out) const override {
    o.ifmap_change(index, e, delta32(before, after), out);
  }
};

// Word GemmShape::weight_word(n, k) = W[n][k], read when the array takes it:
// weight-stationary in the preload cycle at.weight_feed(f, k - k0) of every
// fold holding it (once per M-tile), input-stationary when its filter's
// vector is fed (once per column slice).
class WeightWord : public RegisterKind {
 public:
  using RegisterKind::RegisterKind;
  LiveIntervals live(const LayerSchedule& s, const LayerGeometry&) const override {
    std::vector<std::int64_t> last(static_cast<std::size_t>(s.gemm.weights()), 0);
    for (const Fold& f : s.folds)
      fold_reads(s, f, [&](bool activation, int n, int k, std::int64_t edge) {
        if (activation) return;
        auto& l = last[static_cast<std::size_t>(s.gemm.weight_word(n, k))];
        l = std::max<std::int64_t>(l, edge);
      });
    return live_until(last);
  }
  std::int64_t value(const RegisterOracle& o, std::int64_t index, std::int64_t) const override {
    const auto [n, k] = o.job().gemm.weight_of_word(index);
    return o.job().weight[static_cast<std::size_t>(n) * o.job().gemm.k + static_cast<std::size_t>(k)];
  }
  Holding holds(const RegisterOracle& o, std::int64_t index, std::int64_t) const override {
    Holding h;
    h.kind = Holding::Kind::kWeight;
    std::tie(h.n, h.k) = o.job().gemm.weight_of_word(index);
    return h;
  }
  void effect(const RegisterOracle& o, std::int64_t index, std::int64_t e, std::int64_t before, std::int64_t after,
              std::vector<RegisterOracle::Change>& out) const override {
    const auto [n, k] = o.job().gemm.weight_of_word(index);
    o.weight_word_change(n, k, e, delta32(before, after), out);
  }
};

// Word n * M + m = the int8 output (m, n), cleared when the layer starts and
// written once by the output stage at at.output_write(t).
class OutputWord : public RegisterKind {
 public:
  using RegisterKind::RegisterKind;
  LiveIntervals live(const LayerSchedule& s, const LayerGeometry&) const override {
    LiveIntervals out(static_cast<std::size_t>(s.gemm.m) * s.gemm.n);
    for (const Fold& f : s.folds)
      if (f.last_k)
        for (int c = 0; c < f.c_count; ++c)
          for (int i = 0; i < f.results; ++i)
            add_live(out[static_cast<std::size_t>(s.n_of(f.v0 + i, f.c0 + c)) * s.gemm.m +
                         static_cast<std::size_t>(s.m_of(f.v0 + i, f.c0 + c))],
                     s.at.output_write(f.result_time(i)), s.edges());
    return out;
  }
  std::int64_t value(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    const int m = static_cast<int>(index % o.job().gemm.m), n = static_cast<int>(index / o.job().gemm.m);
    return o.output_write_edge(m, n) <= e ? o.final_out(m, n) : 0;
  }
  Holding holds(const RegisterOracle& o, std::int64_t index, std::int64_t e) const override {
    Holding h;
    const int m = static_cast<int>(index % o.job().gemm.m), n = static_cast<int>(index / o.job().gemm.m);
    if (o.output_write_edge(m, n) > e) return h;
    h.kind = Holding::Kind::kOutputWord;
    h.m = m;
    h.n = n;
    return h;
  }
  // An int8 output, not an accumulator: a change written before the fault is
  // the layer's wrong output (RegisterInfo::holds_output; hw/fault_equivalent.cpp).
  void effect(const RegisterOracle&, std::int64_t, std::int64_t, std::int64_t, std::int64_t,
              std::vector<RegisterOracle::Change>&) const override {}
};

}  // namespace

std::unique_ptr<RegisterKind> ifmap_buffer() {
  RegisterInfo info{RegisterGroup::kIfmapBuffer, "ifmap_buffer", Placement::kIfmapWord, {{"word", 0, 8, true}},
                    "ifmap SRAM word (int8 layer input)"};
  info.holds_operand_value = true;
  return std::make_unique<IfmapWord>(std::move(info));
}

std::unique_ptr<RegisterKind> weight_buffer() {
  RegisterInfo info{RegisterGroup::kWeightBuffer, "weight_buffer", Placement::kWeightWord, {{"word", 0, 8, true}},
                    "weight SRAM word (int8 W[n][k])"};
  info.holds_operand_value = true;
  return std::make_unique<WeightWord>(std::move(info));
}

std::unique_ptr<RegisterKind> output_buffer() {
  RegisterInfo info{RegisterGroup::kOutputBuffer, "output_buffer", Placement::kOutputWord, {{"word", 0, 8, true}},
                    "output SRAM word (int8 layer output)"};
  info.array_side = false;
  info.holds_output = true;
  return std::make_unique<OutputWord>(std::move(info));
}

}  // namespace isimdl::kinds
