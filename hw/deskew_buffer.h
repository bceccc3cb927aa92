#pragma once

#include <cstdint>
#include <vector>

namespace isimdl {

// Output de-skew registers at the array's bottom edge: column c delays its
// partial sum by C-1-c cycles, so that the results of one activation vector
// leave the array as one aligned row.
class DeskewBuffer {
 public:
  void configure(int cols);
  void reset();
  // One clock edge: shifts `bottom` (the bottom row's psum registers before
  // this edge's update) into the chains.
  void step(const std::int32_t* bottom);
  // The last stage of each chain into out[c] for c < C-1 (the last column
  // has no stage: PE(R-1, C-1)'s psum is its output register).
  void last_stages(std::vector<std::int32_t>& out) const;

  // Registers: column c, stage s (0 = nearest the array).
  std::size_t index(int col, int stage) const { return offset_[static_cast<std::size_t>(col)] + static_cast<std::size_t>(stage); }
  int stages(int col) const { return cols_ - 1 - col; }
  std::vector<std::int32_t> psum;

 private:
  int cols_ = 0;
  std::vector<std::size_t> offset_;
};

}  // namespace isimdl
