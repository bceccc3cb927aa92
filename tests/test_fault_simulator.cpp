#include <gtest/gtest.h>

#include "model_fixtures.h"

#include "hw/accelerator.h"
#include "hw/fold_schedule.h"
#include <array>
#include <set>
#include <tuple>
#include "hw/fault_injector.h"
#include "models/model_file.h"
#include "models/random.h"
#include "models/zoo.h"
#include "config/config.h"
#include "runner/fault_simulator.h"
#include "sampler/fault_space.h"
#include "runner/network_runner.h"
#include "hw/register_oracle.h"

namespace isimdl {
namespace {

using testing_fixtures::lenet5;
using testing_fixtures::mnist_subset;

std::vector<RegisterGroup> all_groups() {
  std::vector<RegisterGroup> groups;
  for (const auto& r : register_map()) groups.push_back(r.group);
  return groups;
}

ArrayConfig small_array() {
  ArrayConfig a;
  a.rows = 8;
  a.cols = 8;
  return a;
}

// Contract 2: the fast path (only the faulty layer cycle by cycle, the rest
// from the golden cache and the reference engine) gives exactly the outcome
// and the faulty logits of a full cycle-level re-simulation, for random
// faults of every kind over every register group.
TEST(FaultSimulator, FastPathEqualsFullResimulation) {
  for (const Dataflow dataflow : {Dataflow::kWeightStationary, Dataflow::kInputStationary, Dataflow::kOutputStationary}) {
  Accelerator& accelerator = shared_accelerator();
  ArrayConfig array = small_array();
  array.dataflow = dataflow;
  accelerator.configure(array);
  FaultSimulator simulator(accelerator, lenet5(), mnist_subset());
  Random random(2024);
  std::array<int, kOutcomeCount> seen{};
  int faults = 0;
  for (FaultKind kind : {FaultKind::kBitFlip, FaultKind::kAdjacentBits, FaultKind::kStuckAt0, FaultKind::kStuckAt1}) {
    const FaultSpace space(lenet5(), array, all_groups(), kind, 3, 40);
    const int count = kind == FaultKind::kBitFlip ? 350 : 50;
    for (int i = 0; i < count; ++i) {
      const FaultSite site = space.sample_uniform(random);
      const int image = static_cast<int>(random.uniform_below(5));
      const FaultResult fast = simulator.run_fast(site, image);
      const FaultResult full = simulator.run_full(site, image);
      ASSERT_EQ(to_string(fast.outcome), std::string(to_string(full.outcome)))
          << "layer " << site.layer << " " << register_info(site.group).group_name << "[" << site.index << "] bit "
          << site.bit << " cycle " << site.cycle << " " << to_string(kind) << " " << to_string(dataflow);
      ASSERT_EQ(fast.logits, full.logits);
      ASSERT_TRUE(fast.injection.injected);
      ASSERT_EQ(fast.injection.before, full.injection.before);
      ASSERT_EQ(fast.injection.after, full.injection.after);
      ++seen[static_cast<std::size_t>(fast.outcome)];
      ++faults;
    }
  }
  EXPECT_EQ(faults, 500);
  // The sample is not degenerate: faults are masked and some corrupt the output.
  EXPECT_GT(seen[static_cast<std::size_t>(Outcome::kMasked)], 0) << to_string(dataflow);
  EXPECT_GT(faults - seen[static_cast<std::size_t>(Outcome::kMasked)], 0) << to_string(dataflow);
  }
}

// The incremental propagation of a fault's effect (models/delta_propagation.h)
// gives what the dense tail gives on every fault: outcome, death point,
// faulty logits. 1,000 uniform single-bit faults over every register group
// per zoo model (residual resnet8 and depthwise mobilenet-tiny among them),
// on an 8x8 array; tests/test_delta_propagation.cpp checks the propagation
// itself on imported networks. The incremental simulator takes each fault
// on four images at once (as campaigns do: changes held whole carried on
// together), the dense one image by image. The same with the caches
// bounded to nothing.
class IncrementalTail : public ::testing::TestWithParam<std::string> {};

TEST_P(IncrementalTail, EqualsTheDenseTailOnEveryFault) {
  const QuantizedModel model = load_model(resolve_model_path(GetParam(), default_zoo_dir()));
  Accelerator& accelerator = shared_accelerator();
  accelerator.configure(small_array());
  FaultSimulator incremental(accelerator, model, mnist_subset());
  FaultSimulator dense(accelerator, model, mnist_subset());
  dense.set_incremental(false);
  // A cache budget of one byte keeps only the trace and context in use:
  // everything else is recomputed, and nothing changes.
  FaultSimulator bounded(accelerator, model, mnist_subset());
  bounded.set_cache_budget(1);
  const FaultSpace space(model, small_array(), all_groups(), FaultKind::kBitFlip);
  Random random(99);
  int propagated = 0;
  std::vector<FaultResult> together, bounded_together;
  for (int i = 0; i < 250; ++i) {
    const FaultSite site = space.sample_uniform(random);
    incremental.run_fast(site, 0, 4, together);
    bounded.run_fast(site, 0, 4, bounded_together);
    ASSERT_EQ(together.size(), 4u);
    for (int image = 0; image < 4; ++image) {
      const FaultResult& a = together[static_cast<std::size_t>(image)];
      const FaultResult b = dense.run_fast(site, image);
      ASSERT_EQ(to_string(a.outcome), std::string(to_string(b.outcome))) << GetParam() << " fault " << i << " image " << image;
      ASSERT_EQ(to_string(a.died), std::string(to_string(b.died))) << GetParam() << " fault " << i << " image " << image;
      ASSERT_EQ(a.logits, b.logits) << GetParam() << " fault " << i << " image " << image;
      const FaultResult& c = bounded_together[static_cast<std::size_t>(image)];
      ASSERT_EQ(to_string(c.outcome), std::string(to_string(a.outcome))) << GetParam() << " fault " << i;
      ASSERT_EQ(a.logits, c.logits) << GetParam() << " fault " << i;
      propagated += a.died != DeathPoint::kArray && a.died != DeathPoint::kAccumulator &&
                    a.died != DeathPoint::kRequantization && a.died != DeathPoint::kNotApplicable;
    }
  }
  EXPECT_GT(propagated, 0) << GetParam() << ": no fault left its layer";
  EXPECT_LT(bounded.cached_bytes(), incremental.cached_bytes());
}

INSTANTIATE_TEST_SUITE_P(Zoo, IncrementalTail, ::testing::Values("lenet5", "cnn-small", "mlp", "resnet8", "mobilenet-tiny"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

// A weight-buffer bit flip before preload acts exactly like a corrupted
// weight: for a Linear layer (M = 1) accumulator n changes by x[k] * (w' - w)
// and no other accumulator changes. Independent of the simulator's code.
TEST(FaultSimulator, WeightBufferFlipChangesOneAccumulatorByClosedForm) {
  Accelerator& accelerator = shared_accelerator();
  accelerator.configure(ArrayConfig{});
  FaultSimulator simulator(accelerator, lenet5(), mnist_subset());
  const int layer = 11, K = 84, n = 3, k = 17, bit = 6;
  const InferenceTrace& golden = simulator.golden(0);
  const QuantizedLayer& q = lenet5().layers[layer];
  const int w = q.weight[static_cast<std::size_t>(n * K + k)];
  const int flipped = static_cast<std::int8_t>(static_cast<std::uint8_t>(w) ^ (1u << bit));
  const int x = golden.out[10][static_cast<std::size_t>(k)];
  FaultSite site;
  site.layer = layer;
  site.group = RegisterGroup::kWeightBuffer;
  site.index = n * K + k;
  site.bit = bit;
  site.cycle = 0;
  NetworkRunner runner(accelerator, lenet5());
  InferenceTrace trace = golden;
  InjectionRecord record;
  runner.run_array_layer(layer, trace, nullptr, &site, &record);
  EXPECT_EQ(record.before, w);
  EXPECT_EQ(record.after, flipped);
  for (int i = 0; i < 10; ++i) {
    const std::int64_t expected = golden.acc[layer][static_cast<std::size_t>(i)] + (i == n ? static_cast<std::int64_t>(x) * (flipped - w) : 0);
    EXPECT_EQ(trace.acc[layer][static_cast<std::size_t>(i)], expected) << "accumulator " << i;
  }
}

TEST(FaultSimulator, SitesOutsideTheSpaceAreErrors) {
  Accelerator& accelerator = shared_accelerator();
  accelerator.configure(small_array());
  FaultSimulator simulator(accelerator, lenet5(), mnist_subset());
  FaultSite site;
  site.layer = 11;
  site.group = RegisterGroup::kPePsum;
  site.index = 64;  // 8x8 array: 0..63
  EXPECT_THROW(simulator.run_fast(site, 0), Error);
  site.index = 0;
  site.bit = 32;
  EXPECT_THROW(simulator.run_fast(site, 0), Error);
  site.bit = 0;
  site.cycle = 1'000'000;
  EXPECT_THROW(simulator.run_fast(site, 0), Error);
  site.cycle = 0;
  site.layer = 1;  // a ReLU: not on the array
  EXPECT_THROW(simulator.run_full(site, 0), Error);
  const FaultSpace space(lenet5(), small_array(), all_groups(), FaultKind::kBitFlip);
  site.layer = 11;
  site.group = RegisterGroup::kPeValid;
  site.bit = 1;
  EXPECT_THROW(space.check(site), Error);
}

TEST(FaultSimulator, ClassifiesTopKOutcomes) {
  const std::vector<std::int8_t> golden{10, 50, 20, 30, 0, 5, 6, 7, 8, 9};
  EXPECT_EQ(classify(golden, golden), Outcome::kMasked);
  EXPECT_EQ(classify(golden, {10, 49, 20, 30, 0, 5, 6, 7, 8, 9}), Outcome::kSdcBenign);
  EXPECT_EQ(classify(golden, {10, 50, 20, 60, 0, 5, 6, 7, 8, 9}), Outcome::kSdcTop1);
  EXPECT_EQ(classify(golden, {100, -50, 90, 80, 70, 60, 6, 7, 8, 9}), Outcome::kSdcTop5);
}

TEST(FaultSpace, SizeIsTheSumOfBitsTimesCycles) {
  const FaultSpace space(lenet5(), ArrayConfig{}, {RegisterGroup::kPePsum, RegisterGroup::kPeValid}, FaultKind::kBitFlip);
  std::uint64_t expected = 0;
  for (int layer : {0, 3, 7, 9, 11}) {
    const std::int64_t cycles = make_layer_schedule(lenet5().arch.gemm(layer), ArrayConfig{}).edges();
    expected += static_cast<std::uint64_t>(256 * (32 + 1) * cycles);
  }
  EXPECT_EQ(space.size(), expected);
  // Flat numbering is a bijection onto sites.
  std::set<std::tuple<int, int, std::int64_t, int, std::int64_t>> seen;
  for (std::uint64_t n = 0; n < space.size(); n += space.size() / 997) {
    const FaultSite s = space.site(n);
    EXPECT_NO_THROW(space.check(s));
    EXPECT_TRUE(seen.insert({s.layer, static_cast<int>(s.group), s.index, s.bit, s.cycle}).second);
  }
}

}  // namespace
}  // namespace isimdl

namespace isimdl {
namespace {

// Contract 3 for the partial-sum path: for random sites, the value the
// schedule says a register holds equals what the cycle-level model holds
// (read back by the injector), and the change lands in the output the
// schedule names — in both timing modes and with M-tiling.
// The value of a holding, computed independently of the oracle from the
// layer's operands (im2col of the input, W[n][k], biases).
std::vector<std::int8_t> im2col_of(const LayerJob& job) {
  std::vector<std::int8_t> a(static_cast<std::size_t>(job.gemm.m) * job.gemm.k);
  im2col_s8(job.input.data(), job.im2col, job.gemm, job.input_zero_point, a.data());
  return a;
}

std::int64_t value_of(const RegisterOracle::Holding& h, RegisterGroup group, const LayerJob& job,
                      const std::vector<std::int8_t>& a, Dataflow dataflow) {
  using Kind = RegisterOracle::Holding::Kind;
  // The propagate tag: the fold's parity, or output-stationary's drain tag.
  const int tag = dataflow == Dataflow::kOutputStationary ? h.drain : h.fold >= 0 ? h.fold & 1 : 0;
  const GemmShape g = job.gemm;
  auto A = [&](int m, int k) { return static_cast<std::int64_t>(a[static_cast<std::size_t>(m) * g.k + k]); };
  auto W = [&](int n, int k) { return static_cast<std::int64_t>(job.weight[static_cast<std::size_t>(n) * g.k + k]); };
  switch (h.kind) {
    case Kind::kNothing:
      // A row beyond the fold's K: no activation, but the fold's propagate tag.
      if (group == RegisterGroup::kPePropagate) return tag;
      if (group == RegisterGroup::kSkew) return tag << 9;
      return 0;
    // The streamed operand (an activation weight-stationary, a weight
    // input-stationary) with its tags in the operand path.
    case Kind::kActivation:
    case Kind::kWeight: {
      const std::int64_t x = h.kind == Kind::kActivation ? A(h.m, h.k) : W(h.n, h.k);
      if (group == RegisterGroup::kPeValid) return 1;
      if (group == RegisterGroup::kPePropagate) return tag;
      if (group == RegisterGroup::kSkew) return (x & 0xff) | (1 << 8) | (tag << 9);
      return x;
    }
    case Kind::kPartialSum: {
      std::int64_t sum = 0;
      for (int k = h.k; k < h.k + h.terms; ++k) sum += A(h.m, k) * W(h.n, k);
      return static_cast<std::int32_t>(sum);
    }
    case Kind::kAccumulator: {
      std::int64_t sum = job.bias[static_cast<std::size_t>(h.n)];
      for (int k = 0; k < h.terms; ++k) sum += A(h.m, k) * W(h.n, k);
      return static_cast<std::int32_t>(sum);
    }
    case Kind::kInputWord:
      return job.input[static_cast<std::size_t>(h.element)];
    case Kind::kOutputWord: {
      std::int64_t sum = job.bias[static_cast<std::size_t>(h.n)];
      for (int k = 0; k < g.k; ++k) sum += A(h.m, k) * W(h.n, k);
      return requantize(static_cast<std::int32_t>(sum), job.multiplier[static_cast<std::size_t>(h.n)],
                        job.output_zero_point, job.relu);
    }
  }
  return -1;
}

TEST(RegisterOracle, MatchesTheCycleLevelModel) {
  Accelerator& accelerator = shared_accelerator();
  Random random(99);
  for (const Dataflow dataflow : {Dataflow::kWeightStationary, Dataflow::kInputStationary, Dataflow::kOutputStationary})
  for (TimingMode timing : {TimingMode::kScaleSim, TimingMode::kDoubleBuffered}) {
    ArrayConfig array = small_array();
    array.timing = timing;
    array.dataflow = dataflow;
    array.buffers.accumulator_kib = 1;  // 32 rows of 8 columns: conv layers are M-tiled (IS: N-tiled)
    accelerator.configure(array);
    FaultSimulator simulator(accelerator, lenet5(), mnist_subset());
    NetworkRunner runner(accelerator, lenet5());
    for (int layer : {0, 3, 9, 11}) {
      const InferenceTrace& golden = simulator.golden(1);
      const int input = lenet5().arch.layer(layer).input;
      const LayerJob job = make_layer_job(lenet5(), layer, input < 0 ? golden.input : golden.out[static_cast<std::size_t>(input)]);
      const LayerSchedule schedule = make_layer_schedule(job.gemm, array);
      const RegisterOracle oracle(job, schedule);
      const std::vector<std::int8_t> im2col = im2col_of(job);
      std::vector<RegisterGroup> covered;  // every group, SRAM words included
      for (const auto& info : register_map()) covered.push_back(info.group);
      const FaultSpace space(lenet5(), array, covered, FaultKind::kBitFlip, 2, 1, {layer});
      for (int t = 0; t < 280; ++t) {
        FaultSite site = space.sample_uniform(random);
        if (t % 2 == 0) site.bit = register_info(site.group).width - 1;  // the sign bit: a large change
        InjectionRecord record;
        InferenceTrace trace = golden;
        runner.run_array_layer(layer, trace, nullptr, &site, &record);
        ASSERT_EQ(record.before, oracle.value(site.group, site.index, site.cycle))
            << register_info(site.group).group_name << "[" << site.index << "] after edge " << site.cycle
            << ", layer " << layer << ", " << to_string(timing) << " " << to_string(dataflow);
        // The element the schedule names, evaluated here from the operands,
        // is what the model's register held.
        ASSERT_EQ(record.before, value_of(oracle.holds(site.group, site.index, site.cycle), site.group, job, im2col, dataflow))
            << register_info(site.group).group_name << "[" << site.index << "] after edge " << site.cycle
            << ", layer " << layer << ", " << to_string(timing) << " " << to_string(dataflow);
        std::vector<std::int32_t> want = golden.acc[static_cast<std::size_t>(layer)];
        for (const auto& change : oracle.effect(site.group, site.index, site.cycle, record.after)) {
          std::int32_t& v = want[static_cast<std::size_t>(change.n) * job.gemm.m + static_cast<std::size_t>(change.m)];
          v = static_cast<std::int32_t>(static_cast<std::uint32_t>(v) + static_cast<std::uint32_t>(change.delta));
        }
        const auto& got = trace.acc[static_cast<std::size_t>(layer)];
        for (std::size_t e = 0; e < want.size(); ++e)
          ASSERT_EQ(want[e], got[e]) << register_info(site.group).group_name << "[" << site.index << "] after edge "
                                     << site.cycle << " bit " << site.bit << ", layer " << layer << ", output " << e
                                     << ", " << to_string(timing) << " " << to_string(dataflow);
      }
    }
  }
}

}  // namespace
}  // namespace isimdl
