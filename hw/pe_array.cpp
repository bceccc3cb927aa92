#include "hw/pe_array.h"

#include <algorithm>

namespace isimdl {

PeArray::PeArray(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {
  SC_METHOD(on_clock);
  sensitive << clk.pos();
  dont_initialize();
}

void PeArray::configure(int rows, int cols) {
  if (rows == rows_ && cols == cols_) return;  // keeps addresses stable for tracing
  rows_ = rows;
  cols_ = cols;
  const std::size_t n = static_cast<std::size_t>(rows) * cols;
  a.assign(n, 0);
  psum.assign(n, 0);
  w0.assign(n, 0);
  w1.assign(n, 0);
  d.assign(n, 0);
  propagate.assign(n, 0);
  valid.assign(n, 0);
  skew.configure(rows);
  deskew.configure(cols);
  bottom_before_.assign(static_cast<std::size_t>(cols), 0);
  output_.psum.assign(static_cast<std::size_t>(cols), 0);
}

void PeArray::reset() {
  std::fill(a.begin(), a.end(), 0);
  std::fill(psum.begin(), psum.end(), 0);
  std::fill(w0.begin(), w0.end(), 0);
  std::fill(w1.begin(), w1.end(), 0);
  std::fill(d.begin(), d.end(), 0);
  std::fill(propagate.begin(), propagate.end(), 0);
  std::fill(valid.begin(), valid.end(), 0);
  skew.reset();
  deskew.reset();
  macs_ = 0;
}

void PeArray::on_clock() {
  const ArrayFeed& in = feed.read();
  // Before the first run after a reconfiguration the boundary register may
  // still hold a feed of another shape: it is an idle feed.
  if (in.a.size() != static_cast<std::size_t>(rows_) || in.weight.size() != static_cast<std::size_t>(cols_)) {
    idle_.a.assign(static_cast<std::size_t>(rows_), 0);
    idle_.valid.assign(static_cast<std::size_t>(rows_), 0);
    idle_.weight.assign(static_cast<std::size_t>(cols_), 0);
    step(idle_);
  } else {
    step(in);
  }
  out.write(output_);
}

void PeArray::step(const ArrayFeed& in) {
  const int R = rows_, C = cols_;
  const std::size_t bottom = static_cast<std::size_t>(R - 1) * C;
  std::copy(psum.begin() + static_cast<std::ptrdiff_t>(bottom), psum.begin() + static_cast<std::ptrdiff_t>(bottom) + C,
            bottom_before_.begin());
  skew.step(in.a, in.valid, in.propagate);
  const std::vector<std::int8_t>& skew_a = skew.out_a();
  const std::vector<std::uint8_t>& skew_valid = skew.out_valid();
  const std::vector<std::uint8_t>& skew_prop = skew.out_propagate();
  // In place, bottom-right first: every PE reads its left and upper
  // neighbours before they are updated.
  for (int r = R - 1; r >= 0; --r) {
    const std::size_t row = static_cast<std::size_t>(r) * C;
    for (int c = C - 1; c >= 0; --c) {
      const std::size_t i = row + static_cast<std::size_t>(c);
      const std::int8_t a_in = c == 0 ? skew_a[static_cast<std::size_t>(r)] : a[i - 1];
      const std::uint8_t v_in = c == 0 ? skew_valid[static_cast<std::size_t>(r)] : valid[i - 1];
      const std::uint8_t p_in = c == 0 ? skew_prop[static_cast<std::size_t>(r)] : propagate[i - 1];
      const std::int32_t psum_in = r == 0 ? 0 : psum[i - static_cast<std::size_t>(C)];
      const std::int8_t d_in = r == 0 ? in.weight[static_cast<std::size_t>(c)] : d[i - static_cast<std::size_t>(C)];
      if (v_in) {
        const std::int32_t w = (p_in & 1) ? w1[i] : w0[i];
        psum[i] = static_cast<std::int32_t>(static_cast<std::uint32_t>(psum_in) +
                                            static_cast<std::uint32_t>(static_cast<std::int32_t>(a_in) * w));
        ++macs_;
      } else {
        psum[i] = psum_in;
      }
      if (in.latch) ((in.latch_select & 1) ? w1 : w0)[i] = d_in;
      d[i] = d_in;
      a[i] = a_in;
      valid[i] = v_in;
      propagate[i] = p_in;
    }
  }
  deskew.step(bottom_before_.data());
  deskew.aligned(psum.data() + bottom, output_.psum);
}

}  // namespace isimdl
