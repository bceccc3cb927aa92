#include <gtest/gtest.h>

#include "model_fixtures.h"

#include <cmath>
#include <map>

#include "hw/accelerator.h"
#include "hw/fault_equivalent.h"
#include "hw/register_oracle.h"
#include "models/error.h"
#include "models/model_file.h"
#include "models/zoo.h"
#include "sampler/estimators.h"
#include "sampler/fault_space.h"
#include "sampler/importance_sampler.h"
#include "sampler/liveness.h"
#include "sampler/sensitivity.h"
#include "sampler/site_scores.h"
#include "sampler/stopping.h"
#include "sampler/stratified.h"
#include "runner/fault_simulator.h"
#include "campaign/campaign.h"

namespace isimdl {
namespace {

using testing_fixtures::lenet5;
using testing_fixtures::mnist_subset;

// The importance options a campaign uses by default (docs/configuration.md).
ImportanceSampler::Options campaign_defaults() { return CampaignImportance::options(CampaignConfig{}); }

// A space small enough for an exhaustive ground truth: the weights,
// activations and partial sums of lenet5's logit layer on a 2x2 array, two images.
struct SmallCampaign {
  ArrayConfig array;
  std::unique_ptr<FaultSpace> space;
  std::vector<std::uint8_t> critical;  // per flat site number
  double truth = 0;                    // exhaustive critical-fault rate
  std::vector<double> scores;
  std::unique_ptr<LiveSpace> live;
};

const SmallCampaign& small_campaign() {
  static const SmallCampaign campaign = [] {
    SmallCampaign c;
    c.array.rows = c.array.cols = 2;
    c.space = std::make_unique<FaultSpace>(lenet5(), c.array,
                                           std::vector<RegisterGroup>{RegisterGroup::kPeA, RegisterGroup::kPeW0,
                                                                      RegisterGroup::kPeW1, RegisterGroup::kPePsum},
                                           FaultKind::kBitFlip, 2, 1, std::vector<int>{11});
    Accelerator& accelerator = shared_accelerator();
    accelerator.configure(c.array);
    FaultSimulator simulator(accelerator, lenet5(), mnist_subset());
    const int images = 2;
    int golden_correct = 0;
    for (int i = 0; i < images; ++i)
      golden_correct += ReferenceEngine::top1(simulator.golden(i).logits()) == mnist_subset().labels[static_cast<std::size_t>(i)];
    std::uint64_t critical = 0;
    c.critical.resize(c.space->size());
    for (std::uint64_t n = 0; n < c.space->size(); ++n) {
      int correct = 0;
      for (int i = 0; i < images; ++i) {
        const FaultResult r = simulator.run_fast(c.space->site(n), i);
        correct += r.top1 == mnist_subset().labels[static_cast<std::size_t>(i)];
      }
      const double drop = golden_correct ? static_cast<double>(golden_correct - correct) / golden_correct : 0.0;
      c.critical[n] = drop >= 0.05;
      critical += c.critical[n];
    }
    c.truth = static_cast<double>(critical) / static_cast<double>(c.space->size());
    const auto sensitivity = compute_sensitivity(lenet5(), mnist_subset(), 0, images);
    c.live = std::make_unique<LiveSpace>(*c.space);
    c.scores = block_scores(*c.space, *c.live, lenet5(), c.array, mnist_subset(), 0, images, sensitivity, 256, 7);
    return c;
  }();
  return campaign;
}

TEST(ImportanceSampler, QIsAnExactDistributionWithFullSupport) {
  const SmallCampaign& c = small_campaign();
  const ImportanceSampler sampler(*c.space, *c.live, c.scores, {});
  double total = 0, smallest = 1;
  for (std::uint64_t n = 0; n < c.space->size(); ++n) {
    const double q = sampler.q(c.space->site(n));
    total += q;
    smallest = std::min(smallest, q);
  }
  EXPECT_NEAR(total, 1.0, 1e-9);
  EXPECT_GE(smallest, 0.1 * sampler.p() * 0.999999);  // epsilon * p: every site can be drawn
  // Draws follow q: the share of draws per bit position against q's marginal.
  Random random(3);
  std::vector<double> drawn(32, 0), expected(32, 0);
  const int draws = 200000;
  for (int i = 0; i < draws; ++i) drawn[static_cast<std::size_t>(sampler.sample(random).site.bit)] += 1.0 / draws;
  for (std::uint64_t n = 0; n < c.space->size(); ++n) {
    const FaultSite s = c.space->site(n);
    expected[static_cast<std::size_t>(s.bit)] += sampler.q(s);
  }
  for (int b = 0; b < 32; ++b) EXPECT_NEAR(drawn[static_cast<std::size_t>(b)], expected[static_cast<std::size_t>(b)], 0.005) << "bit " << b;
}

// With the defensive part over live sites (the campaign default for bit
// flips), q is still a distribution, positive exactly on the live sites.
TEST(ImportanceSampler, LiveDefensivePartIsExact) {
  const SmallCampaign& c = small_campaign();
  const ImportanceSampler::Options options = campaign_defaults();
  ASSERT_TRUE(options.defensive_live);
  const ImportanceSampler sampler(*c.space, *c.live, c.scores, options);
  double total = 0;
  std::uint64_t live = 0;
  for (std::uint64_t n = 0; n < c.space->size(); ++n) {
    const FaultSite s = c.space->site(n);
    const double q = sampler.q(s);
    total += q;
    std::size_t b = 0;
    while (c.space->blocks()[b].layer != s.layer || c.space->blocks()[b].group != s.group) ++b;
    const bool is_live = c.live->is_live(b, s.index, s.cycle);
    live += is_live;
    if (!is_live) {
      EXPECT_EQ(q, 0.0);
    }
  }
  EXPECT_NEAR(total, 1.0, 1e-9);
  EXPECT_TRUE(std::isfinite(sampler.max_weight(true)));
  Random random(8);
  for (int i = 0; i < 20000; ++i) {
    const auto d = sampler.sample(random);
    ASSERT_GT(d.q, 0.0);
    ASSERT_LE(d.weight(), sampler.max_weight(true) * (1 + 1e-12));
  }
  EXPECT_GT(live, 0u);
}

// Against the exhaustive ground truth, over 200 seeds of 1,000 faults with
// the default options: the estimates average to the truth (unbiased), their
// 95% intervals cover it in at least 90% of runs, their variance is below
// uniform sampling's at equal budget, and critical faults are found far more
// often than by uniform sampling. (At 300 faults coverage is about 89%: the
// normal interval needs enough draws for the skewed weighted sums.)
TEST(ImportanceSampler, EstimatesAgainstTheExhaustiveTruth) {
  const SmallCampaign& c = small_campaign();
  ASSERT_GT(c.truth, 0.0) << "the small campaign needs some critical faults";
  const ImportanceSampler sampler(*c.space, *c.live, c.scores, campaign_defaults());
  const int seeds = 200, budget = 1000;
  std::vector<double> estimates, uniform_estimates;
  int hits = 0, uniform_hits = 0, covered = 0;
  for (int seed = 0; seed < seeds; ++seed) {
    Random random(1000 + static_cast<std::uint64_t>(seed));
    std::vector<double> x, w, xu;
    for (int i = 0; i < budget; ++i) {
      const ImportanceSampler::Draw d = sampler.sample(random);
      x.push_back(c.critical[c.space->number(d.site)]);
      w.push_back(d.weight());
      hits += c.critical[c.space->number(d.site)];
      xu.push_back(c.critical[c.space->number(c.space->sample_uniform(random))]);
      uniform_hits += static_cast<int>(xu.back());
    }
    const Estimate e = weighted_estimate(x, w);
    covered += e.lo <= c.truth && c.truth <= e.hi;
    estimates.push_back(e.value);
    uniform_estimates.push_back(weighted_estimate(xu, std::vector<double>(xu.size(), 1.0)).value);
  }
  auto mean_var = [](const std::vector<double>& v) {
    double mean = 0, var = 0;
    for (double e : v) mean += e / static_cast<double>(v.size());
    for (double e : v) var += (e - mean) * (e - mean) / static_cast<double>(v.size() - 1);
    return std::make_pair(mean, var);
  };
  const auto [mean, var] = mean_var(estimates);
  const auto [uniform_mean, uniform_var] = mean_var(uniform_estimates);
  EXPECT_NEAR(mean, c.truth, 3 * std::sqrt(var / seeds)) << "truth " << c.truth;
  // The default interval (Fay and Feuer's gamma interval) holds at its nominal level here.
  EXPECT_GE(covered, seeds * 93 / 100) << "truth " << c.truth;
  EXPECT_LT(var, uniform_var);
  EXPECT_GT(hits, 5 * uniform_hits) << "precision: importance " << hits << ", uniform " << uniform_hits;
  (void)uniform_mean;
}

// Liveness from the schedule agrees with the register oracle: a single-bit
// flip of a register outside its live intervals has no effect on any output
// (so the importance distribution only leaves dead sites to epsilon).
void check_dead_sites(const QuantizedModel& model, const std::vector<int>& layers, Dataflow dataflow) {
  ArrayConfig array;
  array.rows = 4;
  array.cols = 4;
  array.timing = TimingMode::kDoubleBuffered;
  array.dataflow = dataflow;
  std::vector<RegisterGroup> groups;
  for (const auto& r : register_map())
    groups.push_back(r.group);  // SRAM words included
  const FaultSpace space(model, array, groups, FaultKind::kBitFlip, 2, 1, layers);
  const LiveSpace live(space);
  ReferenceEngine engine(model);
  InferenceTrace trace;
  engine.run(mnist_subset().images.image(0), trace);
  Random random(11);
  int dead = 0, live_with_effect = 0;
  for (std::size_t b = 0; b < space.blocks().size(); ++b) {
    const FaultSpaceBlock& block = space.blocks()[b];
    const auto ctx = make_layer_oracle(model, block.layer, trace, array);
    for (int t = 0; t < 300; ++t) {
      const auto index = static_cast<std::int64_t>(random.uniform_below(static_cast<std::uint64_t>(block.instances)));
      const auto cycle = static_cast<std::int64_t>(random.uniform_below(static_cast<std::uint64_t>(block.cycles)));
      // A single-bit flip (liveness is defined for them: a multi-bit change of
      // a skew word can set valid, propagate and the operand of an unused row
      // at once), through the fault's software-level equivalent (SRAM output
      // words overwrite outputs rather than change accumulators).
      FaultSite site;
      site.layer = block.layer;
      site.group = block.group;
      site.index = index;
      site.cycle = cycle;
      site.bit = static_cast<int>(random.uniform_below(static_cast<std::uint64_t>(register_info(block.group).width)));
      const bool has_effect = !fault_equivalent(*ctx, site).dead();
      if (!live.is_live(b, index, cycle)) {
        ++dead;
        ASSERT_FALSE(has_effect) << register_info(block.group).group_name << "[" << index << "] cycle " << cycle
                                 << " layer " << block.layer << " " << to_string(dataflow) << " is dead by the schedule but changes an output";
      } else {
        live_with_effect += has_effect;
      }
    }
  }
  EXPECT_GT(dead, 100);
  EXPECT_GT(live_with_effect, 100);
  // SRAM words at their boundaries: the first cycle after an interval
  // (after the last read of an ifmap or weight word; the edge before an
  // output word is written) is dead; an output word is live, and a flip
  // changes the output, from its write edge on.
  int boundaries = 0;
  for (std::size_t b = 0; b < space.blocks().size(); ++b) {
    const FaultSpaceBlock& block = space.blocks()[b];
    if (!is_sram_buffer(block.group)) continue;
    const auto ctx = make_layer_oracle(model, block.layer, trace, array);
    const auto intervals = live_intervals(space.schedule(block.layer), block.group, space.geometry(block.layer));
    for (int t = 0; t < 40; ++t) {
      const auto index = static_cast<std::int64_t>(random.uniform_below(static_cast<std::uint64_t>(block.instances)));
      const auto& list = intervals[static_cast<std::size_t>(index)];
      if (list.empty()) continue;
      FaultSite site;
      site.layer = block.layer;
      site.group = block.group;
      site.index = index;
      site.bit = 7;
      site.cycle = block.group == RegisterGroup::kOutputBuffer ? list.front().begin - 1 : list.back().end;
      if (site.cycle < 0 || site.cycle >= block.cycles) continue;
      EXPECT_TRUE(fault_equivalent(*ctx, site).dead()) << register_info(block.group).group_name << "[" << index
                                                       << "] cycle " << site.cycle << " layer " << block.layer;
      if (block.group == RegisterGroup::kOutputBuffer) {
        site.cycle = list.front().begin;
        EXPECT_FALSE(fault_equivalent(*ctx, site).dead()) << "output word " << index << " at its write edge";
      }
      ++boundaries;
    }
  }
  EXPECT_GT(boundaries, 100);
}

TEST(LiveSpace, DeadSitesHaveNoEffect) {
  for (const Dataflow dataflow : {Dataflow::kWeightStationary, Dataflow::kInputStationary, Dataflow::kOutputStationary})
    check_dead_sites(lenet5(), {3, 11}, dataflow);
}

// The same for grouped GEMMs run one group at a time: the weight-buffer words
// hold only the weights that exist, and every site the schedule calls dead
// is dead (the depthwise and the 2-group convolution of the modern-layer
// network).
TEST(LiveSpace, DeadSitesHaveNoEffectInGroupedConvolutions) {
  static const QuantizedModel model =
      testing_fixtures::quantized_random_model(testing_fixtures::modern_layer_architecture(), 51);
  for (const Dataflow dataflow : {Dataflow::kWeightStationary, Dataflow::kOutputStationary})
    check_dead_sites(model, {2, 4}, dataflow);
}

// Not a check: prints the coverage tables of docs/sampling.md. Run with
//   build/tests/test_sim --gtest_also_run_disabled_tests --gtest_filter='ImportanceSampler.DISABLED_CoverageTables'
TEST(ImportanceSampler, DISABLED_CoverageTables) {
  const SmallCampaign& c = small_campaign();
  struct Row {
    int budget, seeds;
    std::uint64_t seed_base;
    double exponent, epsilon;
  };
  std::vector<Row> rows;
  for (double x : {1.0, 0.5, 0.25})
    for (double eps : {0.1, 0.3, 0.5}) rows.push_back({300, 200, 1000, x, eps});
  for (int budget : {300, 1000, 2000})
    for (double x : {0.5, 1.0}) rows.push_back({budget, 400, 5000, x, 0.1});
  for (const Row& row : rows) {
    ImportanceSampler::Options o;
    o.bit_exponent = row.exponent;
    o.epsilon = row.epsilon;
    const ImportanceSampler sampler(*c.space, *c.live, c.scores, o);
    int covered = 0;
    long hits = 0;
    std::vector<double> estimates;
    for (int seed = 0; seed < row.seeds; ++seed) {
      Random random(row.seed_base + static_cast<std::uint64_t>(seed));
      std::vector<double> x, w;
      for (int i = 0; i < row.budget; ++i) {
        const auto d = sampler.sample(random);
        x.push_back(c.critical[c.space->number(d.site)]);
        w.push_back(d.weight());
        hits += c.critical[c.space->number(d.site)];
      }
      const Estimate e = weighted_estimate(x, w);
      covered += e.lo <= c.truth && c.truth <= e.hi;
      estimates.push_back(e.value);
    }
    double mean = 0, var = 0;
    for (double e : estimates) mean += e / row.seeds;
    for (double e : estimates) var += (e - mean) * (e - mean) / (row.seeds - 1);
    std::printf("faults %d, seeds %d, x %.2f, epsilon %.1f: coverage %.1f%%, variance / uniform's %.2f, precision %.1f%% "
                "(uniform %.2f%%)\n",
                row.budget, row.seeds, row.exponent, row.epsilon, 100.0 * covered / row.seeds,
                var / (c.truth * (1 - c.truth) / row.budget), 100.0 * static_cast<double>(hits) / (row.seeds * row.budget),
                100 * c.truth);
  }
}

// The default interval with the campaign's default sampler must hold at a
// small budget: >= 93% of 200 importance campaigns and of 200 uniform ones
// of 100 faults cover the true critical rate (the target of
// docs/sampling.md, "Intervals against exhaustive truths").
TEST(Estimators, DefaultIntervalCoversTheExhaustiveTruth) {
  const SmallCampaign& c = small_campaign();
  const ImportanceSampler sampler(*c.space, *c.live, c.scores, campaign_defaults());
  const double max_w = sampler.max_weight(true);
  for (const bool importance : {false, true}) {
    const int seeds = 200, budget = 100;
    int covered = 0;
    for (int seed = 0; seed < seeds; ++seed) {
      Random random(7000 + static_cast<std::uint64_t>(seed));
      std::vector<double> x, w;
      for (int i = 0; i < budget; ++i) {
        if (importance) {
          const auto d = sampler.sample(random);
          x.push_back(c.critical[c.space->number(d.site)]);
          w.push_back(d.weight());
        } else {
          x.push_back(c.critical[random.uniform_below(c.space->size())]);
          w.push_back(1.0);
        }
      }
      EstimateOptions options;
      options.max_weight = importance ? max_w : 1.0;
      const Estimate e = weighted_estimate(x, w, options);
      covered += e.lo <= c.truth && c.truth <= e.hi;
    }
    EXPECT_GE(covered, seeds * 93 / 100) << (importance ? "importance" : "uniform") << ", truth " << c.truth;
  }
}

// Per-register-group population rates (the AVF of each group) from
// importance campaigns, against the group's exhaustive truth: unbiased over
// 200 seeds of 1,000 faults, and the default interval covers the truth of
// every group in at least 90% of them.
TEST(Estimators, PerGroupEstimatesAgainstTheExhaustiveTruth) {
  const SmallCampaign& c = small_campaign();
  const ImportanceSampler sampler(*c.space, *c.live, c.scores, campaign_defaults());
  std::map<RegisterGroup, double> share, truth, max_w;
  std::uint64_t n0 = 0;
  for (std::size_t b = 0; b < c.space->blocks().size(); ++b) {
    const FaultSpaceBlock& block = c.space->blocks()[b];
    share[block.group] += static_cast<double>(block.sites()) / static_cast<double>(c.space->size());
    for (std::uint64_t i = 0; i < block.sites(); ++i) truth[block.group] += c.critical[n0 + i];
    n0 += block.sites();
    max_w[block.group] = std::max(max_w[block.group], sampler.max_weight(b, true));
  }
  for (auto& [g, t] : truth) t /= share[g] * static_cast<double>(c.space->size());
  const int seeds = 200, budget = 1000;
  std::map<RegisterGroup, std::vector<double>> estimates;
  std::map<RegisterGroup, int> covered;
  for (int seed = 0; seed < seeds; ++seed) {
    Random random(9000 + static_cast<std::uint64_t>(seed));
    std::map<RegisterGroup, std::vector<double>> x, w;
    for (int i = 0; i < budget; ++i) {
      const auto d = sampler.sample(random);
      x[d.site.group].push_back(c.critical[c.space->number(d.site)]);
      w[d.site.group].push_back(d.weight());
    }
    for (const auto& [g, t] : truth) {
      const Estimate e = part_estimate(x[g], w[g], budget, share[g], max_w[g]);
      estimates[g].push_back(e.value);
      covered[g] += e.lo <= t && t <= e.hi;
    }
  }
  for (const auto& [g, t] : truth) {
    double mean = 0, var = 0;
    for (double e : estimates[g]) mean += e / seeds;
    for (double e : estimates[g]) var += (e - mean) * (e - mean) / (seeds - 1);
    EXPECT_NEAR(mean, t, 3 * std::sqrt(var / seeds) + 1e-12) << register_info(g).group_name;
    EXPECT_GE(covered[g], seeds * 90 / 100) << register_info(g).group_name << ": truth " << t;
  }
}

// Closed forms: Wilson's interval (Wilson 1927; 0 of 100 at 95%: upper
// z^2 / (n + z^2) = 0.03699), Clopper-Pearson (0 of 100: 1 - 0.025^(1/100) =
// 0.03622; 5 of 50: [0.03328, 0.21814], from the beta quantiles), and what a
// campaign that found nothing, or everything there is, prints.
TEST(Estimators, IntervalsMatchTheirClosedForms) {
  EXPECT_NEAR(normal_quantile(0.95), 1.959963984540054, 1e-12);
  const auto [wl, wh] = wilson_interval(0.0, 100, 0.95);
  EXPECT_EQ(wl, 0.0);
  EXPECT_NEAR(wh, 3.841458820694124 / (100 + 3.841458820694124), 1e-12);
  const auto [cl, ch] = clopper_pearson_interval(0, 100, 0.95);
  EXPECT_EQ(cl, 0.0);
  EXPECT_NEAR(ch, 1 - std::pow(0.025, 1.0 / 100), 1e-9);
  const auto [c5l, c5h] = clopper_pearson_interval(5, 50, 0.95);
  EXPECT_NEAR(c5l, 0.033275, 1e-5);
  EXPECT_NEAR(c5h, 0.218135, 1e-5);
  // Uniform campaign, no critical fault in 100: [0, Clopper-Pearson's upper
  // bound 1 - 0.025^(1/100), about 3.7 / n], not [0, 0].
  const Estimate none = weighted_estimate(std::vector<double>(100, 0.0), std::vector<double>(100, 1.0));
  EXPECT_EQ(none.value, 0.0);
  EXPECT_EQ(none.lo, 0.0);
  EXPECT_NEAR(none.hi, ch, 1e-12);
  // Uniform, 5 critical of 50: exactly Clopper-Pearson's interval.
  std::vector<double> five(50, 0.0);
  for (int i = 0; i < 5; ++i) five[static_cast<std::size_t>(i)] = 1;
  const Estimate cp = weighted_estimate(five, std::vector<double>(50, 1.0));
  EXPECT_NEAR(cp.lo, c5l, 1e-12);
  EXPECT_NEAR(cp.hi, c5h, 1e-12);
  // Importance campaign, none found: the bound scales with the largest
  // weight B a site can have: B times the Clopper-Pearson bound of the share
  // of draws with x > 0 (tighter than B times Wilson's).
  EstimateOptions bounded;
  bounded.max_weight = 4;
  const Estimate none_w = weighted_estimate(std::vector<double>(100, 0.0), std::vector<double>(100, 0.5), bounded);
  EXPECT_NEAR(none_w.hi, 4 * ch, 1e-12);
  // Uniform with B = 1 known: Clopper-Pearson's 1 - 0.025^(1/n), about 3.7 / n.
  EstimateOptions unit;
  unit.max_weight = 1;
  EXPECT_NEAR(weighted_estimate(std::vector<double>(100, 0.0), std::vector<double>(100, 1.0), unit).hi, ch, 1e-12);
  // The gamma interval (the default for weighted draws) of draws of equal y
  // is Garwood's exact Poisson interval scaled by y: five events of y = 2
  // (x = 1, w = 2) in 1,000 draws with B = 2 give the lower end
  // 2 * 1.6235 / 1000 (the table value chi2(10; 0.025) / 2 of the exact
  // Poisson interval for 5 events); its upper end 2 * 11.6683 / 1000 is
  // above the cap B * CP_hi(5, 1000), which is what is reported.
  {
    std::vector<double> xg(1000, 0.0), wg(1000, 0.125);
    for (int i = 0; i < 5; ++i) xg[static_cast<std::size_t>(i)] = 1, wg[static_cast<std::size_t>(i)] = 2;
    EstimateOptions gamma;
    gamma.max_weight = 2;
    const Estimate g = weighted_estimate(xg, wg, gamma);
    EXPECT_NEAR(g.value, 0.01, 1e-15);
    EXPECT_NEAR(g.lo, 2 * 1.6235 / 1000, 2e-7);
    const double cap = 2 * clopper_pearson_interval(5, 1000, 0.95).second;
    ASSERT_LT(cap, 2 * 11.6683 / 1000);
    EXPECT_NEAR(g.hi, cap, 1e-12);
    // B = 5: one unseen event of y = 5 makes Y + B = 15, V + B^2 = 45: a
    // gamma of shape 5 and scale 3, whose 97.5 % quantile is
    // 3 * chi2(10; 0.975) / 2 = 3 * 20.4832 / 2 (below the cap 5 * CP_hi).
    gamma.max_weight = 5;
    const Estimate gb = weighted_estimate(xg, wg, gamma);
    EXPECT_NEAR(gb.lo, g.lo, 1e-15);
    EXPECT_NEAR(gb.hi, 3 * 20.4832 / 2 / 1000, 2e-7);
    // A share of images (x = 0.5, w = 4: the same y = 2): the unseen draw is
    // one of the largest weight and x = 1 (a site that changes every image).
    std::vector<double> xs(1000, 0.0), ws(1000, 0.125);
    for (int i = 0; i < 5; ++i) xs[static_cast<std::size_t>(i)] = 0.5, ws[static_cast<std::size_t>(i)] = 4;
    const Estimate gs = weighted_estimate(xs, ws, gamma);
    EXPECT_NEAR(gs.lo, g.lo, 1e-15);
    EXPECT_NEAR(gs.hi, 3 * 20.4832 / 2 / 1000, 2e-7);
  }
  // Exhaustive: the value is exact.
  EstimateOptions all;
  all.exhaustive = true;
  const Estimate exact = weighted_estimate({1, 0, 0, 0}, {1, 1, 1, 1}, all);
  EXPECT_TRUE(exact.exact);
  EXPECT_EQ(exact.lo, 0.25);
  EXPECT_EQ(exact.hi, 0.25);
  // Score interval with uniform weights is Wilson's, whatever the count.
  EstimateOptions score;
  score.method = IntervalMethod::kScore;
  std::vector<double> x(50, 0.0);
  for (int i = 0; i < 5; ++i) x[static_cast<std::size_t>(i)] = 1;
  const Estimate s = weighted_estimate(x, std::vector<double>(50, 1.0), score);
  const auto [sl, sh] = wilson_interval(0.1, 50, 0.95);
  EXPECT_NEAR(s.lo, sl, 1e-12);
  EXPECT_NEAR(s.hi, sh, 1e-12);
  // A part's estimate over the draws in it equals the full-vector definition.
  const std::vector<double> xs{1, 0, 1, 0, 1, 1}, ws{0.5, 2, 0.25, 1, 4, 1};
  const std::vector<bool> in{true, true, false, false, true, false};
  std::vector<double> xp, wp, xfull, wfull;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (in[i]) xp.push_back(xs[i]), wp.push_back(ws[i]);
    xfull.push_back(in[i] ? xs[i] : 0.0);
    wfull.push_back(ws[i] / 0.4);
  }
  EstimateOptions normal;
  normal.method = IntervalMethod::kNormal;
  const Estimate part = part_estimate(xp, wp, 6, 0.4, 0, normal), full = weighted_estimate(xfull, wfull, normal);
  EXPECT_NEAR(part.value, full.value, 1e-12);
  EXPECT_NEAR(part.standard_error, full.standard_error, 1e-12);
}

// Stratified importance sampling (sampler/stratified.h) against the
// exhaustive truth: a draw of a stratum follows q restricted to it (the
// bit marginal of q_b), the allocation spends the budget with at least one
// draw per stratum, and the estimate mean(w x) is unbiased over 200 seeds.
TEST(Stratified, UnbiasedAgainstTheExhaustiveTruth) {
  const SmallCampaign& c = small_campaign();
  const ImportanceSampler sampler(*c.space, *c.live, c.scores, campaign_defaults());
  // q_b's bit marginal in block 3 (pe_psum), drawn against computed.
  const std::size_t block = 3;
  ASSERT_EQ(c.space->blocks()[block].group, RegisterGroup::kPePsum);
  std::vector<double> drawn(32, 0), expected(32, 0);
  Random r0(5);
  const int draws = 100000;
  for (int i = 0; i < draws; ++i) drawn[static_cast<std::size_t>(sampler.sample_in_block(block, r0).site.bit)] += 1.0 / draws;
  std::uint64_t first = 0;
  for (std::size_t b = 0; b < block; ++b) first += c.space->blocks()[b].sites();
  for (std::uint64_t n = first; n < first + c.space->blocks()[block].sites(); ++n) {
    const FaultSite s = c.space->site(n);
    expected[static_cast<std::size_t>(s.bit)] += sampler.q(s) / sampler.block_q(block);
  }
  for (int b = 0; b < 32; ++b) EXPECT_NEAR(drawn[static_cast<std::size_t>(b)], expected[static_cast<std::size_t>(b)], 0.006) << "bit " << b;

  const int seeds = 200, pilot_n = 100, rest = 300;
  std::vector<double> estimates;
  for (int seed = 0; seed < seeds; ++seed) {
    Random random(20000 + static_cast<std::uint64_t>(seed));
    std::vector<PilotDraw> pilot;
    std::vector<double> x, w;
    for (int i = 0; i < pilot_n; ++i) {
      const auto d = sampler.sample(random);
      const double v = c.critical[c.space->number(d.site)];
      pilot.push_back({d.site, d.weight(), v});
      x.push_back(v);
      w.push_back(d.weight());
    }
    const StratifiedPlan plan = neyman_allocation(*c.space, sampler, pilot, rest);
    std::int64_t total = 0;
    for (std::int64_t n : plan.draws) {
      EXPECT_GE(n, 1);
      total += n;
    }
    ASSERT_EQ(total, rest);
    const StratifiedDraws more = stratified_draws(sampler, plan, random);
    for (std::size_t i = 0; i < more.sites.size(); ++i) {
      x.push_back(c.critical[c.space->number(more.sites[i])]);
      w.push_back(more.weights[i]);
    }
    estimates.push_back(weighted_estimate(x, w).value);
  }
  double mean = 0, var = 0;
  for (double e : estimates) mean += e / seeds;
  for (double e : estimates) var += (e - mean) * (e - mean) / (seeds - 1);
  EXPECT_NEAR(mean, c.truth, 3 * std::sqrt(var / seeds)) << "truth " << c.truth;
  EXPECT_THROW(neyman_allocation(*c.space, sampler, {}, 2), Error);  // fewer draws than strata
}

// The stopping rule's schedule and per-look confidence (sampler/stopping.h).
TEST(Estimators, StoppingScheduleAndConfidence) {
  EXPECT_EQ(look_schedule(100), (std::vector<std::int64_t>{100}));
  EXPECT_EQ(look_schedule(1000), (std::vector<std::int64_t>{100, 200, 400, 800, 1000}));
  EXPECT_EQ(look_schedule(50), (std::vector<std::int64_t>{50}));
  EXPECT_DOUBLE_EQ(look_confidence(1000), 1 - 0.05 / 5);
  StoppingRule rule;
  rule.margin = 0.5;
  rule.relative = true;
  Estimate e;
  e.value = 0.01;
  e.lo = 0.006;
  e.hi = 0.0159;  // half-width 0.00495 <= 0.5 * 0.01
  EXPECT_TRUE(rule.met(e));
  e.hi = 0.0161;
  EXPECT_FALSE(rule.met(e));
  StoppingRule found;
  found.critical = 3;
  e.nonzero = 2;
  EXPECT_FALSE(found.met(e));
  e.nonzero = 3;
  EXPECT_TRUE(found.met(e));
}

TEST(Estimators, LeveugleSampleSizeMatchesThePaperFormula) {
  // N = 1e6, e = 1%, t = 1.96, p = 0.5: 9,512.65 (the infinite-population 9,604
  // shrunk), computed by hand from Leveugle et al.'s formula.
  EXPECT_NEAR(leveugle_sample_size(1e6, 0.01), 9512.650021840265, 1e-6);
  EXPECT_NEAR(leveugle_sample_size(1e12, 0.01), 9604, 1);
  EXPECT_NEAR(leveugle_margin(1e6, leveugle_sample_size(1e6, 0.02)), 0.02, 1e-9);
  const Estimate e = weighted_estimate({1, 0, 0, 1}, {1, 1, 1, 1});
  EXPECT_DOUBLE_EQ(e.value, 0.5);
  EXPECT_DOUBLE_EQ(e.effective_sample_size, 4);
}

}  // namespace
}  // namespace isimdl
