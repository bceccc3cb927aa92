#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace isimdl {

// How folds follow each other on the array (docs/hardware.md gives the cycle
// count of each).
enum class TimingMode {
  kScaleSim,        // folds strictly sequential, weight preload not overlapped
  kDoubleBuffered,  // the next fold's weights load while the current one streams
};

const char* to_string(TimingMode mode);
const std::vector<std::string>& timing_mode_names();
TimingMode timing_mode_from_string(const std::string& name);  // throws Error

// How many output rows (M) a fold streams at once (docs/hardware.md, "M-tiles").
enum class MTiling {
  kCapacity,  // as many as the accumulator buffer holds (isimdl's real capacity)
  kScaleSim,  // all M rows, whatever the accumulator's size: SCALE-Sim's assumption
};
const char* to_string(MTiling tiling);
const std::vector<std::string>& m_tiling_names();
MTiling m_tiling_from_string(const std::string& name);  // throws Error

// Which operand stays in the PEs (docs/hardware.md, "Dataflows"). The
// array of PE cells is the same for ws and is: weight-stationary holds a
// fold's weights W[n][k] in the weight registers and streams activation rows
// A[m][k]; input-stationary holds a fold's activations A[m][k] there and
// streams filter rows W[n][k] (SCALE-Sim's "is"). Output-stationary (os) is
// named so that a configuration asking for it gets a clear refusal; it is
// not modelled yet.
enum class Dataflow {
  kWeightStationary,
  kOutputStationary,
  kInputStationary,
};
const char* to_string(Dataflow dataflow);
const std::vector<std::string>& dataflow_names();  // ws, os, is
Dataflow dataflow_from_string(const std::string& name);  // throws Error

// On-chip SRAM buffers, capacities in KiB.
struct BufferConfig {
  int ifmap_kib = 64;
  int weight_kib = 64;
  int accumulator_kib = 64;
  int output_kib = 64;
  int banks = 4;
};

// The accelerator: an R x C systolic PE array with its buffers.
struct ArrayConfig {
  int rows = 16;
  int cols = 16;
  Dataflow dataflow = Dataflow::kWeightStationary;
  TimingMode timing = TimingMode::kScaleSim;
  MTiling m_tiling = MTiling::kCapacity;
  BufferConfig buffers;
  // DRAM bandwidth in bytes per cycle; 0 means unlimited (no stall cycles).
  double dram_bytes_per_cycle = 0.0;

  int pe_count() const { return rows * cols; }
  // Architectural register bits of the PE array alone (a 8, psum 32, w0 8,
  // w1 8, d 8, propagate 1, valid 1 per PE).
  std::int64_t pe_register_bits() const;
};

bool operator==(const BufferConfig& a, const BufferConfig& b);
bool operator==(const ArrayConfig& a, const ArrayConfig& b);
inline bool operator!=(const ArrayConfig& a, const ArrayConfig& b) { return !(a == b); }


}  // namespace isimdl
