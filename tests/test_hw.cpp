#include <gtest/gtest.h>

#include <filesystem>

#include <fmt/format.h>

#include "hw/accelerator.h"
#include "hw/fold_schedule.h"
#include "hw/sram_buffer.h"
#include "models/model_file.h"
#include "models/random.h"
#include "models/reference_engine.h"
#include "models/zoo.h"

namespace isimdl {
namespace {

ArrayConfig array_config(int rows, int cols, TimingMode timing = TimingMode::kScaleSim,
                         Dataflow dataflow = Dataflow::kWeightStationary) {
  ArrayConfig a;
  a.dataflow = dataflow;
  a.rows = rows;
  a.cols = cols;
  a.timing = timing;
  a.buffers.accumulator_kib = 4096;  // large: no M-tiling unless a test asks for it
  a.buffers.ifmap_kib = 4096;
  a.buffers.weight_kib = 4096;
  a.buffers.output_kib = 4096;
  return a;
}


// The expected result from the reference engine's GEMM core and requantizer.
LayerResult expected_result(const LayerJob& job) {
  const GemmShape g = job.gemm;
  std::vector<std::int8_t> a(static_cast<std::size_t>(g.m) * g.k);
  for (int m = 0; m < g.m; ++m)
    for (int k = 0; k < g.k; ++k) a[static_cast<std::size_t>(m) * g.k + k] = job.input[static_cast<std::size_t>(k) * g.m + m];
  LayerResult r;
  r.acc.resize(static_cast<std::size_t>(g.m) * g.n);
  gemm_s8s8s32(g.m, g.n, g.k, a.data(), job.weight.data(), job.bias.data(), r.acc.data());
  for (int n = 0; n < g.n; ++n)
    for (int m = 0; m < g.m; ++m) {
      const std::size_t e = static_cast<std::size_t>(n) * g.m + m;
      r.out.push_back(0);
      r.out[e] = requantize(r.acc[e], job.multiplier[static_cast<std::size_t>(n)], job.output_zero_point, job.relu);
    }
  return r;
}

TEST(Accelerator, RandomGemmsAreBitExact) {
  Accelerator& acc = shared_accelerator();
  Random random(77);
  struct Case {
    int m, k, n, rows, cols;
  };
  const std::vector<Case> cases{
      {1, 1, 1, 1, 1},   {1, 5, 3, 4, 4},    {7, 3, 2, 4, 4},    {1, 40, 20, 8, 8},  {33, 17, 9, 8, 4},
      {20, 64, 64, 16, 16}, {5, 100, 37, 8, 32}, {50, 9, 70, 32, 8}, {3, 300, 3, 16, 16}, {64, 16, 16, 16, 16},
      {17, 31, 45, 7, 5},
  };
  for (Dataflow dataflow : {Dataflow::kWeightStationary, Dataflow::kInputStationary, Dataflow::kOutputStationary})
    for (TimingMode timing : {TimingMode::kScaleSim, TimingMode::kDoubleBuffered}) {
      for (const Case& c : cases) {
        acc.configure(array_config(c.rows, c.cols, timing, dataflow));
        const LayerJob job = random_gemm_job(c.m, c.k, c.n, random.next_u64());
        const LayerResult got = acc.run_layer(job);
        const LayerResult want = expected_result(job);
        ASSERT_EQ(got.acc, want.acc) << c.m << "x" << c.k << "x" << c.n << " on " << c.rows << "x" << c.cols << " "
                                     << to_string(timing) << " " << to_string(dataflow);
        ASSERT_EQ(got.out, want.out);
      }
    }
}

// Input-stationary: the accumulator tiles the streamed filters (N) by its
// capacity, and the results stay exact.
TEST(Accelerator, InputStationarySmallAccumulatorTilesNAndStaysExact) {
  Accelerator& acc = shared_accelerator();
  ArrayConfig a = array_config(8, 8, TimingMode::kScaleSim, Dataflow::kInputStationary);
  a.buffers.accumulator_kib = 1;  // 256 words: 32 filters of 8 columns per tile
  acc.configure(a);
  const LayerJob job = random_gemm_job(20, 20, 100, 5);
  LayerStats stats;
  const LayerResult got = acc.run_layer(job, &stats);
  EXPECT_EQ(stats.m_tiles, 4);
  const LayerResult want = expected_result(job);
  EXPECT_EQ(got.acc, want.acc);
  EXPECT_EQ(got.out, want.out);
}

// Output-stationary: the accumulator only stages result rows (bias added,
// forwarded, never read back), so a fold's R rows wrap over the rows it has.
TEST(Accelerator, OutputStationaryWrapsASmallAccumulatorAndStaysExact) {
  Accelerator& acc = shared_accelerator();
  ArrayConfig a = array_config(16, 32, TimingMode::kScaleSim, Dataflow::kOutputStationary);
  a.buffers.accumulator_kib = 1;  // 256 words: 8 rows of 32 columns for 16 result rows
  for (TimingMode timing : {TimingMode::kScaleSim, TimingMode::kDoubleBuffered}) {
    a.timing = timing;
    acc.configure(a);
    const LayerJob job = random_gemm_job(40, 20, 50, 5);
    LayerStats stats;
    const LayerResult got = acc.run_layer(job, &stats);
    EXPECT_EQ(make_layer_schedule(job.gemm, a).m_tile, 8);
    EXPECT_EQ(stats.m_tiles, 3);  // the M-slices of 16 rows
    EXPECT_EQ(stats.accumulator_writes, 40 * 50);
    const LayerResult want = expected_result(job);
    EXPECT_EQ(got.acc, want.acc) << to_string(timing);
    EXPECT_EQ(got.out, want.out) << to_string(timing);
  }
}

TEST(Accelerator, SmallAccumulatorTilesMAndStaysExact) {
  Accelerator& acc = shared_accelerator();
  ArrayConfig a = array_config(8, 8);
  a.buffers.accumulator_kib = 1;  // 256 words: 32 rows of 8 columns per M-tile
  acc.configure(a);
  const LayerJob job = random_gemm_job(100, 20, 12, 5);
  LayerStats stats;
  const LayerResult got = acc.run_layer(job, &stats);
  EXPECT_EQ(stats.m_tiles, 4);
  const LayerResult want = expected_result(job);
  EXPECT_EQ(got.acc, want.acc);
  EXPECT_EQ(got.out, want.out);
}

// SCALE-Sim's WS count, computed here independently of the schedule code.
std::int64_t scalesim_total(int m, int k, int n, int R, int C) {
  const std::int64_t folds = static_cast<std::int64_t>((k + R - 1) / R) * ((n + C - 1) / C);
  return folds * (2 * R + C + m - 2) - 1;
}

// SCALE-Sim's IS count (systolic_compute_is: Sr = K over the rows, Sc = M
// over the columns, T = N; per fold 2R + C + T - 2 rows of demand): the WS
// count of the transposed GEMM.
std::int64_t scalesim_is_total(int m, int k, int n, int R, int C) { return scalesim_total(n, k, m, R, C); }

// SCALE-Sim's OS count (systolic_compute_os: Sr = M over the rows, Sc = N
// over the columns, T = K; per fold T - 1 prefix rows and R flipped output
// rows of ofmap demand, skewed by C - 1).
std::int64_t scalesim_os_total(int m, int k, int n, int R, int C) {
  const std::int64_t folds = static_cast<std::int64_t>((m + R - 1) / R) * ((n + C - 1) / C);
  return folds * ((k - 1 + R) + (C - 1)) - 1;
}

std::int64_t scalesim_total_of(Dataflow dataflow, int m, int k, int n, int R, int C) {
  switch (dataflow) {
    case Dataflow::kInputStationary: return scalesim_is_total(m, k, n, R, C);
    case Dataflow::kOutputStationary: return scalesim_os_total(m, k, n, R, C);
    default: return scalesim_total(m, k, n, R, C);
  }
}

TEST(Accelerator, ScaleSimModeReachesScaleSimCycleCounts) {
  Accelerator& acc = shared_accelerator();
  struct Case {
    int m, k, n, rows, cols;
  };
  // FC (M = 1), K and N not multiples of R and C, K < R, N < C, square and
  // non-square; every dataflow (results bit for bit too).
  for (const Dataflow dataflow : {Dataflow::kWeightStationary, Dataflow::kInputStationary, Dataflow::kOutputStationary})
    for (const Case& c : std::vector<Case>{{1, 400, 120, 16, 16}, {1, 84, 10, 8, 8}, {30, 5, 3, 8, 8},
                                           {100, 150, 16, 16, 16}, {49, 70, 33, 32, 8}, {12, 12, 40, 4, 16}}) {
      acc.configure(array_config(c.rows, c.cols, TimingMode::kScaleSim, dataflow));
      LayerStats stats;
      const LayerJob job = random_gemm_job(c.m, c.k, c.n, 3);
      const LayerResult got = acc.run_layer(job, &stats);
      const std::string where = fmt::format("{}x{}x{} on {}x{} {}", c.m, c.k, c.n, c.rows, c.cols, to_string(dataflow));
      EXPECT_EQ(stats.compute_cycles, scalesim_total_of(dataflow, c.m, c.k, c.n, c.rows, c.cols)) << where;
      EXPECT_EQ(stats.compute_cycles, scalesim_closed_form(job.gemm, c.rows, c.cols, dataflow)) << where;
      EXPECT_EQ(got.acc, expected_result(job).acc) << where;
    }
}

// array.m_tiling: scalesim: the accumulator holds a whole fold, however
// small it is configured — one M-tile and SCALE-Sim's closed form — while
// the default tiles M by its capacity (more fill and drain, more cycles);
// both bit-exact.
TEST(Accelerator, ScaleSimMTilingHoldsAWholeFold) {
  Accelerator& acc = shared_accelerator();
  const int m = 300, k = 40, n = 20, rows = 8, cols = 8;
  const LayerJob job = random_gemm_job(m, k, n, 5);
  const LayerResult want = expected_result(job);
  std::int64_t tiled_cycles = 0;
  for (MTiling tiling : {MTiling::kCapacity, MTiling::kScaleSim}) {
    ArrayConfig config = array_config(rows, cols);
    config.buffers.accumulator_kib = 1;  // 32 rows of 8 int32 words
    config.m_tiling = tiling;
    acc.configure(config);
    LayerStats stats;
    const LayerResult got = acc.run_layer(job, &stats);
    EXPECT_EQ(got.acc, want.acc) << to_string(tiling);
    EXPECT_EQ(got.out, want.out) << to_string(tiling);
    if (tiling == MTiling::kCapacity) {
      EXPECT_EQ(stats.m_tiles, (m + 31) / 32);
      tiled_cycles = stats.compute_cycles;
    } else {
      EXPECT_EQ(stats.m_tiles, 1);
      EXPECT_EQ(stats.compute_cycles, scalesim_total(m, k, n, rows, cols));
      EXPECT_GT(tiled_cycles, stats.compute_cycles);
    }
  }
}

TEST(Accelerator, ScaleSimModeOnConvLayers) {
  // Strided and padded convolutions through make_layer_job: SCALE-Sim maps a
  // conv without padding of its own, so the comparison uses the padded
  // input size; T = output pixels, K = Cin*kh*kw, N = Cout.
  Accelerator& acc = shared_accelerator();
  struct ConvCase {
    int cin, h, w, cout, k, stride, pad, rows, cols;
  };
  for (const ConvCase& c : std::vector<ConvCase>{{1, 28, 28, 6, 5, 1, 2, 16, 16}, {6, 14, 14, 16, 5, 1, 0, 8, 8},
                                                 {3, 15, 15, 8, 3, 2, 1, 8, 4}, {4, 9, 9, 5, 3, 2, 0, 4, 8}}) {
    LayerSpec spec;
    spec.kind = LayerKind::kConv2d;
    spec.in_channels = c.cin, spec.out_channels = c.cout, spec.window = Window2d::square(c.k, c.stride, c.pad);
    const Architecture arch("conv", Shape{c.cin, c.h, c.w}, {spec});
    const int padded_h = c.h + 2 * c.pad, padded_w = c.w + 2 * c.pad;
    const int oh = (padded_h - c.k) / c.stride + 1, ow = (padded_w - c.k) / c.stride + 1;
    ASSERT_EQ(arch.gemm(0).m, oh * ow);
    LayerJob job = random_gemm_job(arch.gemm(0).m, arch.gemm(0).k, arch.gemm(0).n, 9);
    job.spec = arch.layer(0);
    job.input_shape = arch.input_shape();
    job.output_shape = arch.output_shape(0);
    job.im2col = arch.im2col(0);
    job.input.assign(arch.input_shape().size(), 3);
    acc.configure(array_config(c.rows, c.cols));
    LayerStats stats;
    const LayerResult ws = acc.run_layer(job, &stats);
    EXPECT_EQ(stats.compute_cycles, scalesim_total(oh * ow, c.cin * c.k * c.k, c.cout, c.rows, c.cols));
    // Input-stationary: the padded activations preloaded (padding reads the
    // input zero point, as streamed), the same results.
    acc.configure(array_config(c.rows, c.cols, TimingMode::kScaleSim, Dataflow::kInputStationary));
    const LayerResult is = acc.run_layer(job, &stats);
    EXPECT_EQ(stats.compute_cycles, scalesim_is_total(oh * ow, c.cin * c.k * c.k, c.cout, c.rows, c.cols));
    EXPECT_EQ(is.acc, ws.acc);
    EXPECT_EQ(is.out, ws.out);
    // Output-stationary: im2col rows streamed from the left, filters from the top.
    acc.configure(array_config(c.rows, c.cols, TimingMode::kScaleSim, Dataflow::kOutputStationary));
    const LayerResult os = acc.run_layer(job, &stats);
    EXPECT_EQ(stats.compute_cycles, scalesim_os_total(oh * ow, c.cin * c.k * c.k, c.cout, c.rows, c.cols));
    EXPECT_EQ(os.acc, ws.acc);
    EXPECT_EQ(os.out, ws.out);
  }
}

// The double-buffered recurrence, written out again from docs/hardware.md.
std::int64_t double_buffered_reference(int m, int k, int n, int R, int C) {
  const int folds = ((k + R - 1) / R) * ((n + C - 1) / C);
  std::vector<std::int64_t> P(static_cast<std::size_t>(folds)), S(static_cast<std::size_t>(folds));
  for (int f = 0; f < folds; ++f) {
    const auto i = static_cast<std::size_t>(f);
    P[i] = f == 0 ? 0 : P[i - 1] + R;
    if (f >= 2) P[i] = std::max(P[i], S[i - 2] + m + C - 1);
    S[i] = P[i] + R;
    if (f >= 1) S[i] = std::max(S[i], S[i - 1] + m);
  }
  return S.back() + m + R + C - 3;
}

TEST(Accelerator, DoubleBufferedModeReachesItsClosedForm) {
  Accelerator& acc = shared_accelerator();
  struct Case {
    int m, k, n, rows, cols;
  };
  for (const Case& c : std::vector<Case>{{1, 400, 120, 16, 16}, {100, 150, 16, 16, 16}, {784, 25, 6, 16, 16},
                                         {30, 40, 30, 8, 8}, {9, 70, 33, 32, 8}, {200, 64, 64, 8, 16}}) {
    acc.configure(array_config(c.rows, c.cols, TimingMode::kDoubleBuffered));
    LayerStats stats;
    acc.run_layer(random_gemm_job(c.m, c.k, c.n, 4), &stats);
    EXPECT_EQ(stats.compute_cycles, double_buffered_reference(c.m, c.k, c.n, c.rows, c.cols))
        << c.m << "x" << c.k << "x" << c.n << " on " << c.rows << "x" << c.cols;
    if (c.m >= c.rows + c.cols - 1) {
      const std::int64_t folds = static_cast<std::int64_t>((c.k + c.rows - 1) / c.rows) * ((c.n + c.cols - 1) / c.cols);
      EXPECT_EQ(stats.compute_cycles, folds * c.m + 2 * c.rows + c.cols - 3);
    }
    // Overlapping preload never costs cycles.
    EXPECT_LE(stats.compute_cycles, scalesim_total(c.m, c.k, c.n, c.rows, c.cols));
    // Output-stationary: a fold streams K vectors, then its rows' drain tags
    // take R - 1 more feed cycles before the next fold may start; the last
    // MAC is R + C - 2 after the last feed.
    acc.configure(array_config(c.rows, c.cols, TimingMode::kDoubleBuffered, Dataflow::kOutputStationary));
    acc.run_layer(random_gemm_job(c.m, c.k, c.n, 4), &stats);
    const std::int64_t os_folds = static_cast<std::int64_t>((c.m + c.rows - 1) / c.rows) * ((c.n + c.cols - 1) / c.cols);
    EXPECT_EQ(stats.compute_cycles, (os_folds - 1) * (c.k + c.rows - 1) + c.k - 1 + c.rows + c.cols - 2)
        << c.m << "x" << c.k << "x" << c.n << " on " << c.rows << "x" << c.cols << " os";
  }
}

// A grouped convolution runs as one GEMM per group (docs/hardware.md): the
// folds of group g hold only W[n][k] of its block, so a depthwise layer of C
// channels takes C * ceil(K/groups / R) * ceil(N/groups / C) folds. Cycle
// counts from the fold count written out here, results bit for bit against
// the dense GEMM over the block-diagonal weights, and statistics that count
// no structural zero.
TEST(Accelerator, GroupedConvolutionRunsOneGemmPerGroup) {
  Accelerator& acc = shared_accelerator();
  struct GroupCase {
    int cin, cout, groups, k, stride, pad, h, rows, cols;
    TimingMode timing;
  };
  for (const GroupCase& c : std::vector<GroupCase>{{16, 16, 16, 3, 1, 0, 9, 8, 8, TimingMode::kScaleSim},
                                                   {6, 4, 2, 3, 2, 1, 11, 8, 8, TimingMode::kScaleSim},
                                                   {8, 24, 4, 3, 1, 1, 8, 4, 4, TimingMode::kDoubleBuffered},
                                                   {12, 12, 12, 5, 1, 0, 12, 16, 4, TimingMode::kDoubleBuffered}}) {
    LayerSpec spec;
    spec.kind = LayerKind::kConv2d;
    spec.in_channels = c.cin, spec.out_channels = c.cout, spec.groups = c.groups;
    spec.window = Window2d::square(c.k, c.stride, c.pad);
    const Architecture arch("grouped", Shape{c.cin, c.h, c.h}, {spec});
    const GemmShape g = arch.gemm(0);
    const int kg = c.cin / c.groups * c.k * c.k, ng = c.cout / c.groups;
    LayerJob job = random_gemm_job(g.m, g.k, g.n, 17);
    job.spec = arch.layer(0);
    job.gemm = g;
    job.input_shape = arch.input_shape();
    job.output_shape = arch.output_shape(0);
    job.im2col = arch.im2col(0);
    Random random(5);
    job.input.resize(arch.input_shape().size());
    for (auto& v : job.input) v = static_cast<std::int8_t>(static_cast<int>(random.uniform_below(256)) - 128);
    std::vector<std::int8_t> weight = job.weight.vector();
    for (int n = 0; n < g.n; ++n)
      for (int k = 0; k < g.k; ++k)
        if (n / ng != k / kg) weight[static_cast<std::size_t>(n) * g.k + k] = 0;  // outside the block
    job.weight = std::move(weight);
    acc.configure(array_config(c.rows, c.cols, c.timing));
    LayerStats s;
    const LayerResult got = acc.run_layer(job, &s);
    // Bit for bit against the engine's GEMM core on im2col'd operands.
    std::vector<std::int8_t> a(static_cast<std::size_t>(g.m) * g.k);
    im2col_s8(job.input.data(), job.im2col, g, job.input_zero_point, a.data());
    std::vector<std::int32_t> expected(static_cast<std::size_t>(g.m) * g.n);
    gemm_s8s8s32(g.m, g.n, g.k, a.data(), job.weight.data(), job.bias.data(), expected.data());
    EXPECT_EQ(got.acc, expected);
    const int folds = c.groups * ((kg + c.rows - 1) / c.rows) * ((ng + c.cols - 1) / c.cols);
    const std::string where = fmt::format("{} groups of {}x{}x{} on {}x{}", c.groups, g.m, kg, ng, c.rows, c.cols);
    EXPECT_EQ(s.folds, folds) << where;
    if (c.timing == TimingMode::kScaleSim) {
      EXPECT_EQ(s.compute_cycles, static_cast<std::int64_t>(folds) * (2 * c.rows + c.cols + g.m - 2) - 1) << where;
    } else {
      std::vector<std::int64_t> P(static_cast<std::size_t>(folds)), S(static_cast<std::size_t>(folds));
      for (std::size_t f = 0; f < P.size(); ++f) {
        P[f] = f == 0 ? 0 : P[f - 1] + c.rows;
        if (f >= 2) P[f] = std::max(P[f], S[f - 2] + g.m + c.cols - 1);
        S[f] = P[f] + c.rows;
        if (f >= 1) S[f] = std::max(S[f], S[f - 1] + g.m);
      }
      EXPECT_EQ(s.compute_cycles, S.back() + g.m + c.rows + c.cols - 3) << where;
    }
    // Input-stationary: each group's activations held, its filters streamed.
    {
      ArrayConfig is = array_config(c.rows, c.cols, c.timing, Dataflow::kInputStationary);
      acc.configure(is);
      LayerStats si;
      const LayerResult got_is = acc.run_layer(job, &si);
      EXPECT_EQ(got_is.acc, expected) << where << " is";
      const int is_folds = c.groups * ((kg + c.rows - 1) / c.rows) * ((g.m + c.cols - 1) / c.cols);
      EXPECT_EQ(si.folds, is_folds) << where << " is";
      if (c.timing == TimingMode::kScaleSim) {
        EXPECT_EQ(si.compute_cycles, static_cast<std::int64_t>(is_folds) * (2 * c.rows + c.cols + ng - 2) - 1) << where;
      }
      EXPECT_EQ(si.useful_macs, s.useful_macs) << where;
      // Output-stationary: each group's outputs held, its K streamed.
      acc.configure(array_config(c.rows, c.cols, c.timing, Dataflow::kOutputStationary));
      LayerStats so;
      const LayerResult got_os = acc.run_layer(job, &so);
      EXPECT_EQ(got_os.acc, expected) << where << " os";
      const int os_folds = c.groups * ((g.m + c.rows - 1) / c.rows) * ((ng + c.cols - 1) / c.cols);
      EXPECT_EQ(so.folds, os_folds) << where << " os";
      if (c.timing == TimingMode::kScaleSim) {
        EXPECT_EQ(so.compute_cycles, static_cast<std::int64_t>(os_folds) * (kg + c.rows + c.cols - 2) - 1) << where;
      }
      EXPECT_EQ(so.weight_reads, s.weight_reads * ((g.m + c.rows - 1) / c.rows)) << where << " os";
      acc.configure(array_config(c.rows, c.cols, c.timing));
    }
    EXPECT_EQ(s.useful_macs, static_cast<std::int64_t>(g.m) * kg * g.n) << where;
    EXPECT_EQ(s.weight_reads, static_cast<std::int64_t>(kg) * g.n) << where;  // real weights, each once
    EXPECT_DOUBLE_EQ(s.mapping_efficiency(),
                     static_cast<double>(kg) * g.n /
                         (static_cast<double>((kg + c.rows - 1) / c.rows) * c.rows * c.groups * ((ng + c.cols - 1) / c.cols) * c.cols))
        << where;
  }
}

TEST(Accelerator, StatisticsAreConsistent) {
  Accelerator& acc = shared_accelerator();
  acc.configure(array_config(8, 8));
  LayerStats s;
  acc.run_layer(random_gemm_job(10, 20, 12, 6), &s);
  // Valid activations cross all C columns of every fold (unused columns
  // hold zero weights): sum over folds of T * k_count * C.
  EXPECT_EQ(s.macs, 10LL * (8 + 8 + 4) * 8 * 2);
  EXPECT_EQ(s.useful_macs, 10LL * 20 * 12);
  EXPECT_EQ(s.folds, 3 * 2);
  EXPECT_DOUBLE_EQ(s.mapping_efficiency(), (20.0 * 12) / (24 * 16));
  EXPECT_EQ(s.weight_reads, 20LL * 12);       // each weight preloaded once
  EXPECT_EQ(s.ifmap_reads, 10LL * 20 * 2);    // every activation once per N-slice
  EXPECT_EQ(s.accumulator_writes, 10LL * 12 * 3);  // one write per (m, n) per K-fold
  EXPECT_EQ(s.accumulator_reads, 10LL * 12 * 2);   // read-modify-write after the first K-fold
  EXPECT_EQ(s.output_writes, 10LL * 12);
  EXPECT_GT(s.utilization(), 0.0);
  EXPECT_LE(s.utilization(), 1.0);
}

// Totals are exact sums: every count adds up (m_tiles included), the ratios
// come from the summed counts, {} is the identity and the sum associates.
TEST(LayerStats, TotalsAreSumsOfCountsAndRatiosOfSums) {
  Accelerator& acc = shared_accelerator();
  acc.configure(array_config(8, 8));
  LayerStats a, b, c;
  acc.run_layer(random_gemm_job(10, 20, 12, 6), &a);
  acc.run_layer(random_gemm_job(30, 5, 9, 7), &b);
  acc.run_layer(random_gemm_job(3, 17, 4, 8), &c);
  const LayerStats t = a + b + c;
  EXPECT_EQ(t.m_tiles, 3);
  EXPECT_EQ(t.folds, a.folds + b.folds + c.folds);
  EXPECT_EQ(t.compute_cycles, a.compute_cycles + b.compute_cycles + c.compute_cycles);
  for (const LayerStatField& f : layer_stat_fields())
    if (f.count) {
      EXPECT_EQ(t.*f.count, a.*f.count + b.*f.count + c.*f.count) << f.name;
    }
  EXPECT_EQ(a.pe_cycles, 64 * (a.compute_cycles + 1));
  EXPECT_DOUBLE_EQ(t.utilization(), static_cast<double>(a.useful_macs + b.useful_macs + c.useful_macs) /
                                        (64.0 * static_cast<double>(t.compute_cycles + 3)));
  // The MAC-weighted mean of the layers' mapping efficiencies.
  EXPECT_NEAR(t.mapping_efficiency(),
              static_cast<double>(t.useful_macs) /
                  (a.useful_macs / a.mapping_efficiency() + b.useful_macs / b.mapping_efficiency() +
                   c.useful_macs / c.mapping_efficiency()),
              1e-12);
  EXPECT_EQ(layer_stats_csv_row(LayerStats{} + a), layer_stats_csv_row(a));
  EXPECT_EQ(layer_stats_csv_row((a + b) + c), layer_stats_csv_row(a + (b + c)));
  EXPECT_EQ(layer_stats_yaml(a, "").find("compute_cycles: " + std::to_string(a.compute_cycles) + "\n"), 0u);
}

// Module tests of the array's edge buffers (plain C++ blocks inside PeArray).
// An address past the words a layer sized is an error naming the buffer,
// in every build (not only under the address sanitizer); nothing is counted.
TEST(SramBuffer, AnAddressOutsideItsWordsThrowsNamingTheBuffer) {
  SramBuffer<std::int32_t> buffer;
  buffer.configure("accumulator", 64, 4);
  buffer.resize(16);
  buffer.write(15, 7);
  EXPECT_EQ(buffer.read(15), 7);
  try {
    buffer.read(16);
    FAIL() << "a read past the words did not throw";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "accumulator: read of word 16 outside its 16 words (capacity 64)");
  }
  EXPECT_THROW(buffer.write(1u << 20, 1), Error);
  EXPECT_EQ(buffer.reads(), 1);
  EXPECT_EQ(buffer.writes(), 1);
}

TEST(SkewBuffer, RowRDelaysItsOperandAndTagsByRCycles) {
  const int R = 5;
  SkewBuffer skew;
  skew.configure(R);
  skew.reset();
  std::vector<std::vector<std::int8_t>> fed;
  for (int t = 0; t < 12; ++t) {
    std::vector<std::int8_t> a(R);
    std::vector<std::uint8_t> v(R);
    for (int r = 0; r < R; ++r) a[static_cast<std::size_t>(r)] = static_cast<std::int8_t>(10 * t + r), v[static_cast<std::size_t>(r)] = (t + r) & 1;
    fed.push_back(a);
    // The propagate tag differs per row too: (t + 2r) mod 3 == 0.
    std::vector<std::uint8_t> p(R);
    for (int r = 0; r < R; ++r) p[static_cast<std::size_t>(r)] = (t + 2 * r) % 3 == 0;
    skew.step(a, v, p);
    for (int r = 0; r < R; ++r) {
      const std::size_t ri = static_cast<std::size_t>(r);
      if (t < r) {
        EXPECT_EQ(skew.out_a()[ri], 0) << "row " << r << " step " << t;
        continue;
      }
      EXPECT_EQ(skew.out_a()[ri], fed[static_cast<std::size_t>(t - r)][ri]) << "row " << r << " step " << t;
      EXPECT_EQ(skew.out_valid()[ri], (t - r + r) & 1);
      EXPECT_EQ(skew.out_propagate()[ri], (t - r + 2 * r) % 3 == 0);
    }
  }
}

TEST(DeskewBuffer, ColumnCDelaysItsSumByCMinus1MinusCCycles) {
  const int C = 4;
  DeskewBuffer deskew;
  deskew.configure(C);
  deskew.reset();
  EXPECT_EQ(deskew.psum.size(), static_cast<std::size_t>(C * (C - 1) / 2));
  std::vector<std::int32_t> out(C);
  for (int t = 0; t < 10; ++t) {
    std::vector<std::int32_t> bottom(C);
    for (int c = 0; c < C; ++c) bottom[static_cast<std::size_t>(c)] = 100 * t + c;
    deskew.step(bottom.data());
    deskew.last_stages(out);
    // Column c's last stage holds what entered C-2-c steps before this one.
    for (int c = 0; c + 1 < C; ++c) {
      const int entered = t - (C - 2 - c);
      EXPECT_EQ(out[static_cast<std::size_t>(c)], entered < 0 ? 0 : 100 * entered + c) << "column " << c << " step " << t;
    }
  }
}

// FoldTiming against the cycle-level model: the accumulator's last write is
// at at.accumulate() of the last vector, a layer takes edges() edges, and
// every inverse undoes its map.
TEST(FoldTiming, EdgesAgreeWithTheModelAndInvert) {
  Accelerator& acc = shared_accelerator();
  for (const TimingMode mode : {TimingMode::kScaleSim, TimingMode::kDoubleBuffered}) {
    const ArrayConfig array = array_config(6, 4, mode);
    acc.configure(array);
    const LayerJob job = random_gemm_job(9, 13, 7, 5);
    const LayerSchedule s = make_layer_schedule(job.gemm, array);
    LayerStats stats;
    acc.run_layer(job, &stats);
    const Fold& last = s.folds.back();
    EXPECT_EQ(acc.accumulator().last_write_edge(), s.at.accumulate(FoldTiming::feed(last, last.vectors - 1)));
    EXPECT_EQ(acc.accumulator().edges(), s.edges());
    EXPECT_EQ(s.edges(), s.compute_cycles + 5);
    EXPECT_EQ(stats.compute_cycles, s.at.last_mac(last));
    for (std::int64_t t = 0; t < 50; ++t)
      for (int r = 0; r < 6; ++r)
        for (int c = 0; c < 4; ++c) {
          EXPECT_EQ(s.at.pe_feed_of(s.at.pe_edge(t, r, c), r, c), t);
          EXPECT_EQ(s.at.skew_feed_of(s.at.skew_edge(t, r), r), t);
          EXPECT_EQ(s.at.deskew_feed_of(s.at.deskew_edge(t, c, r), c, r), t);
          EXPECT_EQ(s.at.d_feed_of(s.at.d_edge(t, r), r), t);
        }
    for (std::int64_t t = 0; t < 50; ++t) EXPECT_EQ(s.at.output_latch_feed_of(s.at.output_latch(t)), t);
  }
}

TEST(Accelerator, BadConfigurationIsRejectedBeforeRunning) {
  Accelerator& acc = shared_accelerator();
  ArrayConfig a = array_config(16, 16);
  a.rows = 0;
  EXPECT_THROW(acc.configure(a), ConfigError);
  a = array_config(64, 64);
  a.buffers.weight_kib = 1;  // 1 KiB < 64*64 weights of one fold
  EXPECT_THROW(acc.configure(a), ConfigError);
}

}  // namespace
}  // namespace isimdl
