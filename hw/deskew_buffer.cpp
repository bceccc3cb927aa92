#include "hw/deskew_buffer.h"

#include <algorithm>

namespace isimdl {

void DeskewBuffer::configure(int cols) {
  cols_ = cols;
  offset_.assign(static_cast<std::size_t>(cols), 0);
  std::size_t total = 0;
  for (int c = 0; c < cols; ++c) {
    offset_[static_cast<std::size_t>(c)] = total;
    total += static_cast<std::size_t>(cols - 1 - c);
  }
  psum.assign(total, 0);
}

void DeskewBuffer::reset() { std::fill(psum.begin(), psum.end(), 0); }

void DeskewBuffer::step(const std::int32_t* bottom) {
  for (int c = 0; c + 1 < cols_; ++c) {
    const std::size_t first = index(c, 0);
    for (std::size_t s = index(c, stages(c) - 1); s > first; --s) psum[s] = psum[s - 1];
    psum[first] = bottom[c];
  }
}

void DeskewBuffer::aligned(const std::int32_t* bottom_after, std::vector<std::int32_t>& out) const {
  out.resize(static_cast<std::size_t>(cols_));
  for (int c = 0; c + 1 < cols_; ++c) out[static_cast<std::size_t>(c)] = psum[index(c, stages(c) - 1)];
  out[static_cast<std::size_t>(cols_ - 1)] = bottom_after[cols_ - 1];
}

}  // namespace isimdl
