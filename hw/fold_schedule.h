#pragma once

#include <cstdint>
#include <vector>

#include "hw/array_config.h"
#include "models/architecture.h"

namespace isimdl {

// One fold: a K-slice of up to R rows and an N-slice of up to C columns of
// the weights held in the array while `rows` activation vectors (M rows
// m0 .. m0+rows-1) stream through it. In a grouped GEMM both slices lie in
// one group's block.
struct Fold {
  int index = 0;
  int m0 = 0, rows = 0;      // the M-tile
  int n0 = 0, n_count = 0;   // columns used
  int k0 = 0, k_count = 0;   // rows used
  int group = 0;             // the block of a grouped GEMM (0 for a dense one)
  bool first_k = false;      // first K-fold of this (M-tile, N-slice): accumulator starts at the bias
  bool last_k = false;       // last K-fold: results go to the output stage
  std::int64_t preload_start = 0;  // schedule cycle of the first weight entering the d path
  std::int64_t stream_start = 0;   // schedule cycle of the first activation entering row 0
};

// How a layer's GEMM is mapped and timed on the array (docs/hardware.md).
// Pure C++, no SystemC: the sampler uses it to know what a register holds
// at a cycle.
struct LayerSchedule {
  int rows = 0, cols = 0;
  TimingMode timing = TimingMode::kScaleSim;
  GemmShape gemm;
  int m_tile = 0;  // M rows per tile (all of M unless the accumulator is too small)
  std::vector<Fold> folds;
  // Schedule cycle of the last MAC of the last fold at the bottom-right PE:
  // equals SCALE-Sim's "Total Cycles" in scalesim mode.
  std::int64_t compute_cycles = 0;

  // Layer-relative rising edges of a fault-free run: the last aligned row
  // reaches the accumulator at compute_cycles + 2, the output stage writes it
  // two edges later (docs/hardware.md, "Cycles with drain").
  std::int64_t edges() const { return compute_cycles + 5; }

  // K-folds per N-slice and N-slices per group; N-slices of the layer
  // (groups x n_folds: each writes M output rows).
  int k_folds() const { return (gemm.k_per_group() + rows - 1) / rows; }
  int n_folds() const { return (gemm.n_per_group() + cols - 1) / cols; }
  int n_slices() const { return gemm.groups * n_folds(); }
  int m_tiles() const { return (gemm.m + m_tile - 1) / m_tile; }
};

// Rows of M per tile so that one tile's int32 partial sums of C columns fit
// the accumulator buffer. Throws ConfigError when not even one row fits.
int accumulator_m_tile(const GemmShape& gemm, const ArrayConfig& array);

// Folds in the order M-tile, group, N-slice, K-slice (K innermost, so the
// accumulator finishes an output tile before the next starts), with the
// preload and stream cycles of the timing mode. A grouped GEMM runs as one
// GEMM per group: its folds never hold a structural zero.
LayerSchedule make_layer_schedule(const GemmShape& gemm, const ArrayConfig& array);

// SCALE-Sim v2's weight-stationary cycle count at unlimited bandwidth:
// folds * (2R + C + T - 2) - 1 (a grouped GEMM: folds of all groups).
std::int64_t scalesim_closed_form(const GemmShape& gemm, int rows, int cols);

// Closed form of the double-buffered mode when streaming dominates
// (T >= R + C - 1, one M-tile): F*T + 2R + C - 3.
std::int64_t double_buffered_closed_form(const GemmShape& gemm, int rows, int cols);

}  // namespace isimdl
