// The software-level equivalent of register faults (hw/fault_equivalent.h)
// against the cycle-level model: applying the equivalent to the golden layer
// output in software must give exactly the faulty layer output the SystemC
// model computes with the fault injected.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "model_fixtures.h"

#include "hw/accelerator.h"
#include "hw/fault_equivalent.h"
#include "hw/fold_schedule.h"
#include "hw/layer_job.h"
#include "models/random.h"
#include "sampler/fault_space.h"
#include "sampler/liveness.h"
#include "runner/network_runner.h"

namespace isimdl {
namespace {

using testing_fixtures::lenet5;
using testing_fixtures::mnist_subset;

std::string hex8(std::uint8_t v) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%02x", v);
  return text;
}

// Equivalence: for faults drawn per register group (so that the rare
// groups get as many as the large ones), over every array layer of lenet5,
// square and non-square arrays, both timing modes, M-tiled accumulators, and
// every single-edge fault kind, the equivalent reproduces the simulated
// layer's accumulators and int8 outputs bit for bit.
void check_equivalents(const QuantizedModel& model, const std::vector<int>& layers, std::uint64_t seed) {
  Accelerator& accelerator = shared_accelerator();
  Random random(seed);
  struct Setup {
    int rows, cols;
    TimingMode timing;
    int accumulator_kib;
    Dataflow dataflow = Dataflow::kWeightStationary;
  };
  const Setup setups[] = {{8, 8, TimingMode::kScaleSim, 64},
                          {4, 8, TimingMode::kDoubleBuffered, 1},
                          {8, 4, TimingMode::kScaleSim, 1},
                          {8, 8, TimingMode::kScaleSim, 64, Dataflow::kInputStationary},
                          {4, 8, TimingMode::kDoubleBuffered, 1, Dataflow::kInputStationary},
                          {8, 4, TimingMode::kScaleSim, 1, Dataflow::kInputStationary},
                          {8, 8, TimingMode::kScaleSim, 64, Dataflow::kOutputStationary},
                          {4, 8, TimingMode::kDoubleBuffered, 1, Dataflow::kOutputStationary},
                          // 1 KiB: 8 accumulator rows for 16 result rows, wrapped.
                          {16, 32, TimingMode::kDoubleBuffered, 1, Dataflow::kOutputStationary}};
  const FaultKind kinds[] = {FaultKind::kBitFlip, FaultKind::kAdjacentBits, FaultKind::kStuckAt0, FaultKind::kStuckAt1};
  int total = 0;
  std::map<Dataflow, int> per_dataflow;
  std::map<std::pair<Dataflow, RegisterGroup>, int> effective;  // faults whose equivalent changes something
  for (const Setup& setup : setups) {
    ArrayConfig array;
    array.rows = setup.rows;
    array.cols = setup.cols;
    array.timing = setup.timing;
    array.buffers.accumulator_kib = setup.accumulator_kib;
    array.dataflow = setup.dataflow;
    accelerator.configure(array);
    NetworkRunner runner(accelerator, model);
    std::map<int, InferenceTrace> golden;
    for (int image = 0; image < 3; ++image) runner.engine().run(mnist_subset().images.image(image), golden[image]);
    for (const auto& info : register_map()) {
      if (!info.present(setup.dataflow)) continue;  // not in this dataflow's array
      for (int i = 0; i < 15; ++i) {
        const FaultKind kind = info.width == 1 && kinds[i % 4] == FaultKind::kAdjacentBits ? FaultKind::kBitFlip
                                                                                         : kinds[i % 4];
        const FaultSpace space(model, array, {info.group}, kind, 2, 1, layers);
        FaultSite site = space.sample_uniform(random);
        if (i % 3 == 0 && !is_sram_buffer(info.group)) {
          // A live register (sampler/liveness.h): most of a group's sites
          // hold dead values, and a dead value tests little.
          // (A depthwise layer's folds use one column: its horizontal
          // operand registers are never live there.)
          const LiveSpace live(space);
          std::vector<std::size_t> with_live;
          for (std::size_t b = 0; b < space.blocks().size(); ++b)
            if (live.live_pairs(b) > 0) with_live.push_back(b);
          if (!with_live.empty()) {
            const std::size_t b = with_live[random.uniform_below(with_live.size())];
            site.layer = space.blocks()[b].layer;
            std::tie(site.index, site.cycle) = live.sample(b, random);
          }
        }
        // Half the faults on the top bit: the largest changes.
        if (i % 2 == 0) site.bit = register_info(site.group).width - (kind == FaultKind::kAdjacentBits ? 2 : 1);
        const int image = static_cast<int>(random.uniform_below(3));
        const InferenceTrace& g = golden[image];
        const auto layer = static_cast<std::size_t>(site.layer);
        const auto ctx = make_layer_oracle(model, site.layer, g, array);
        if (i % 3 == 1) {
          // At a boundary: an edge at which the register's equivalent changes
          // (a read, a write, a latch), or the edge before it. An off-by-one
          // in the schedule shows only there.
          auto size_at = [&](std::int64_t cycle) {
            FaultSite s = site;
            s.cycle = cycle;
            const FaultEquivalent e = fault_equivalent(*ctx, s);
            return e.accumulators.size() + 1000000 * e.outputs.size();
          };
          std::vector<std::int64_t> changes;
          std::size_t previous = size_at(0);
          for (std::int64_t c = 1; c < ctx->schedule.edges(); ++c) {
            const std::size_t now = size_at(c);
            if (now != previous) changes.push_back(c);
            previous = now;
          }
          if (!changes.empty())
            site.cycle = changes[random.uniform_below(changes.size())] - static_cast<std::int64_t>(random.uniform_below(2));
        }
        const FaultEquivalent eq = fault_equivalent(*ctx, site);
        ASSERT_TRUE(eq.expressible) << eq.not_expressible;
        InferenceTrace simulated = g;
        InjectionRecord record;
        runner.run_array_layer(site.layer, simulated, nullptr, &site, &record);
        const std::string where = std::string(info.group_name) + "[" + std::to_string(site.index) + "] bit " +
                                  std::to_string(site.bit) + " " + to_string(kind) + " after edge " +
                                  std::to_string(site.cycle) + ", layer " + std::to_string(site.layer) + ", " +
                                  std::to_string(setup.rows) + "x" + std::to_string(setup.cols) + " " +
                                  to_string(setup.timing) + " " + to_string(setup.dataflow);
        ASSERT_EQ(record.before, eq.injection.before) << where;
        ASSERT_EQ(record.after, eq.injection.after) << where;
        std::vector<std::int32_t> acc = g.acc[layer];
        std::vector<std::int8_t> out = g.out[layer];
        apply_equivalent(eq, ctx->job, acc, out);
        ASSERT_EQ(acc, simulated.acc[layer]) << where;
        ASSERT_EQ(out, simulated.out[layer]) << where;
        if (out != g.out[layer] || acc != g.acc[layer]) ++effective[{setup.dataflow, info.group}];
        ++total;
        ++per_dataflow[setup.dataflow];
      }
    }
  }
  EXPECT_GE(total, 1000);
  // The test must exercise real effects in every group of every dataflow,
  // not only dead values.
  for (const Dataflow dataflow : {Dataflow::kWeightStationary, Dataflow::kInputStationary, Dataflow::kOutputStationary}) {
    EXPECT_GE(per_dataflow[dataflow], 500) << to_string(dataflow);
    for (const auto& info : register_map()) {
      // (Output-stationary's accumulator words are never read back: never live.)
      if (!info.present(dataflow) ||
          (dataflow == Dataflow::kOutputStationary && info.group == RegisterGroup::kAccumulator))
        continue;
      EXPECT_GE((effective[{dataflow, info.group}]), 3) << info.group_name << " " << to_string(dataflow);
    }
  }
}

TEST(FaultEquivalent, ReproducesTheCycleLevelLayerOutput) { check_equivalents(lenet5(), {}, 4242); }

// The same on grouped GEMMs, which the array runs one group at a time: the
// depthwise (8 groups, stride 2, asymmetric padding) and the 2-group dilated
// convolution of the modern-layer network.
TEST(FaultEquivalent, ReproducesTheCycleLevelLayerOutputOfGroupedConvolutions) {
  static const QuantizedModel model =
      testing_fixtures::quantized_random_model(testing_fixtures::modern_layer_architecture(), 51);
  check_equivalents(model, {2, 4}, 977);
}

// What the equivalent cannot express is said, not approximated: a stuck-at
// fault held over several edges.
TEST(FaultEquivalent, MultiEdgeStuckAtIsReportedNotApproximated) {
  ArrayConfig array;
  array.rows = 8;
  array.cols = 8;
  InferenceTrace g;
  ReferenceEngine(lenet5()).run(mnist_subset().images.image(0), g);
  const auto ctx = make_layer_oracle(lenet5(), 0, g, array);
  FaultSite site;
  site.layer = 0;
  site.group = RegisterGroup::kPeW0;
  site.index = 3;
  site.bit = 6;
  site.cycle = 10;
  site.kind = FaultKind::kStuckAt1;
  site.duration = 20;
  const FaultEquivalent eq = fault_equivalent(*ctx, site);
  EXPECT_FALSE(eq.expressible);
  EXPECT_NE(eq.not_expressible.find("stuck-at"), std::string::npos);
  std::vector<std::int32_t> acc = g.acc[0];
  std::vector<std::int8_t> out = g.out[0];
  EXPECT_THROW(apply_equivalent(eq, ctx->job, acc, out), Error);
  site.duration = 1;
  EXPECT_TRUE(fault_equivalent(*ctx, site).expressible);
}

// The explanation names the tensor element and the outputs it changes,
// checked against values computed here from the operands: a flip of the top
// bit of a weight register during a fold changes W[n][k] by -128 or +128 for
// the outputs that fold still computes.
TEST(FaultEquivalent, ExplainsAWeightRegisterFaultInTensorTerms) {
  ArrayConfig array;
  array.rows = 8;
  array.cols = 8;
  InferenceTrace g;
  ReferenceEngine(lenet5()).run(mnist_subset().images.image(0), g);
  const auto ctx = make_layer_oracle(lenet5(), 0, g, array);  // conv1: K = 25, N = 6, M = 784
  const Fold& f = ctx->schedule.folds.front();
  FaultSite site;
  site.layer = 0;
  site.group = RegisterGroup::kPeW0;  // fold 0 latches into w0
  site.index = 2 * array.cols + 3;     // PE(2, 3): W[3][2] = w[3][0][0][2]
  site.bit = 7;
  site.cycle = f.stream_start + 100;  // the fold's vectors from about m = 100 on still read it
  const FaultEquivalent eq = fault_equivalent(*ctx, site);
  const std::int8_t w = ctx->job.weight[3 * 25 + 2];
  EXPECT_EQ(eq.injection.before, w);
  EXPECT_EQ(eq.injection.after, static_cast<std::int8_t>(w ^ 0x80));
  ASSERT_FALSE(eq.accumulators.empty());
  for (const auto& c : eq.accumulators) {
    EXPECT_EQ(c.n, 3);
    EXPECT_GE(c.m, 95);  // only vectors that reach PE(2, 3) after the fault
  }
  const std::string text = explain_equivalent(eq, site, *ctx, g.acc[0], g.out[0]);
  EXPECT_NE(text.find("weight w[3][0][0][2]"), std::string::npos) << text;
  EXPECT_NE(text.find(hex8(static_cast<std::uint8_t>(w ^ 0x80))), std::string::npos) << text;
  EXPECT_NE(text.find("of channel 3"), std::string::npos) << text;

  // Output-stationary: a missed drain. The drain tag of row 2 of fold 0
  // (outputs m = 0..7) is in PE(2, 3)'s propagate register after the edge it
  // drains PE(2, 3); cleared, PE(2, 4) and PE(2, 5) keep their sums, so
  // outputs (2, 4) and (2, 5) lose them and fold 1's (10, 4) and (10, 5),
  // drained from the same PEs, gain them.
  array.dataflow = Dataflow::kOutputStationary;
  const auto os = make_layer_oracle(lenet5(), 0, g, array);
  const Fold& f0 = os->schedule.folds.front();
  site.group = RegisterGroup::kPePropagate;
  site.index = 2 * array.cols + 3;
  site.bit = 0;
  site.cycle = os->schedule.at.pe_edge(f0.result_start + 2, 2, 3);
  const FaultEquivalent missed = fault_equivalent(*os, site);
  EXPECT_EQ(missed.injection.before, 1);
  std::set<std::pair<int, int>> changed;
  for (const auto& c : missed.accumulators) changed.insert({c.m, c.n});
  EXPECT_EQ(changed, (std::set<std::pair<int, int>>{{2, 4}, {2, 5}, {10, 4}, {10, 5}}));
  const std::string drain = explain_equivalent(missed, site, *os, g.acc[0], g.out[0]);
  EXPECT_NE(drain.find("a set drain tag"), std::string::npos) << drain;
}

// Liveness is exact both ways, proven by cycle-level simulation alone (not by
// the register oracle, which shares the schedule's reasoning): for every
// register group and every one of its instances, some live site's flip
// changes the layer's result (a register that nothing reads would fail
// here), and no flip at a dead site changes anything. Small GEMMs with
// several K-folds (so accumulator words are read back), a ragged last N- and
// K-slice, square and non-square arrays, both timing modes.
TEST(LiveSpace, EveryRegisterInstanceIsReadAndDeadSitesChangeNothing) {
  Accelerator& accelerator = shared_accelerator();
  Random random(2024);
  struct Setup {
    int rows, cols;
    TimingMode timing;
    Dataflow dataflow = Dataflow::kWeightStationary;
  };
  for (const Setup setup : {Setup{4, 4, TimingMode::kScaleSim}, Setup{3, 5, TimingMode::kDoubleBuffered},
                            Setup{4, 4, TimingMode::kScaleSim, Dataflow::kInputStationary},
                            Setup{3, 5, TimingMode::kDoubleBuffered, Dataflow::kInputStationary},
                            Setup{4, 4, TimingMode::kScaleSim, Dataflow::kOutputStationary},
                            Setup{3, 5, TimingMode::kDoubleBuffered, Dataflow::kOutputStationary}}) {
    ArrayConfig array;
    array.rows = setup.rows;
    array.cols = setup.cols;
    array.timing = setup.timing;
    array.dataflow = setup.dataflow;
    accelerator.configure(array);
    const int m = 5, k = 2 * setup.rows + 1, n = 2 * setup.cols - 1;
    const LayerJob job = random_gemm_job(m, k, n, 77);
    const LayerSchedule schedule = make_layer_schedule(job.gemm, array);
    LayerGeometry geometry;
    geometry.spec = job.spec;
    geometry.input = job.input_shape;
    geometry.output = job.output_shape;
    geometry.im2col = job.im2col;
    const LayerResult golden = accelerator.run_layer(job);
    const std::int64_t edges = schedule.edges();
    auto changes = [&](RegisterGroup group, std::int64_t index, std::int64_t cycle, int bit) {
      FaultSite site;
      site.group = group;
      site.index = index;
      site.cycle = cycle;
      site.bit = bit;
      const LayerResult r = accelerator.run_layer(job, nullptr, &site);
      return r.acc != golden.acc || r.out != golden.out;
    };
    for (const RegisterGroup group : all_register_groups()) {
      const RegisterInfo& info = register_info(group);
      const auto live = live_intervals(schedule, group, geometry);
      const std::int64_t instances = register_instance_count(accelerator, group);
      ASSERT_EQ(static_cast<std::int64_t>(live.size()), instances) << info.group_name;
      if (!info.present(setup.dataflow)) continue;  // not in this dataflow's array
      // Bits to try at a live site: the sign or high bits first.
      std::vector<int> bits{info.width - 2, info.width - 1, 0};
      if (group == RegisterGroup::kSkew) bits = {6, 8, 9};
      if (info.width == 1) bits = {0};
      int dead_checked = 0;
      for (std::int64_t index = 0; index < instances; ++index) {
        const auto& list = live[static_cast<std::size_t>(index)];
        // The one exception, by design of the PE cell: the registers that
        // pass a value on to a neighbour that does not exist — a, valid and
        // propagate of the last column, d of the last row (docs/hardware.md,
        // "Registers").
        const bool drives_nothing = ((group == RegisterGroup::kPeA || group == RegisterGroup::kPeValid ||
                                      group == RegisterGroup::kPePropagate) &&
                                     index % setup.cols == setup.cols - 1) ||
                                    (group == RegisterGroup::kPeD && index / setup.cols == setup.rows - 1) ||
                                    // Output-stationary sums each output in its PE: the
                                    // accumulator adds the bias once and is never read back.
                                    (group == RegisterGroup::kAccumulator && setup.dataflow == Dataflow::kOutputStationary);
        // And a boundary of the cycle numbering: the stationary operand's word
        // of fold 0's last row (a weight word weight-stationary, an ifmap
        // word input-stationary) is read for the preload's first cycle, at
        // edge 0, before any cycle a fault can name.
        bool read_at_edge_0_only = false;
        const bool is = setup.dataflow == Dataflow::kInputStationary;
        if (group == (is ? RegisterGroup::kIfmapBuffer : RegisterGroup::kWeightBuffer)) {
          std::vector<std::pair<int, int>> uses;  // (stationary column index, k)
          if (is)
            uses = job.im2col.uses_of(index);
          else
            uses.push_back(job.gemm.weight_of_word(index));
          std::int64_t last_read = -1;
          for (const auto& [j, k] : uses)
            for (const Fold& f : schedule.folds)
              if (j >= f.c0 && j < f.c0 + f.c_count && k >= f.k0 && k < f.k0 + f.k_count)
                last_read = std::max<std::int64_t>(last_read, f.preload_start + setup.rows - 1 - (k - f.k0));
          read_at_edge_0_only = last_read == 0;
        }
        if (drives_nothing || read_at_edge_0_only) {
          EXPECT_TRUE(list.empty()) << info.group_name << "[" << index << "]";
        } else {
          ASSERT_FALSE(list.empty()) << info.group_name << "[" << index << "] is never live on a " << setup.rows << "x"
                                     << setup.cols << " array " << to_string(setup.dataflow);
        }
        bool changed = drives_nothing || read_at_edge_0_only;
        for (const LiveInterval& iv : list) {
          for (std::int64_t cycle = iv.begin; cycle < std::min(iv.end, edges) && !changed; ++cycle)
            for (const int bit : bits)
              if ((changed = changes(group, index, cycle, bit))) break;
          if (changed) break;
        }
        EXPECT_TRUE(changed) << info.group_name << "[" << index << "] is live by the schedule, but no flip at any of its "
                             << "live cycles changes the layer's result (" << setup.rows << "x" << setup.cols << ")";
        // Dead sites: three random cycles outside every interval.
        for (int t = 0; t < 3; ++t) {
          const auto cycle = static_cast<std::int64_t>(random.uniform_below(static_cast<std::uint64_t>(edges)));
          bool is_live = false;
          for (const LiveInterval& iv : list) is_live = is_live || (cycle >= iv.begin && cycle < iv.end);
          if (is_live) continue;
          const int bit = static_cast<int>(random.uniform_below(static_cast<std::uint64_t>(info.width)));
          EXPECT_FALSE(changes(group, index, cycle, bit))
              << info.group_name << "[" << index << "] bit " << bit << " at cycle " << cycle
              << " is dead by the schedule but changes the layer's result (" << setup.rows << "x" << setup.cols << ")";
          ++dead_checked;
        }
      }
      EXPECT_GT(dead_checked, 0) << info.group_name;
    }
  }
}

}  // namespace
}  // namespace isimdl
