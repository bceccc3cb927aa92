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
                      std::uint8_t feed_propagate) {
  out_a_[0] = feed_a[0];
  out_valid_[0] = feed_valid[0];
  out_propagate_[0] = feed_propagate;
  for (int r = 1; r < rows_; ++r) {
    const std::size_t last = index(r, r - 1);
    out_a_[static_cast<std::size_t>(r)] = a[last];
    out_valid_[static_cast<std::size_t>(r)] = valid[last];
    out_propagate_[static_cast<std::size_t>(r)] = propagate[last];
  }
  // All chains advance one stage in one pass (rows are contiguous, so the
  // global shift is right except at each row's first stage, which takes the feed).
  const std::size_t n = a.size();
  if (n > 1) {
    std::memmove(a.data() + 1, a.data(), n - 1);
    std::memmove(valid.data() + 1, valid.data(), n - 1);
    std::memmove(propagate.data() + 1, propagate.data(), n - 1);
  }
  for (int r = 1; r < rows_; ++r) {
    const std::size_t first = index(r, 0);
    a[first] = feed_a[static_cast<std::size_t>(r)];
    valid[first] = feed_valid[static_cast<std::size_t>(r)];
    propagate[first] = feed_propagate;
  }
}

}  // namespace isimdl
