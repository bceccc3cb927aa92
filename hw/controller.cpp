#include "hw/controller.h"

#include <algorithm>

namespace isimdl {

Controller::Controller(const sc_core::sc_module_name& name, SramBuffer<std::int8_t>& ifmap,
                       SramBuffer<std::int8_t>& weights)
    : sc_core::sc_module(name), ifmap_(ifmap), weights_(weights) {}

void Controller::configure(int rows, int cols) {
  rows_ = rows;
  cols_ = cols;
}

void Controller::reset() {
  running_ = false;
  job_ = nullptr;
  schedule_ = nullptr;
  cycle_ = 0;
  last_feed_cycle_ = -1;
  preload_fold_ = stream_fold_ = weight_fold_ = result_fold_ = 0;
  tags_.clear();
}

void Controller::start(const LayerJob& job, const LayerSchedule& schedule) {
  job_ = &job;
  schedule_ = &schedule;
  running_ = true;
  cycle_ = 0;
  preload_fold_ = stream_fold_ = weight_fold_ = result_fold_ = 0;
  tags_.clear();
  const Fold& last = schedule.folds.back();
  last_feed_cycle_ = std::max(FoldTiming::feed(last, last.vectors - 1), last.result_time(last.results - 1));
  // Output-stationary: the last column's weights follow its rows' by C - 1
  // cycles, and every row gets its drain tag.
  if (schedule.output_stationary())
    last_feed_cycle_ = std::max({last_feed_cycle_, FoldTiming::feed(last, last.vectors - 1) + cols_ - 1,
                                 FoldTiming::drain_feed(last, rows_ - 1)});
}

void Controller::feed_output_stationary(ArrayFeed& feed) {
  const std::vector<Fold>& folds = schedule_->folds;
  const std::int64_t t = cycle_;
  const std::int8_t pad = job_->input_zero_point;
  // Rows: vector i of a fold is A[v0 + r][k0 + i] for its M rows (im2col from
  // the ifmap buffer; padding is the input zero point, no read); the drain
  // tag of row r follows in cycle FoldTiming::drain_feed(f, r), in every row.
  while (stream_fold_ < folds.size() &&
         t > std::max(FoldTiming::feed(folds[stream_fold_], folds[stream_fold_].vectors - 1),
                      FoldTiming::drain_feed(folds[stream_fold_], rows_ - 1)))
    ++stream_fold_;
  for (std::size_t j = stream_fold_; j < folds.size() && folds[j].stream_start <= t; ++j) {
    const Fold& f = folds[j];
    const std::int64_t i = t - f.stream_start;
    if (i < f.vectors) {
      std::int64_t reads = 0;
      for (int r = 0; r < f.results; ++r) {
        const std::int64_t e = job_->im2col.input_element(f.v0 + r, f.k0 + static_cast<int>(i));
        feed.a[static_cast<std::size_t>(r)] = e < 0 ? pad : ifmap_.words()[static_cast<std::size_t>(e)];
        feed.valid[static_cast<std::size_t>(r)] = 1;
        reads += e >= 0;
      }
      ifmap_.count_reads(reads);
    }
    const std::int64_t r = t - FoldTiming::drain_feed(f, 0);  // inverse of drain_feed
    if (r >= 0 && r < rows_) feed.propagate[static_cast<std::size_t>(r)] = 1;
  }
  // Columns: column c takes W[c0 + c][k0 + i] in cycle stream_start + i + c,
  // so that it meets row r's operand in PE(r, c) (the weight buffer's reads
  // are staggered by column; the d path carries them down).
  while (weight_fold_ < folds.size() &&
         t > FoldTiming::feed(folds[weight_fold_], folds[weight_fold_].vectors - 1) + cols_ - 1)
    ++weight_fold_;
  for (std::size_t j = weight_fold_; j < folds.size() && folds[j].stream_start <= t; ++j) {
    const Fold& f = folds[j];
    for (int c = 0; c < f.c_count; ++c) {
      const std::int64_t i = t - f.stream_start - c;
      if (i < 0 || i >= f.vectors) continue;
      feed.weight[static_cast<std::size_t>(c)] =
          weights_.read(static_cast<std::size_t>(job_->gemm.weight_word(f.c0 + c, f.k0 + static_cast<int>(i))));
    }
  }
}

void Controller::tick(ArrayFeed& feed, AccumulateCommand& cmd) {
  std::fill(feed.a.begin(), feed.a.end(), 0);
  std::fill(feed.valid.begin(), feed.valid.end(), 0);
  std::fill(feed.weight.begin(), feed.weight.end(), 0);
  feed.latch = false;
  std::fill(feed.propagate.begin(), feed.propagate.end(), 0);
  cmd = AccumulateCommand{};
  if (running_) {
    const std::vector<Fold>& folds = schedule_->folds;
    const FoldTiming& at = schedule_->at;
    const std::int64_t t = cycle_;
    if (schedule_->output_stationary()) {
      feed_output_stationary(feed);
    } else {
    // Preload: the stationary operand of fold row r enters the top in cycle
    // at.weight_feed(f, r), so that after R shifts row r holds it for column
    // c: W[c0+c][k0+r] from the weight buffer (weight-stationary) or
    // A[c0+c][k0+r] from the ifmap buffer (input-stationary; padding is the
    // input zero point, no read).
    const bool is = schedule_->input_stationary();
    const std::int8_t pad = job_->input_zero_point;
    while (preload_fold_ < folds.size() && t >= at.latch(folds[preload_fold_])) ++preload_fold_;
    if (preload_fold_ < folds.size() && t >= at.weight_feed(folds[preload_fold_], rows_ - 1)) {
      const Fold& f = folds[preload_fold_];
      const int r = static_cast<int>(at.weight_feed(f, 0) - t);  // inverse of weight_feed
      if (r < f.k_count) {
        if (is) {
          std::int64_t reads = 0;
          for (int c = 0; c < f.c_count; ++c) {
            const std::int64_t e = job_->im2col.input_element(f.c0 + c, f.k0 + r);
            feed.weight[static_cast<std::size_t>(c)] = e < 0 ? pad : ifmap_.words()[static_cast<std::size_t>(e)];
            reads += e >= 0;
          }
          ifmap_.count_reads(reads);
        } else {
          for (int c = 0; c < f.c_count; ++c)
            feed.weight[static_cast<std::size_t>(c)] =
                weights_.read(static_cast<std::size_t>(job_->gemm.weight_word(f.c0 + c, f.k0 + r)));
        }
      }
      if (t + 1 == at.latch(f)) {
        feed.latch = true;
        feed.latch_select = static_cast<std::uint8_t>(f.index & 1);
      }
    }
    // Streaming: one vector per cycle, A[v][k0..] through im2col from the
    // ifmap buffer (weight-stationary) or W[v][k0..] from the weight buffer
    // (input-stationary).
    while (stream_fold_ < folds.size() &&
           t > FoldTiming::feed(folds[stream_fold_], folds[stream_fold_].vectors - 1))
      ++stream_fold_;
    if (stream_fold_ < folds.size() && t >= FoldTiming::feed(folds[stream_fold_], 0)) {
      const Fold& f = folds[stream_fold_];
      const int i = static_cast<int>(t - FoldTiming::feed(f, 0));
      const int v = f.v0 + i;
      std::int8_t* a = feed.a.data();
      std::uint8_t* valid = feed.valid.data();
      if (is) {
        for (int r = 0; r < f.k_count; ++r) {
          a[r] = weights_.read(static_cast<std::size_t>(job_->gemm.weight_word(v, f.k0 + r)));
          valid[r] = 1;
        }
      } else {
        elements_.resize(static_cast<std::size_t>(f.k_count));
        job_->im2col.row_elements(v, f.k0, f.k_count, elements_.data());
        const std::int8_t* words = ifmap_.words().data();
        const std::int64_t* elements = elements_.data();
        std::int64_t reads = 0;
        for (int r = 0; r < f.k_count; ++r) {
          const std::int64_t e = elements[r];
          a[r] = e < 0 ? pad : words[e];
          valid[r] = 1;
          reads += e >= 0;
        }
        ifmap_.count_reads(reads);
      }
      std::fill(feed.propagate.begin(), feed.propagate.end(), static_cast<std::uint8_t>(f.index & 1));
    }
    }
    // Result rows: the row leaving the array as if fed in this cycle (the
    // streamed vector itself, or output-stationary's drained row) is tagged
    // for the accumulator.
    while (result_fold_ < folds.size() &&
           t > folds[result_fold_].result_time(folds[result_fold_].results - 1))
      ++result_fold_;
    if (result_fold_ < folds.size() && t >= folds[result_fold_].result_start) {
      const Fold& f = folds[result_fold_];
      const int i = static_cast<int>(t - f.result_start);
      AccumulateCommand tag;
      tag.valid = true;
      tag.v = f.v0 + i;
      tag.v_local = schedule_->accumulator_row(i);
      tag.c0 = f.c0;
      tag.c_count = f.c_count;
      tag.first_k = f.first_k;
      tag.last_k = f.last_k;
      // The command is written in the cycle before the accumulator's edge.
      tags_.emplace_back(at.accumulate(t) - 1, tag);
    }
    if (!tags_.empty() && tags_.front().first == t) {
      cmd = tags_.front().second;
      tags_.pop_front();
    }
    ++cycle_;
    if (cycle_ > last_feed_cycle_ && tags_.empty()) running_ = false;
  }
}

}  // namespace isimdl
