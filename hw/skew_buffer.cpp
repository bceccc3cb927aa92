#include "hw/skew_buffer.h"

#include <algorithm>
#include <cstring>

namespace isimdl {

void SkewBuffer::configure(int rows) {
  rows_ = rows;
  const std::size_t stages = static_cast<std::size_t>(rows) * (rows - 1) / 2;
  a.assign(stages, 0);
  valid.assign(stages, 0);
  propagate.assign(stages, 0);
  out_a_.assign(static_cast<std::size_t>(rows), 0);
  out_valid_.assign(static_cast<std::size_t>(rows), 0);
  out_propagate_.assign(static_cast<std::size_t>(rows), 0);
}

void SkewBuffer::reset() {
  std::fill(a.begin(), a.end(), 0);
  std::fill(valid.begin(), valid.end(), 0);
  std::fill(propagate.begin(), propagate.end(), 0);
}

void SkewBuffer::step(const std::vector<std::int8_t>& feed_a, const std::vector<std::uint8_t>& feed_valid,
                      const std::vector<std::uint8_t>& feed_propagate) {
  // Raw pointers: byte stores through vectors would make the compiler
  // reload every vector's data pointer after each store.
  std::int8_t* const sa = a.data();
  std::uint8_t* const sv = valid.data();
  std::uint8_t* const sp = propagate.data();
  std::int8_t* const oa = out_a_.data();
  std::uint8_t* const ov = out_valid_.data();
  std::uint8_t* const op = out_propagate_.data();
  const std::size_t rows = static_cast<std::size_t>(rows_);
  oa[0] = feed_a[0];
  ov[0] = feed_valid[0];
  op[0] = feed_propagate[0];
  // Row r's chain is stages index(r, 0) .. index(r, 0) + r - 1; its last
  // stage feeds PE(r, 0).
  for (std::size_t r = 1, first = 0; r < rows; first += r, ++r) {
    const std::size_t last = first + r - 1;
    oa[r] = sa[last];
    ov[r] = sv[last];
    op[r] = sp[last];
  }
  // All chains advance one stage in one pass (rows are contiguous, so the
  // global shift is right except at each row's first stage, which takes the feed).
  const std::size_t n = a.size();
  if (n > 1) {
    std::memmove(sa + 1, sa, n - 1);
    std::memmove(sv + 1, sv, n - 1);
    std::memmove(sp + 1, sp, n - 1);
  }
  const std::int8_t* const fa = feed_a.data();
  const std::uint8_t* const fv = feed_valid.data();
  const std::uint8_t* const fp = feed_propagate.data();
  for (std::size_t r = 1, first = 0; r < rows; first += r, ++r) {
    sa[first] = fa[r];
    sv[first] = fv[r];
    sp[first] = fp[r];
  }
}

}  // namespace isimdl
