#include "hw/deskew_buffer.h"

#include <algorithm>
#include <cstring>

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
  // All chains advance in one pass; each chain's first stage takes the
  // bottom psum of its column.
  if (psum.size() > 1) std::memmove(psum.data() + 1, psum.data(), (psum.size() - 1) * sizeof(std::int32_t));
  for (int c = 0; c + 1 < cols_; ++c) psum[index(c, 0)] = bottom[c];
}

void DeskewBuffer::last_stages(std::vector<std::int32_t>& out) const {
  for (int c = 0; c + 1 < cols_; ++c) out[static_cast<std::size_t>(c)] = psum[index(c, stages(c) - 1)];
}

}  // namespace isimdl
