#pragma once

#include <cstdint>
#include <vector>

namespace isimdl {

// Input skew registers on the array's left edge: row r delays its
// activation (with the valid and propagate tags) by r cycles through r
// registers, so that vector element r meets the partial sum coming down.
class SkewBuffer {
 public:
  void configure(int rows);
  void reset();
  // One clock edge: returns, per row, the value entering PE(r, 0) at this
  // edge (row 0: the feed itself), then shifts the feed in.
  void step(const std::vector<std::int8_t>& a, const std::vector<std::uint8_t>& valid,
            const std::vector<std::uint8_t>& propagate);

  // Values entering column 0 at the current edge (valid after step()).
  const std::vector<std::int8_t>& out_a() const { return out_a_; }
  const std::vector<std::uint8_t>& out_valid() const { return out_valid_; }
  const std::vector<std::uint8_t>& out_propagate() const { return out_propagate_; }

  // Registers: row r, stage s (0 = nearest the input, r-1 feeds the PE).
  static std::size_t index(int row, int stage) { return static_cast<std::size_t>(row) * (row - 1) / 2 + stage; }
  std::vector<std::int8_t> a;
  std::vector<std::uint8_t> valid;
  std::vector<std::uint8_t> propagate;

 private:
  int rows_ = 0;
  std::vector<std::int8_t> out_a_;
  std::vector<std::uint8_t> out_valid_, out_propagate_;
};

}  // namespace isimdl
