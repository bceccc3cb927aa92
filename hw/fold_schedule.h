#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "hw/array_config.h"
#include "models/architecture.h"

namespace isimdl {

// One fold: a K-slice of up to R rows and a slice of up to C array columns
// of the stationary operand held in the array while `vectors` rows of the
// streamed operand (vectors v0 .. v0+vectors-1) flow through it. Which
// operand is which is the dataflow's (LayerSchedule::output says which
// output a vector and a column make): weight-stationary holds W[n][k] for
// the columns' n and streams A[m][k] (v is m); input-stationary holds
// A[m][k] for the columns' m and streams W[n][k] (v is n). In a grouped GEMM
// the K-slice and the n's lie in one group's block.
//
// Output-stationary has no stationary operand: a fold holds the outputs of
// up to R rows (M: m = v0 + r) and C columns (N: n = c0 + c) in the PEs'
// psum registers while `vectors` K-steps stream through, A[v0 + r][k] from
// the left and W[c0 + c][k] from the top; the drain tag fed at result_start
// moves the finished sums into the out chain (docs/hardware.md, "Dataflows").
struct Fold {
  int index = 0;
  int v0 = 0, vectors = 0;   // the streamed vectors (a tile of them)
  int c0 = 0, c_count = 0;   // the stationary operand's index of column 0, columns used
  int k0 = 0, k_count = 0;   // rows used
  int group = 0;             // the block of a grouped GEMM (0 for a dense one)
  bool first_k = false;      // first K-fold of this (tile, column slice): accumulator starts at the bias
  bool last_k = false;       // last K-fold: results go to the output stage
  std::int64_t preload_start = 0;  // schedule cycle of the first stationary value entering the d path
  std::int64_t stream_start = 0;   // schedule cycle of the first streamed vector entering row 0
  // The result rows the fold sends to the accumulator: row i (output row
  // v0 + i) leaves the array as if its vector had been fed in schedule cycle
  // result_start + i (FoldTiming's drain edges). Weight- and
  // input-stationary: one per streamed vector, result_start = stream_start;
  // output-stationary: one per M row held, result_start = the drain feed.
  int results = 0;
  std::int64_t result_start = 0;
  // Output-stationary: the M rows held (results); k0/k_count are the group's K.
  std::int64_t result_time(int i) const { return result_start + i; }
};

// The edges of a fold, stated once for the whole project (docs/hardware.md,
// "The PE and the dataflow"): the controller drives the array with them, and
// the register oracle and the liveness intervals read them. A vector is named
// by its feed cycle t, the schedule cycle in which the controller feeds it
// into the skew input (vector i of fold f: t = f.stream_start + i); the
// array takes the feed of schedule cycle t at edge t + 1. "After edge e" is
// the register state from edge e to edge e + 1, what a fault at cycle e acts
// on. Each forward map has its inverse (which feed cycle a register holds
// after edge e); the cycle-level model is the independent check of all of
// them (tests/test_hw.cpp, the equivalence and liveness tests).
struct FoldTiming {
  int rows = 0, cols = 0;

  // Preload. The weight of fold row r is read from the weight buffer and fed
  // into the top of the d path in schedule cycle weight_feed(f, r); the d
  // register of row r holds the top feed of schedule cycle t after edge
  // t + 1 + r; the latch (the last preload cycle's feed) copies the incoming
  // d values into w[fold index mod 2] at edge latch(f).
  std::int64_t weight_feed(const Fold& f, int r) const { return f.preload_start + rows - 1 - r; }
  std::int64_t latch(const Fold& f) const { return f.preload_start + rows; }
  std::int64_t d_edge(std::int64_t t, int r) const { return t + 1 + r; }
  std::int64_t d_feed_of(std::int64_t e, int r) const { return e - 1 - r; }

  // Stream. The operand of row r of the vector fed at t is in skew stage s of
  // row r after edge skew_edge(t, s), in PE(r, c)'s a/valid/propagate after
  // pe_edge(t, r, c), and the MAC it makes there is in PE(r, c)'s psum after
  // the same edge (it reads the weight register as it was before that edge).
  std::int64_t skew_edge(std::int64_t t, int stage) const { return t + 1 + stage; }
  std::int64_t skew_feed_of(std::int64_t e, int stage) const { return e - 1 - stage; }
  std::int64_t pe_edge(std::int64_t t, int r, int c) const { return t + 1 + r + c; }
  std::int64_t pe_feed_of(std::int64_t e, int r, int c) const { return e - 1 - r - c; }

  // Drain. The column-c sum is in de-skew stage s of column c after
  // deskew_edge(t, c, s); the whole row is aligned (last stage of each
  // column, PE(R-1, C-1)'s psum) after aligned(t); the accumulator adds it at
  // accumulate(t); the output stage latches a last-K row at output_latch(t)
  // and writes the int8 results to the output buffer at output_write(t).
  std::int64_t deskew_edge(std::int64_t t, int c, int stage) const { return t + rows + c + 1 + stage; }
  std::int64_t deskew_feed_of(std::int64_t e, int c, int stage) const { return e - rows - c - 1 - stage; }
  std::int64_t aligned(std::int64_t t) const { return t + rows + cols - 1; }
  std::int64_t accumulate(std::int64_t t) const { return t + rows + cols; }
  std::int64_t output_latch(std::int64_t t) const { return t + rows + cols + 1; }
  std::int64_t output_latch_feed_of(std::int64_t e) const { return e - rows - cols - 1; }
  std::int64_t output_write(std::int64_t t) const { return t + rows + cols + 2; }

  // Output-stationary drain. The drain tag of row r of fold f is fed in
  // schedule cycle drain_feed(f, r) — the row's result time, so that its
  // finished sums leave the bottom as a vector fed then would — and drains
  // PE(r, c) (psum into out, the sum restarted) at drain_edge(f, r, c).
  static std::int64_t drain_feed(const Fold& f, int r) { return f.result_time(r); }
  std::int64_t drain_edge(const Fold& f, int r, int c) const { return pe_edge(drain_feed(f, r), r, c); }

  // The schedule cycle of a fold's last MAC at PE(R-1, C-1) (SCALE-Sim's
  // "Total Cycles" convention for the layer's last fold).
  std::int64_t last_mac(const Fold& f) const { return f.stream_start + f.vectors + rows + cols - 3; }
  // The feed cycle of vector i of fold f.
  static std::int64_t feed(const Fold& f, int i) { return f.stream_start + i; }
};

// How a layer's GEMM is mapped and timed on the array (docs/hardware.md).
// Pure C++, no SystemC: the sampler uses it to know what a register holds
// at a cycle.
struct LayerSchedule {
  int rows = 0, cols = 0;
  Dataflow dataflow = Dataflow::kWeightStationary;
  TimingMode timing = TimingMode::kScaleSim;
  FoldTiming at;  // the edges of every fold
  GemmShape gemm;
  int m_tile = 0;  // accumulator rows a tile uses: its streamed vectors (all of them unless the accumulator is too small)
  std::vector<Fold> folds;
  // Schedule cycle of the last MAC of the last fold at the bottom-right PE:
  // equals SCALE-Sim's "Total Cycles" in scalesim mode.
  std::int64_t compute_cycles = 0;

  // Layer-relative rising edges of a fault-free run: up to and including the
  // output write of the last fold's last vector (docs/hardware.md, "Cycles
  // with drain": compute_cycles + 5).
  std::int64_t edges() const { return at.output_write(folds.back().result_time(folds.back().results - 1)) + 1; }
  // Cycles from the last fold's last feed to its last result row's drain
  // time (0 unless output-stationary): what the drain adds after the last MAC.
  std::int64_t drain_tail() const {
    const Fold& f = folds.back();
    return f.result_time(f.results - 1) - FoldTiming::feed(f, f.vectors - 1);
  }

  // The output a streamed vector v and the stationary operand's column
  // index j make, and the operands: stated once for every dataflow.
  bool input_stationary() const { return dataflow == Dataflow::kInputStationary; }
  bool output_stationary() const { return dataflow == Dataflow::kOutputStationary; }
  int m_of(int v, int j) const { return input_stationary() ? j : v; }
  int n_of(int v, int j) const { return input_stationary() ? v : j; }
  // The streamed vectors and stationary columns there are: WS M and N,
  // IS N and M.
  int vector_count() const { return input_stationary() ? gemm.n : gemm.m; }
  int column_count() const { return input_stationary() ? gemm.m : gemm.n; }

  // K-folds per column slice (output-stationary: one, the whole K streams)
  // and column slices per group.
  int k_folds() const { return output_stationary() ? 1 : (gemm.k_per_group() + rows - 1) / rows; }
  int n_folds() const {
    const int extent = input_stationary() ? gemm.m : gemm.n_per_group();
    return (extent + cols - 1) / cols;
  }
  int n_slices() const { return gemm.groups * n_folds(); }
  // The accumulator row of a fold's result row i. Weight- and
  // input-stationary tiles are sized to the accumulator, so it is i;
  // output-stationary's R result rows wrap over the rows the accumulator has
  // (each word is written once and forwarded, never read back).
  int accumulator_row(int i) const { return i % m_tile; }
  // Tiles of streamed vectors (per group for input-stationary; the M-slices
  // of R rows for output-stationary).
  int m_tiles() const {
    if (output_stationary()) return (gemm.m + rows - 1) / rows;
    return input_stationary() ? gemm.groups * ((gemm.n_per_group() + m_tile - 1) / m_tile) : (gemm.m + m_tile - 1) / m_tile;
  }
  // Rows the output stage writes (one per vector of every last-K fold) and
  // PE-MAC slots the folds map (R x C per vector of every fold).
  std::int64_t output_rows() const {
    std::int64_t n = 0;
    for (const Fold& f : folds) n += f.last_k ? f.results : 0;
    return n;
  }
  std::int64_t mapped_macs() const {
    std::int64_t n = 0;
    for (const Fold& f : folds) n += static_cast<std::int64_t>(f.vectors) * rows * cols;
    return n;
  }
  // The fold and result row whose row leaves the array as if fed at t, if any.
  std::pair<const Fold*, int> result_at(std::int64_t t) const;
};

// Streamed vectors per tile so that one tile's int32 partial sums of C
// columns fit the accumulator buffer (at most the vectors of one group).
// Throws ConfigError when not even one row fits.
int accumulator_m_tile(const GemmShape& gemm, const ArrayConfig& array);

// Folds in the order tile, group, column slice, K-slice for weight-stationary
// (tiles of M shared by the groups) and group, tile, column slice, K-slice
// for input-stationary (tiles of the group's N); K innermost, so that the
// accumulator finishes an output tile before the next starts.
// Output-stationary: group, column slice, M-slice (SCALE-Sim's order: column
// folds outer). With the preload, stream and drain cycles of the timing
// mode. A grouped GEMM runs as one GEMM per group: its folds never hold a
// structural zero.
LayerSchedule make_layer_schedule(const GemmShape& gemm, const ArrayConfig& array);

// SCALE-Sim v2's cycle count at unlimited bandwidth: folds * (2R + C + T - 2)
// - 1, weight-stationary with folds over K and N and T = M, input-stationary
// with folds over K and M and T = N; output-stationary folds * (T + R + C -
// 2) - 1 with folds over M and N and T = K (a grouped GEMM: folds of all
// groups).
std::int64_t scalesim_closed_form(const GemmShape& gemm, int rows, int cols,
                                  Dataflow dataflow = Dataflow::kWeightStationary);

// Closed form of the double-buffered mode when streaming dominates
// (T >= R + C - 1, one M-tile): F*T + 2R + C - 3.
std::int64_t double_buffered_closed_form(const GemmShape& gemm, int rows, int cols);

}  // namespace isimdl
