#include "hw/accumulator_buffer.h"

namespace isimdl {

AccumulatorBuffer::AccumulatorBuffer(const sc_core::sc_module_name& name, const PeArray& array)
    : sc_core::sc_module(name), array_(array) {}

void AccumulatorBuffer::configure(int cols, std::int64_t capacity_words, int banks) {
  cols_ = cols;
  words.configure("accumulator", capacity_words, banks);
}

void AccumulatorBuffer::start(const LayerSchedule& schedule, const std::vector<std::int32_t>& bias) {
  words.resize(static_cast<std::size_t>(schedule.m_tile) * cols_);
  bias_per_vector_ = schedule.input_stationary();
  words.reset_counters();
  bias_ = bias;
  rows_ = 0;
  edges_ = 0;
  last_write_edge_ = -1;
}

void AccumulatorBuffer::reset() {
  std::fill(words.words().begin(), words.words().end(), 0);
  rows_ = edges_ = 0;
  last_write_edge_ = -1;
}

void AccumulatorBuffer::tick(const AccumulateCommand& cmd, RequantRequest& request) {
  request.valid = false;
  if (cmd.valid) {
    array_.output_row(row_);
    const std::vector<std::int32_t>& psum = row_;
    const std::size_t base = static_cast<std::size_t>(cmd.v_local) * cols_;
    for (int c = 0; c < cmd.c_count; ++c) {
      const std::size_t address = base + static_cast<std::size_t>(c);
      const int n = bias_per_vector_ ? cmd.v : cmd.c0 + c;
      const std::uint32_t before = cmd.first_k ? static_cast<std::uint32_t>(bias_[static_cast<std::size_t>(n)])
                                               : static_cast<std::uint32_t>(words.read(address));
      const auto sum = static_cast<std::int32_t>(before + static_cast<std::uint32_t>(psum[static_cast<std::size_t>(c)]));
      words.write(address, sum);
      request.acc[static_cast<std::size_t>(c)] = sum;
    }
    if (cmd.last_k) {
      request.valid = true;
      request.v = cmd.v;
      request.c0 = cmd.c0;
      request.c_count = cmd.c_count;
    }
    ++rows_;
    last_write_edge_ = edges_;
  }
  ++edges_;
}

}  // namespace isimdl
