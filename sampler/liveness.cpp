#include "sampler/liveness.h"

#include <algorithm>

#include "models/error.h"
#include "models/random.h"
#include "sampler/fault_space.h"

namespace isimdl {
namespace {

void add(std::vector<LiveInterval>& list, std::int64_t begin, std::int64_t end) {
  if (end <= begin) return;
  if (!list.empty() && list.back().end >= begin) {
    list.back().end = std::max(list.back().end, end);
    return;
  }
  list.push_back({begin, end});
}

}  // namespace

std::vector<std::vector<LiveInterval>> live_intervals(const LayerSchedule& s, RegisterGroup group) {
  const int R = s.rows, C = s.cols;
  const FoldTiming& at = s.at;
  std::vector<std::vector<LiveInterval>> out;
  // The edges after which vectors [0, T) of fold f are in a register whose
  // edge for a vector fed at t is edge(t): [edge(first), edge(last) + 1).
  const auto stream = [](const Fold& f, auto edge) {
    return std::make_pair(edge(FoldTiming::feed(f, 0)), edge(FoldTiming::feed(f, f.rows - 1)) + 1);
  };
  switch (group) {
    case RegisterGroup::kPeA:
    case RegisterGroup::kPeValid:
    case RegisterGroup::kPePropagate:
      // The operand of the vector fed at t sits in PE(r, c) after edges
      // t + 1 + r + c; it still reaches a real column when c + 1 < n_count.
      out.resize(static_cast<std::size_t>(R) * C);
      for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c)
          for (const Fold& f : s.folds)
            if (r < f.k_count && c + 1 < f.n_count) {
              const auto [b, e] = stream(f, [&](std::int64_t t) { return at.pe_edge(t, r, c); });
              add(out[static_cast<std::size_t>(r) * C + c], b, e);
            }
      return out;
    case RegisterGroup::kSkew:
      out.resize(static_cast<std::size_t>(R) * (R - 1) / 2);
      for (int r = 1; r < R; ++r)
        for (int st = 0; st < r; ++st)
          for (const Fold& f : s.folds)
            if (r < f.k_count) {
              const auto [b, e] = stream(f, [&](std::int64_t t) { return at.skew_edge(t, st); });
              add(out[static_cast<std::size_t>(r) * (r - 1) / 2 + st], b, e);
            }
      return out;
    case RegisterGroup::kPePsum:
      out.resize(static_cast<std::size_t>(R) * C);
      for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c)
          for (const Fold& f : s.folds)
            if (c < f.n_count) {
              const auto [b, e] = stream(f, [&](std::int64_t t) { return at.pe_edge(t, r, c); });
              add(out[static_cast<std::size_t>(r) * C + c], b, e);
            }
      return out;
    case RegisterGroup::kDeskew: {
      out.resize(static_cast<std::size_t>(C) * (C - 1) / 2);
      std::size_t index = 0;
      for (int c = 0; c + 1 < C; ++c)
        for (int st = 0; st < C - 1 - c; ++st, ++index)
          for (const Fold& f : s.folds)
            if (c < f.n_count) {
              const auto [b, e] = stream(f, [&](std::int64_t t) { return at.deskew_edge(t, c, st); });
              add(out[index], b, e);
            }
      return out;
    }
    case RegisterGroup::kAccumulator: {
      // Word (m_local, c) is live from one access to the next when the next
      // one reads it (a later K-fold of the same outputs).
      out.resize(static_cast<std::size_t>(s.m_tile) * C);
      for (int m = 0; m < s.m_tile; ++m)
        for (int c = 0; c < C; ++c) {
          std::vector<std::pair<std::int64_t, const Fold*>> accesses;
          for (const Fold& f : s.folds)
            if (m < f.rows && c < f.n_count) accesses.push_back({at.accumulate(FoldTiming::feed(f, m)), &f});
          std::sort(accesses.begin(), accesses.end());
          for (std::size_t i = 0; i + 1 < accesses.size(); ++i)
            if (!accesses[i + 1].second->first_k)
              add(out[static_cast<std::size_t>(m) * C + c], accesses[i].first, accesses[i + 1].first);
        }
      return out;
    }
    case RegisterGroup::kOutputStage:
      // Latched for a last-K row, consumed at the next edge.
      out.resize(static_cast<std::size_t>(C));
      for (int c = 0; c < C; ++c)
        for (const Fold& f : s.folds)
          if (f.last_k && c < f.n_count)
            for (int i = 0; i < f.rows; ++i) {
              const std::int64_t e = at.output_latch(FoldTiming::feed(f, i));
              add(out[static_cast<std::size_t>(c)], e, e + 1);
            }
      return out;
    case RegisterGroup::kPeW0:
    case RegisterGroup::kPeW1: {
      // From a fold's latch to its last MAC at this PE.
      const int p = group == RegisterGroup::kPeW1 ? 1 : 0;
      out.resize(static_cast<std::size_t>(R) * C);
      for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c)
          for (const Fold& f : s.folds)
            if ((f.index & 1) == p && r < f.k_count && c < f.n_count)
              add(out[static_cast<std::size_t>(r) * C + c], at.latch(f),
                  at.pe_edge(FoldTiming::feed(f, f.rows - 1), r, c));  // the last MAC reads it before this edge
      return out;
    }
    case RegisterGroup::kPeD:
      // Caught by a latch at edge L: the value in row r after edge e enters
      // row x = r + L - e at L, and matters when the fold uses row x.
      out.resize(static_cast<std::size_t>(R) * C);
      for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c)
          for (const Fold& f : s.folds)
            if (c < f.n_count)
              add(out[static_cast<std::size_t>(r) * C + c], at.latch(f) - f.k_count + 1 + r, at.latch(f));
      return out;
    default:
      throw Error("live_intervals: SRAM buffer groups need the layer's geometry");
  }
}

std::vector<std::vector<LiveInterval>> live_intervals(const LayerSchedule& s, RegisterGroup group,
                                                      const LayerGeometry& geo) {
  if (!is_sram_buffer(group)) return live_intervals(s, group);
  const GemmShape g = s.gemm;
  std::vector<std::vector<LiveInterval>> out;
  switch (group) {
    case RegisterGroup::kWeightBuffer: {
      // W[n][k] is read at its fold's preload cycle R-1-(k-k0), once per M-tile.
      std::vector<std::int64_t> last(static_cast<std::size_t>(g.weights()), 0);
      for (const Fold& f : s.folds)
        for (int c = 0; c < f.n_count; ++c)
          for (int r = 0; r < f.k_count; ++r) {
            auto& l = last[static_cast<std::size_t>(g.weight_word(f.n0 + c, f.k0 + r))];
            l = std::max<std::int64_t>(l, s.at.weight_feed(f, r));
          }
      out.resize(last.size());
      for (std::size_t w = 0; w < last.size(); ++w) add(out[w], 0, last[w]);
      return out;
    }
    case RegisterGroup::kIfmapBuffer: {
      // Each im2col use (m, k) is read when vector m enters the array, once per N-fold.
      std::vector<std::int64_t> last(geo.input.size(), 0);
      for (const Fold& f : s.folds)
        for (int i = 0; i < f.rows; ++i) {
          const int m = f.m0 + i;
          const std::int64_t edge = FoldTiming::feed(f, i);  // read at the edge of its feed cycle
          for (int r = 0; r < f.k_count; ++r) {
            const std::int64_t word = geo.im2col.input_element(m, f.k0 + r);
            if (word < 0) continue;  // padding: no read
            auto& l = last[static_cast<std::size_t>(word)];
            l = std::max(l, edge);
          }
        }
      out.resize(last.size());
      for (std::size_t w = 0; w < last.size(); ++w) add(out[w], 0, last[w]);
      return out;
    }
    case RegisterGroup::kOutputBuffer: {
      // Written once, R + C + 2 edges after its vector entered the last K-fold; live from then on.
      out.resize(static_cast<std::size_t>(g.m) * g.n);
      const std::int64_t end = s.edges();
      for (const Fold& f : s.folds)
        if (f.last_k)
          for (int c = 0; c < f.n_count; ++c)
            for (int i = 0; i < f.rows; ++i)
              add(out[static_cast<std::size_t>(f.n0 + c) * g.m + static_cast<std::size_t>(f.m0 + i)],
                  s.at.output_write(FoldTiming::feed(f, i)), end);
      return out;
    }
    default:
      break;
  }
  return out;
}

LiveSpace::LiveSpace(const FaultSpace& space) {
  for (const FaultSpaceBlock& b : space.blocks()) {
    Block block;
    block.instances = b.instances;
    block.cycles = b.cycles;
    block.modelled = true;
    {
      block.intervals = live_intervals(space.schedule(b.layer), b.group, space.geometry(b.layer));
      if (static_cast<std::int64_t>(block.intervals.size()) != b.instances)
        throw Error("LiveSpace: interval count differs from the block's instances");
      for (auto& list : block.intervals) {
        for (auto& iv : list) {
          iv.begin = std::max<std::int64_t>(0, iv.begin);
          iv.end = std::min(iv.end, b.cycles);
          if (iv.end > iv.begin) block.total += static_cast<std::uint64_t>(iv.end - iv.begin);
        }
        block.cumulative.push_back(block.total);
      }
    }
    blocks_.push_back(std::move(block));
  }
}

bool LiveSpace::is_live(std::size_t b, std::int64_t index, std::int64_t cycle) const {
  const Block& block = blocks_[b];
  if (!block.modelled) return true;
  const auto& list = block.intervals[static_cast<std::size_t>(index)];
  auto it = std::upper_bound(list.begin(), list.end(), cycle,
                             [](std::int64_t c, const LiveInterval& iv) { return c < iv.begin; });
  if (it == list.begin()) return false;
  --it;
  return cycle >= it->begin && cycle < it->end;
}

std::pair<std::int64_t, std::int64_t> LiveSpace::sample(std::size_t b, Random& random) const {
  const Block& block = blocks_[b];
  if (block.total == 0) throw Error("LiveSpace: the block has no live pair");
  if (!block.modelled)
    return {static_cast<std::int64_t>(random.uniform_below(static_cast<std::uint64_t>(block.instances))),
            static_cast<std::int64_t>(random.uniform_below(static_cast<std::uint64_t>(block.cycles)))};
  const std::uint64_t n = random.uniform_below(block.total);
  const std::size_t index =
      static_cast<std::size_t>(std::upper_bound(block.cumulative.begin(), block.cumulative.end(), n) - block.cumulative.begin());
  std::uint64_t offset = n - (index == 0 ? 0 : block.cumulative[index - 1]);
  for (const LiveInterval& iv : block.intervals[index]) {
    const auto length = static_cast<std::uint64_t>(std::max<std::int64_t>(0, iv.end - iv.begin));
    if (offset < length) return {static_cast<std::int64_t>(index), iv.begin + static_cast<std::int64_t>(offset)};
    offset -= length;
  }
  throw Error("LiveSpace: internal error sampling a live pair");
}

}  // namespace isimdl
