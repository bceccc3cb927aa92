#pragma once

// The register kinds, one family per file of this directory; kinds.cpp
// lists them in RegisterGroup order (hw/register_kind.h).
#include <cstdint>
#include <memory>
#include <utility>

#include "hw/register_kind.h"

namespace isimdl::kinds {

// pe_operand.cpp: the operand a PE passes right, with its valid and
// propagate tags, and the input skew word that carries all three.
std::unique_ptr<RegisterKind> pe_a();
std::unique_ptr<RegisterKind> pe_valid();
std::unique_ptr<RegisterKind> pe_propagate();
std::unique_ptr<RegisterKind> skew();
// pe_weight.cpp: the double-buffered weight registers and the d path that loads them.
std::unique_ptr<RegisterKind> pe_w0();
std::unique_ptr<RegisterKind> pe_w1();
std::unique_ptr<RegisterKind> pe_d();
// psum_path.cpp: the partial sums passed down the array and through the de-skew.
std::unique_ptr<RegisterKind> pe_psum();
std::unique_ptr<RegisterKind> deskew();
// accumulator_path.cpp: the accumulator buffer words and the output stage registers.
std::unique_ptr<RegisterKind> accumulator();
std::unique_ptr<RegisterKind> output_stage();
// os_cell.cpp: the out chain of the output-stationary cell, and the
// output-stationary meaning of the kinds whose registers it shares
// (nullptr where the common kind holds for every dataflow).
std::unique_ptr<RegisterKind> pe_out();
std::unique_ptr<RegisterKind> os_kind(RegisterGroup group, const RegisterKind& common);
// buffers.cpp: the ifmap, weight and output SRAM words.
std::unique_ptr<RegisterKind> ifmap_buffer();
std::unique_ptr<RegisterKind> weight_buffer();
std::unique_ptr<RegisterKind> output_buffer();

// (row, column) of an index numbered row by row over `cols` columns: PE(r, c)
// of a PE register, (m_local, c) of an accumulator word.
inline std::pair<int, int> row_column(std::int64_t index, int cols) {
  return {static_cast<int>(index / cols), static_cast<int>(index % cols)};
}
// The cycles a register holds the vectors of fold f, one edge each, when
// the vector fed at t is in it after edge edge(t).
template <class Edge>
LiveInterval streamed(const Fold& f, Edge edge) {
  return {edge(FoldTiming::feed(f, 0)), edge(FoldTiming::feed(f, f.vectors - 1)) + 1};
}

// Live intervals of a kind placed per PE: for every PE(r, c) and fold f in
// order, the interval of(r, c, f) (an empty one where the fold does not use it).
template <class Of>
LiveIntervals per_pe(const LayerSchedule& s, Of of) {
  LiveIntervals out(static_cast<std::size_t>(s.rows) * s.cols);
  for (auto& list : out) list.reserve(s.folds.size());  // at most one interval per fold
  for (int r = 0; r < s.rows; ++r)
    for (int c = 0; c < s.cols; ++c)
      for (const Fold& f : s.folds) {
        const LiveInterval iv = of(r, c, f);
        add_live(out[static_cast<std::size_t>(r) * s.cols + c], iv.begin, iv.end);
      }
  return out;
}

// A change of `after - before` as the int32 delta it makes (wrapping).
inline std::int32_t delta32(std::int64_t before, std::int64_t after) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(after) - static_cast<std::uint32_t>(before));
}

}  // namespace isimdl::kinds
