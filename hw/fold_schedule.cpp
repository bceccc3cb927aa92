#include "hw/fold_schedule.h"

#include <fmt/format.h>

#include <algorithm>

#include "models/error.h"

namespace isimdl {

int accumulator_m_tile(const GemmShape& gemm, const ArrayConfig& array) {
  int vectors = array.dataflow == Dataflow::kInputStationary ? gemm.n_per_group() : gemm.m;
  // Output-stationary: a fold's result rows are its M rows (at most R); the
  // accumulator stages them (adds the bias) on their way to the output stage,
  // wrapping over the rows it has (LayerSchedule::accumulator_row).
  if (array.dataflow == Dataflow::kOutputStationary) vectors = std::min(gemm.m, array.rows);
  if (array.m_tiling == MTiling::kScaleSim) return vectors;  // the accumulator holds a whole fold
  const std::int64_t words = static_cast<std::int64_t>(array.buffers.accumulator_kib) * 1024 / 4;
  const std::int64_t rows = words / array.cols;
  if (rows < 1)
    throw ConfigError(fmt::format("array.buffers.accumulator_kib: {} KiB holds {} int32 words, fewer than one row "
                                  "of {} columns",
                                  array.buffers.accumulator_kib, words, array.cols));
  return static_cast<int>(std::min<std::int64_t>(rows, vectors));
}

LayerSchedule make_layer_schedule(const GemmShape& gemm, const ArrayConfig& array) {
  if (gemm.m < 1 || gemm.k < 1 || gemm.n < 1)
    throw Error(fmt::format("GEMM {}x{}x{} has an empty dimension", gemm.m, gemm.k, gemm.n));
  if (gemm.groups < 1 || gemm.k % gemm.groups || gemm.n % gemm.groups)
    throw Error(fmt::format("GEMM {}x{}x{}: {} groups do not divide K and N", gemm.m, gemm.k, gemm.n, gemm.groups));
  LayerSchedule s;
  s.rows = array.rows;
  s.cols = array.cols;
  s.timing = array.timing;
  s.at.rows = array.rows;
  s.at.cols = array.cols;
  s.gemm = gemm;
  s.m_tile = accumulator_m_tile(gemm, array);
  const int R = array.rows, C = array.cols;
  const int kg = gemm.k_per_group(), ng = gemm.n_per_group();
  s.dataflow = array.dataflow;
  auto add = [&](int g, int v0, int vectors, int c0, int c_count, int k) {
    Fold f;
    f.index = static_cast<int>(s.folds.size());
    f.group = g;
    f.v0 = v0, f.vectors = vectors;
    f.c0 = c0, f.c_count = c_count;
    f.k0 = g * kg + k, f.k_count = std::min(R, kg - k);
    f.first_k = k == 0;
    f.last_k = k + R >= kg;
    s.folds.push_back(f);
  };
  if (s.output_stationary()) {
    // The array holds R x C outputs (rows: M, columns: the group's N) while
    // the group's whole K streams; column slices outer, as SCALE-Sim orders them.
    for (int g = 0; g < gemm.groups; ++g)
      for (int n = 0; n < ng; n += C)
        for (int m0 = 0; m0 < gemm.m; m0 += R) {
          Fold f;
          f.index = static_cast<int>(s.folds.size());
          f.group = g;
          f.v0 = m0, f.results = std::min(R, gemm.m - m0);
          f.vectors = kg;
          f.c0 = g * ng + n, f.c_count = std::min(C, ng - n);
          f.k0 = g * kg, f.k_count = kg;
          f.first_k = f.last_k = true;
          s.folds.push_back(f);
        }
  } else if (s.input_stationary()) {
    // Columns hold the activations of M positions; the group's filters stream.
    for (int g = 0; g < gemm.groups; ++g)
      for (int v = 0; v < ng; v += s.m_tile)
        for (int j = 0; j < gemm.m; j += C)
          for (int k = 0; k < kg; k += R) add(g, g * ng + v, std::min(s.m_tile, ng - v), j, std::min(C, gemm.m - j), k);
  } else {
    for (int m0 = 0; m0 < gemm.m; m0 += s.m_tile)
      for (int g = 0; g < gemm.groups; ++g)
        for (int n = 0; n < ng; n += C)
          for (int k = 0; k < kg; k += R) add(g, m0, std::min(s.m_tile, gemm.m - m0), g * ng + n, std::min(C, ng - n), k);
  }
  const auto last_mac = [&](const Fold& f) { return s.at.last_mac(f); };
  if (s.output_stationary()) {
    // No preload. The drain tag of row r follows the fold's last vector in
    // feed cycle result_start + r, so that row's next fold may start streaming
    // R - 1 cycles after the last vector at the earliest (the double-buffered
    // pace); scalesim waits for the last MAC, as SCALE-Sim does.
    for (std::size_t i = 0; i < s.folds.size(); ++i) {
      Fold& f = s.folds[i];
      if (i > 0) {
        const Fold& p = s.folds[i - 1];
        f.stream_start = array.timing == TimingMode::kScaleSim ? last_mac(p) + 1 : p.result_start + R - 1;
      }
      f.preload_start = f.stream_start;
      f.result_start = f.stream_start + f.vectors;
    }
    s.compute_cycles = last_mac(s.folds.back());
    return s;
  }
  for (std::size_t i = 0; i < s.folds.size(); ++i) {
    Fold& f = s.folds[i];
    if (array.timing == TimingMode::kScaleSim) {
      // Strictly sequential: the next preload starts the cycle after the
      // previous fold's last MAC.
      f.preload_start = i == 0 ? 0 : last_mac(s.folds[i - 1]) + 1;
    } else {
      // The d path is free R cycles after the previous preload started; the
      // latch (last preload cycle) may only overwrite the weight register of
      // fold i-2 after that fold's last MAC.
      f.preload_start = i == 0 ? 0 : s.folds[i - 1].preload_start + R;
      if (i >= 2) f.preload_start = std::max(f.preload_start, last_mac(s.folds[i - 2]) + 1 - (R - 1));
    }
    f.stream_start = s.at.latch(f);  // the first vector is fed after the last preload cycle
    if (i > 0) f.stream_start = std::max(f.stream_start, s.folds[i - 1].stream_start + s.folds[i - 1].vectors);
    f.results = f.vectors;
    f.result_start = f.stream_start;
  }
  s.compute_cycles = last_mac(s.folds.back());
  return s;
}

std::pair<const Fold*, int> LayerSchedule::result_at(std::int64_t t) const {
  for (const Fold& f : folds)
    if (t >= f.result_start && t < f.result_start + f.results) return {&f, static_cast<int>(t - f.result_start)};
  return {nullptr, 0};
}

std::int64_t scalesim_closed_form(const GemmShape& g, int R, int C, Dataflow dataflow) {
  if (dataflow == Dataflow::kOutputStationary) {
    // Folds over M (rows) and the group's N (columns); each streams T = K.
    const std::int64_t folds = static_cast<std::int64_t>(g.groups) * ((g.m + R - 1) / R) * ((g.n_per_group() + C - 1) / C);
    return folds * (g.k_per_group() + R + C - 2) - 1;
  }
  const bool is = dataflow == Dataflow::kInputStationary;
  const std::int64_t column_folds = is ? static_cast<std::int64_t>(g.groups) * ((g.m + C - 1) / C)
                                       : static_cast<std::int64_t>(g.groups) * ((g.n_per_group() + C - 1) / C);
  const std::int64_t folds = column_folds * ((g.k_per_group() + R - 1) / R);
  const std::int64_t t = is ? g.n_per_group() : g.m;
  return folds * (2 * R + C + t - 2) - 1;
}

std::int64_t double_buffered_closed_form(const GemmShape& g, int R, int C) {
  const std::int64_t folds =
      static_cast<std::int64_t>(g.groups) * ((g.k_per_group() + R - 1) / R) * ((g.n_per_group() + C - 1) / C);
  if (g.m < R + C - 1) throw Error("double_buffered_closed_form holds for T >= R + C - 1 only");
  return folds * g.m + 2 * R + C - 3;
}

}  // namespace isimdl
