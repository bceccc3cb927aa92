#include "hw/output_stage.h"

#include <algorithm>

namespace isimdl {

OutputStage::OutputStage(const sc_core::sc_module_name& name, SramBuffer<std::int8_t>& output)
    : sc_core::sc_module(name), output_(output) {}

void OutputStage::configure(int cols) {
  if (cols_ == cols) return;
  cols_ = cols;
  acc.assign(static_cast<std::size_t>(cols), 0);
}

void OutputStage::start(const LayerJob& job) {
  job_ = &job;
  observed_acc_.assign(static_cast<std::size_t>(job.gemm.m) * job.gemm.n, 0);
  rows_written_ = 0;
  pending_valid_ = false;
}

void OutputStage::reset() {
  std::fill(acc.begin(), acc.end(), 0);
  pending_valid_ = false;
  rows_written_ = 0;
}

void OutputStage::tick(const RequantRequest& in) {
  if (pending_valid_ && job_) {
    const int M = job_->gemm.m;
    for (int c = 0; c < pending_n_count_; ++c) {
      const int n = pending_n0_ + c;
      const std::int32_t word = acc[static_cast<std::size_t>(c)];
      observed_acc_[static_cast<std::size_t>(n) * M + pending_m_] = word;
      output_.write(static_cast<std::size_t>(n) * M + pending_m_,
                    requantize(word, job_->multiplier[static_cast<std::size_t>(n)], job_->output_zero_point, job_->relu));
    }
    ++rows_written_;
  }
  pending_valid_ = in.valid;
  if (in.valid) {
    pending_m_ = in.m;
    pending_n0_ = in.n0;
    pending_n_count_ = in.n_count;
    std::copy(in.acc.begin(), in.acc.begin() + in.n_count, acc.begin());
  }
}

}  // namespace isimdl
