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

void OutputStage::start(const LayerJob& job, const LayerSchedule& schedule) {
  job_ = &job;
  schedule_ = &schedule;
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
    for (int c = 0; c < pending_c_count_; ++c) {
      const int m = schedule_->m_of(pending_v_, pending_c0_ + c), n = schedule_->n_of(pending_v_, pending_c0_ + c);
      const std::int32_t word = acc[static_cast<std::size_t>(c)];
      observed_acc_[static_cast<std::size_t>(n) * M + m] = word;
      output_.write(static_cast<std::size_t>(n) * M + m,
                    requantize(word, job_->multiplier[static_cast<std::size_t>(n)], job_->output_zero_point, job_->relu));
    }
    ++rows_written_;
  }
  pending_valid_ = in.valid;
  if (in.valid) {
    pending_v_ = in.v;
    pending_c0_ = in.c0;
    pending_c_count_ = in.c_count;
    std::copy(in.acc.begin(), in.acc.begin() + in.c_count, acc.begin());
  }
}

}  // namespace isimdl
