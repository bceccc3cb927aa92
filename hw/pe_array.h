#pragma once

#include <systemc>

#include <cstdint>
#include <vector>

#include "hw/array_config.h"
#include "hw/array_signals.h"
#include "hw/deskew_buffer.h"
#include "hw/register_storage.h"
#include "hw/skew_buffer.h"

namespace isimdl {

// The R x C grid of weight-stationary processing elements (after Gemmini's
// WS PE), with the input skew registers on its left edge and the output
// de-skew registers at its bottom. One tick steps every PE; the
// PE registers are plain arrays (index r * C + c), which is what makes the
// model fast and every register bit addressable for fault injection.
//
// At each rising edge, PE(r, c) with incoming activation a_in, tags
// valid_in/propagate_in (from its left neighbour or the skew register),
// incoming partial sum psum_in (from the PE above, 0 in row 0) and incoming
// weight d_in (from the PE above, or the top feed in row 0):
//   psum      <- valid_in ? psum_in + a_in * (propagate_in ? w1 : w0) : psum_in   (int32, wrapping)
//   a, valid, propagate <- a_in, valid_in, propagate_in
//   d         <- d_in
//   w[latch_select] <- d_in   when the controller's latch is set
//
// Output-stationary runs another cell on the same grid (docs/hardware.md,
// "Output-stationary"): the weight registers are absent, the operand from
// the top (d) is multiplied as it passes, the psum stays, and an out chain
// drains finished sums down the column. With drain_in the incoming
// propagate tag:
//   out       <- drain_in ? psum : out_above (row 0: 0)
//   psum      <- (drain_in ? 0 : psum) + (valid_in ? a_in * d_in : 0)        (int32, wrapping)
//   a, valid, propagate <- a_in, valid_in, drain_in;   d <- d_in
// and the bottom row's out registers feed the de-skew.
class PeArray : public sc_core::sc_module {
 public:
  explicit PeArray(const sc_core::sc_module_name& name);

  void configure(int rows, int cols, Dataflow dataflow);
  void reset();
  // Binds the PE, skew and de-skew registers (hw/register_map.h).
  void bind_registers(RegisterStorage& storage);

  int rows() const { return rows_; }
  int cols() const { return cols_; }
  std::size_t pe(int r, int c) const { return static_cast<std::size_t>(r) * cols_ + c; }

  // PE registers (see hw/register_map.h). The vectors are swapped with a
  // next-state buffer at every edge: take references to elements only
  // between edges.
  std::vector<std::int8_t> a;
  std::vector<std::int32_t> psum;
  std::vector<std::int8_t> w0, w1, d;
  std::vector<std::uint8_t> propagate, valid;
  std::vector<std::int32_t> out;  // output-stationary only (empty otherwise)

  SkewBuffer skew;
  DeskewBuffer deskew;

  std::int64_t mac_count() const { return macs_; }

  // The array's output: the aligned row the accumulator reads at a rising
  // edge. There is no separate output register: the row is the last de-skew
  // stage of each column c < C-1 and PE(R-1, C-1)'s psum for the last
  // column, as those registers hold it now (including any fault injected
  // into them); the accelerator ticks the accumulator before the array, so
  // at an edge this is the value before the edge.
  void output_row(std::vector<std::int32_t>& row) const;

  // One rising edge with the feed the controller wrote at the previous edge
  // (its size must be this array's: rows() activations, cols() weights).
  void tick(const ArrayFeed& in);

 private:
  void tick_output_stationary(const ArrayFeed& in);
  // The operand moves shared by both cells: a and its tags right (column 0
  // from the skew), d down (row 0 from the feed).
  void shift_operands(const ArrayFeed& in);

  int rows_ = 0, cols_ = 0;
  Dataflow dataflow_ = Dataflow::kWeightStationary;
  std::int64_t macs_ = 0;
  std::vector<std::int32_t> bottom_before_;
  // The next state, swapped with the registers at every edge.
  std::vector<std::int8_t> next_a_, next_d_;
  std::vector<std::int32_t> next_psum_, next_out_;
  std::vector<std::uint8_t> next_propagate_, next_valid_;
};

}  // namespace isimdl
