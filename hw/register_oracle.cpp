#include "hw/register_oracle.h"

#include <fmt/format.h>

#include "models/error.h"
#include "models/reference_engine.h"

namespace isimdl {

RegisterOracle::RegisterOracle(const LayerJob& job, const LayerSchedule& schedule)
    : job_(job), schedule_(schedule), rows_(schedule.rows), cols_(schedule.cols) {
  const GemmShape g = job.gemm;
  a_.resize(static_cast<std::size_t>(g.m) * g.k);
  if (job.spec.kind == LayerKind::kConv2d) {
    im2col_s8(job.input.data(), job.input_shape, job.spec, job.output_shape, job.input_zero_point, a_.data());
  } else {
    std::copy(job.input.begin(), job.input.end(), a_.begin());
  }
}

bool RegisterOracle::covers(RegisterGroup group) {
  return group == RegisterGroup::kPePsum || group == RegisterGroup::kDeskew || group == RegisterGroup::kAccumulator ||
         group == RegisterGroup::kOutputStage;
}

RegisterOracle::Slot RegisterOracle::slot_at(std::int64_t t_feed) const {
  for (const Fold& f : schedule_.folds)
    if (t_feed >= f.stream_start && t_feed < f.stream_start + f.rows)
      return Slot{&f, static_cast<int>(t_feed - f.stream_start)};
  return Slot{};
}

std::int32_t RegisterOracle::partial(const Fold& f, int i, int c, int rows) const {
  if (c >= f.n_count) return 0;
  const int m = f.m0 + i, n = f.n0 + c, K = job_.gemm.k;
  std::uint32_t sum = 0;
  for (int r = 0; r < std::min(rows, f.k_count); ++r)
    sum += static_cast<std::uint32_t>(static_cast<std::int32_t>(a_[static_cast<std::size_t>(m) * K + f.k0 + r]) *
                                      job_.weight[static_cast<std::size_t>(n) * K + f.k0 + r]);
  return static_cast<std::int32_t>(sum);
}

std::int32_t RegisterOracle::word_after(std::size_t fold_index, int m_local, int c) const {
  // Walk back to the first K-fold of this (M-tile, N-slice).
  std::size_t first = fold_index;
  while (!schedule_.folds[first].first_k) --first;
  const Fold& f0 = schedule_.folds[first];
  std::uint32_t sum = static_cast<std::uint32_t>(job_.bias[static_cast<std::size_t>(f0.n0 + c)]);
  for (std::size_t j = first; j <= fold_index; ++j) sum += static_cast<std::uint32_t>(partial(schedule_.folds[j], m_local, c, rows_));
  return static_cast<std::int32_t>(sum);
}

std::int32_t RegisterOracle::final_acc(int m, int n) const {
  std::uint32_t sum = static_cast<std::uint32_t>(job_.bias[static_cast<std::size_t>(n)]);
  const int K = job_.gemm.k;
  for (int k = 0; k < K; ++k)
    sum += static_cast<std::uint32_t>(static_cast<std::int32_t>(a_[static_cast<std::size_t>(m) * K + k]) *
                                      job_.weight[static_cast<std::size_t>(n) * K + k]);
  return static_cast<std::int32_t>(sum);
}

std::optional<RegisterOracle::Target> RegisterOracle::target(RegisterGroup group, std::int64_t index,
                                                              std::int64_t e) const {
  const int R = rows_, C = cols_;
  switch (group) {
    case RegisterGroup::kPePsum: {
      // psum of PE(r, c) after edge e belongs to the vector fed at e - 1 - r - c.
      const int r = static_cast<int>(index / C), c = static_cast<int>(index % C);
      // The bottom-right PE's psum went into the array's output register at
      // the same edge that wrote it (it has no de-skew stage): after that
      // edge nothing reads it again.
      if (r == R - 1 && c == C - 1) return std::nullopt;
      const Slot s = slot_at(e - 1 - r - c);
      if (!s.fold || c >= s.fold->n_count) return std::nullopt;
      return Target{s.fold->m0 + s.i, s.fold->n0 + c};
    }
    case RegisterGroup::kDeskew: {
      // Column c's chain of C-1-c stages; stage s after edge e holds the
      // bottom psum after edge e - s - 1.
      int c = 0;
      std::int64_t offset = index;
      while (offset >= C - 1 - c) offset -= C - 1 - c, ++c;
      const int stage = static_cast<int>(offset);
      // The last stage of a chain went into the array's output register at
      // the same edge that wrote it: after that edge it is dead.
      if (stage == C - 2 - c) return std::nullopt;
      const Slot s = slot_at(e - stage - 1 - 1 - (R - 1) - c);
      if (!s.fold || c >= s.fold->n_count) return std::nullopt;
      return Target{s.fold->m0 + s.i, s.fold->n0 + c};
    }
    case RegisterGroup::kAccumulator: {
      const int m_local = static_cast<int>(index / C), c = static_cast<int>(index % C);
      // The next access after edge e decides: a read-modify-write carries the
      // change into that output's final sum; an overwrite (first K-fold) kills it.
      const Fold* next = nullptr;
      std::int64_t best = INT64_MAX;
      for (const Fold& f : schedule_.folds) {
        if (m_local >= f.rows || c >= f.n_count) continue;
        const std::int64_t edge = access_edge(f, m_local);
        if (edge > e && edge < best) best = edge, next = &f;
      }
      if (!next || next->first_k) return std::nullopt;
      return Target{next->m0 + m_local, next->n0 + c};
    }
    case RegisterGroup::kOutputStage: {
      // Latched at edge e when the accumulator finished a last-K row at edge
      // e - 1; consumed at edge e + 1.
      const int c = static_cast<int>(index);
      const Slot s = slot_at(e - 1 - R - C);
      if (!s.fold || !s.fold->last_k || c >= s.fold->n_count) return std::nullopt;
      return Target{s.fold->m0 + s.i, s.fold->n0 + c};
    }
    default:
      throw Error(fmt::format("the register oracle does not cover group {}", register_info(group).group_name));
  }
}

std::int64_t RegisterOracle::value(RegisterGroup group, std::int64_t index, std::int64_t e) const {
  const int R = rows_, C = cols_;
  switch (group) {
    case RegisterGroup::kPePsum: {
      const int r = static_cast<int>(index / C), c = static_cast<int>(index % C);
      const Slot s = slot_at(e - 1 - r - c);
      return s.fold ? partial(*s.fold, s.i, c, r + 1) : 0;
    }
    case RegisterGroup::kDeskew: {
      int c = 0;
      std::int64_t offset = index;
      while (offset >= C - 1 - c) offset -= C - 1 - c, ++c;
      const Slot s = slot_at(e - static_cast<int>(offset) - 1 - 1 - (R - 1) - c);
      return s.fold ? partial(*s.fold, s.i, c, R) : 0;
    }
    case RegisterGroup::kAccumulator: {
      const int m_local = static_cast<int>(index / C), c = static_cast<int>(index % C);
      // The last access at or before edge e wrote the value.
      std::int64_t best = -1;
      std::size_t last = 0;
      for (std::size_t j = 0; j < schedule_.folds.size(); ++j) {
        const Fold& f = schedule_.folds[j];
        if (m_local >= f.rows || c >= f.n_count) continue;
        const std::int64_t edge = access_edge(f, m_local);
        if (edge <= e && edge > best) best = edge, last = j;
      }
      return best < 0 ? 0 : word_after(last, m_local, c);
    }
    case RegisterGroup::kOutputStage: {
      // The last row latched at or before edge e with column c in use.
      const int c = static_cast<int>(index);
      std::int64_t best = -1;
      std::int32_t v = 0;
      for (const Fold& f : schedule_.folds) {
        if (!f.last_k || c >= f.n_count) continue;
        for (int i = 0; i < f.rows; ++i) {
          const std::int64_t latch = f.stream_start + i + R + C + 1;
          if (latch > e) break;
          if (latch > best) best = latch, v = final_acc(f.m0 + i, f.n0 + c);
        }
      }
      return v;
    }
    default:
      throw Error(fmt::format("the register oracle does not cover group {}", register_info(group).group_name));
  }
}

}  // namespace isimdl
