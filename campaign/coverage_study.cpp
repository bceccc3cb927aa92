#include "campaign/coverage_study.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "campaign/campaign.h"
#include "config/config.h"
#include "models/error.h"
#include "models/random.h"
#include "runner/fault_simulator.h"
#include "sampler/fault_space.h"
#include "sampler/importance_sampler.h"
#include "sampler/stopping.h"
#include "sampler/stratified.h"

namespace isimdl {

ExhaustiveTruth exhaustive_truth(FaultSimulator& simulator, const MnistSplit& data, const Config& config,
                                 const FaultSpace& space, const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  ExhaustiveTruth t;
  t.images = config.images.end - config.images.begin;
  if (t.images < 1 || t.images > 255) throw Error(fmt::format("coverage: 1 to 255 images, got {}", t.images));
  t.golden_correct = golden_correct(simulator, data, config.images);
  const std::uint64_t n = space.size();
  t.correct.resize(n);
  t.top1_sdc.resize(n);
  t.any_sdc.resize(n);
  for (std::uint64_t s = 0; s < n; ++s) {
    const FaultRecord r = evaluate_fault(simulator, data, config, t.golden_correct, static_cast<std::int64_t>(s), space.site(s));
    const auto count = [&](Outcome o) { return r.outcomes[static_cast<std::size_t>(o)]; };
    t.correct[s] = static_cast<std::uint8_t>(r.correct);
    t.top1_sdc[s] = static_cast<std::uint8_t>(count(Outcome::kSdcTop1) + count(Outcome::kSdcTop5));
    t.any_sdc[s] = static_cast<std::uint8_t>(count(Outcome::kSdcBenign) + count(Outcome::kSdcTop1) + count(Outcome::kSdcTop5));
    if (progress && (s % 4096 == 0 || s + 1 == n)) progress(s + 1, n);
  }
  return t;
}

std::string Measure::name() const {
  switch (kind) {
    case Kind::kCritical: return fmt::format("critical@{:g}", threshold);
    case Kind::kTop1Sdc: return "top1_sdc";
    case Kind::kAnySdc: return "any_sdc";
  }
  return "?";
}

double Measure::value(const ExhaustiveTruth& truth, std::uint64_t site) const {
  switch (kind) {
    case Kind::kCritical: {
      // As evaluate_fault decides: the relative drop of the golden accuracy.
      if (truth.golden_correct == 0) return 0.0;
      const double golden = static_cast<double>(truth.golden_correct) / truth.images;
      const double accuracy = static_cast<double>(truth.correct[site]) / truth.images;
      return (golden - accuracy) / golden >= threshold ? 1.0 : 0.0;
    }
    case Kind::kTop1Sdc: return static_cast<double>(truth.top1_sdc[site]) / truth.images;
    case Kind::kAnySdc: return static_cast<double>(truth.any_sdc[site]) / truth.images;
  }
  return 0.0;
}

namespace {

struct Draws {
  std::vector<std::uint64_t> site;
  std::vector<double> weight;
};

}  // namespace

std::vector<CoverageRow> coverage_study(const ExhaustiveTruth& truth, const FaultSpace& space,
                                        const ImportanceSampler& importance, bool live_only, const CoverageOptions& options) {
  if (truth.sites() != space.size()) throw Error("coverage: the truth is not of this fault space");
  if (options.budgets.empty() || options.seeds < 1) throw Error("coverage: budgets and seeds must not be empty");
  const int largest = *std::max_element(options.budgets.begin(), options.budgets.end());
  // The groups of the space, their prior shares and largest weights.
  std::vector<RegisterGroup> groups;
  std::map<RegisterGroup, double> share, max_w;
  for (std::size_t b = 0; b < space.blocks().size(); ++b) {
    const FaultSpaceBlock& block = space.blocks()[b];
    if (!share.count(block.group)) groups.push_back(block.group);
    share[block.group] += static_cast<double>(block.sites()) / static_cast<double>(space.size());
    max_w[block.group] = std::max(max_w[block.group], importance.max_weight(b, live_only));
  }
  std::vector<RegisterGroup> site_group(space.size());
  {
    std::uint64_t n = 0;
    for (const FaultSpaceBlock& block : space.blocks())
      for (std::uint64_t i = 0; i < block.sites(); ++i) site_group[n++] = block.group;
  }
  // Truths: per measure, over the space and per group.
  std::vector<double> truth_all(options.measures.size());
  std::vector<std::map<RegisterGroup, double>> truth_group(options.measures.size());
  for (std::size_t m = 0; m < options.measures.size(); ++m) {
    for (std::uint64_t s = 0; s < space.size(); ++s) {
      const double v = options.measures[m].value(truth, s);
      truth_all[m] += v;
      truth_group[m][site_group[s]] += v;
    }
    for (auto& [g, sum] : truth_group[m]) sum /= share[g] * static_cast<double>(space.size());
    truth_all[m] /= static_cast<double>(space.size());
  }

  std::map<std::tuple<std::string, std::size_t, std::string, int, IntervalMethod>, CoverageRow> rows;
  auto tally = [&](const std::string& sampler, std::size_t m, const std::string& structure, double truth_value, int budget,
                   IntervalMethod method, const Estimate& e) {
    CoverageRow& row = rows[{sampler, m, structure, budget, method}];
    row.sampler = sampler;
    row.measure = options.measures[m].name();
    row.structure = structure;
    row.truth = truth_value;
    row.budget = budget;
    row.method = method;
    ++row.seeds;
    row.coverage += e.lo <= truth_value && truth_value <= e.hi;
    row.below += e.hi < truth_value;
    row.above += e.lo > truth_value;
    row.mean_estimate += e.value;
    row.sd_estimate += e.value * e.value;
    row.mean_half_width += e.half_width();
    row.zero_found += e.nonzero == 0;
    row.mean_faults += static_cast<double>(e.n);
  };
  const double all_max_uniform = 1.0, all_max_importance = importance.max_weight(live_only);
  const std::vector<WeightStratum> strata = weight_strata(importance, live_only);
  const std::vector<WeightStratum> uniform_strata{{0.5, 2.0, 1.0, false}};
  for (int seed = 0; seed < options.seeds; ++seed) {
    for (const std::string sampler : {"uniform", "importance"}) {
      const bool is_importance = sampler == "importance";
      Random random(options.seed * 1'000'003ULL + static_cast<std::uint64_t>(seed) * 2 + is_importance);
      Draws d;
      for (int i = 0; i < largest; ++i) {
        if (is_importance) {
          const ImportanceSampler::Draw draw = importance.sample(random);
          d.site.push_back(space.number(draw.site));
          d.weight.push_back(draw.weight());
        } else {
          d.site.push_back(random.uniform_below(space.size()));
          d.weight.push_back(1.0);
        }
      }
      // The stopping rules: looks on the largest budget's schedule, each at
      // the per-look confidence; the interval at the stop must hold.
      for (double margin : options.stop_relative_margins)
        for (std::size_t m = 0; m < options.measures.size(); ++m) {
          StoppingRule rule;
          rule.margin = margin;
          rule.relative = true;
          EstimateOptions eo;
          eo.confidence = look_confidence(largest, options.confidence);
          eo.max_weight = is_importance ? all_max_importance : all_max_uniform;
          Estimate e;
          for (const std::int64_t at : look_schedule(largest)) {
            std::vector<double> x(static_cast<std::size_t>(at)), w(d.weight.begin(), d.weight.begin() + at);
            for (std::int64_t i = 0; i < at; ++i)
              x[static_cast<std::size_t>(i)] = options.measures[m].value(truth, d.site[static_cast<std::size_t>(i)]);
            e = weighted_estimate(x, w, eo);
            if (rule.met(e)) break;
          }
          tally(sampler, m, fmt::format("stop@relative {:g}", margin), truth_all[m], largest, eo.method, e);
        }
      for (int budget : options.budgets) {
        const std::vector<double> w(d.weight.begin(), d.weight.begin() + budget);
        for (std::size_t m = 0; m < options.measures.size(); ++m) {
          std::vector<double> x(static_cast<std::size_t>(budget));
          for (int i = 0; i < budget; ++i) x[static_cast<std::size_t>(i)] = options.measures[m].value(truth, d.site[static_cast<std::size_t>(i)]);
          for (IntervalMethod method : options.methods) {
            EstimateOptions eo;
            eo.method = method;
            eo.confidence = options.confidence;
            eo.max_weight = is_importance ? all_max_importance : all_max_uniform;
            eo.strata = is_importance ? &strata : &uniform_strata;
            tally(sampler, m, "all", truth_all[m], budget, method, weighted_estimate(x, w, eo));
          }
          if (!options.per_group) continue;
          for (RegisterGroup g : groups) {
            std::vector<double> xg, wg;
            for (int i = 0; i < budget; ++i)
              if (site_group[d.site[static_cast<std::size_t>(i)]] == g) {
                xg.push_back(x[static_cast<std::size_t>(i)]);
                wg.push_back(w[static_cast<std::size_t>(i)]);
              }
            EstimateOptions eo;
            eo.confidence = options.confidence;
            const Estimate e = part_estimate(xg, wg, budget, share[g], is_importance ? max_w[g] : 1.0, eo);
            tally(sampler, m, register_info(g).group_name, truth_group[m][g], budget, eo.method, e);
          }
        }
      }
    }
  }
  // Stratified importance sampling: pilot from q (its own stream), then
  // Neyman's allocation from the pilot's outcomes on the first measure.
  if (options.stratified_pilot_share > 0 && !options.measures.empty())
    for (int seed = 0; seed < options.seeds; ++seed)
      for (int budget : options.budgets) {
        const auto pilot_n = std::max<std::int64_t>(2, static_cast<std::int64_t>(options.stratified_pilot_share * budget));
        if (budget - pilot_n < static_cast<std::int64_t>(space.blocks().size())) continue;
        Random random(options.seed * 1'000'003ULL + static_cast<std::uint64_t>(seed) * 2 + 0x5742a7ULL * (budget + 1));
        std::vector<PilotDraw> pilot;
        std::vector<std::uint64_t> sites;
        std::vector<double> w;
        for (std::int64_t i = 0; i < pilot_n; ++i) {
          const ImportanceSampler::Draw d = importance.sample(random);
          sites.push_back(space.number(d.site));
          w.push_back(d.weight());
          pilot.push_back({d.site, d.weight(), options.measures[0].value(truth, sites.back())});
        }
        const StratifiedPlan plan = neyman_allocation(space, importance, pilot, budget - pilot_n);
        const StratifiedDraws drawn = stratified_draws(importance, plan, random);
        for (std::size_t i = 0; i < drawn.sites.size(); ++i) {
          sites.push_back(space.number(drawn.sites[i]));
          w.push_back(drawn.weights[i]);
        }
        for (std::size_t m = 0; m < options.measures.size(); ++m) {
          std::vector<double> x(sites.size());
          for (std::size_t i = 0; i < sites.size(); ++i) x[i] = options.measures[m].value(truth, sites[i]);
          EstimateOptions eo;
          eo.confidence = options.confidence;
          eo.max_weight = 0;  // the stratified weights have another bound; the largest drawn is used
          tally("stratified", m, "all", truth_all[m], budget, eo.method, weighted_estimate(x, w, eo));
        }
      }
  std::vector<CoverageRow> out;
  for (auto& [key, row] : rows) {
    const double n = row.seeds;
    row.coverage /= n;
    row.below /= n;
    row.above /= n;
    row.mean_estimate /= n;
    row.sd_estimate = std::sqrt(std::max(0.0, (row.sd_estimate - n * row.mean_estimate * row.mean_estimate) / std::max(1.0, n - 1)));
    row.mean_half_width /= n;
    row.zero_found /= n;
    row.mean_faults /= n;
    out.push_back(row);
  }
  return out;
}

std::string weight_profile(const ExhaustiveTruth& truth, const FaultSpace& space, const ImportanceSampler& importance,
                           const std::vector<Measure>& measures) {
  std::map<int, double> q_mass;
  std::vector<std::map<int, double>> mass(measures.size());
  std::vector<double> total(measures.size());
  for (std::uint64_t s = 0; s < space.size(); ++s) {
    const double q = importance.q(space.site(s)), w = importance.p() / q;
    const int bucket = static_cast<int>(std::floor(std::log2(w)));
    q_mass[bucket] += q;
    for (std::size_t m = 0; m < measures.size(); ++m) {
      const double v = measures[m].value(truth, s);
      mass[m][bucket] += v;
      total[m] += v;
    }
  }
  std::string md = "| weight p/q in |  share of q |";
  for (const Measure& m : measures) md += fmt::format(" {} |", m.name());
  md += "\n|---|---|";
  for (std::size_t m = 0; m < measures.size(); ++m) md += "---|";
  md += "\n";
  for (const auto& [bucket, q] : q_mass) {
    md += fmt::format("| [2^{}, 2^{}) | {:.4f} |", bucket, bucket + 1, q);
    for (std::size_t m = 0; m < measures.size(); ++m)
      md += fmt::format(" {:.4f} |", total[m] > 0 ? mass[m][bucket] / total[m] : 0.0);
    md += "\n";
  }
  return md;
}

std::string coverage_csv(const std::vector<CoverageRow>& rows) {
  std::string csv = "sampler,measure,structure,truth,budget,method,seeds,coverage,below,above,mean_estimate,sd_estimate,mean_half_width,zero_found,mean_faults\n";
  for (const CoverageRow& r : rows)
    csv += fmt::format("{},{},{},{:.8g},{},{},{},{:.4f},{:.4f},{:.4f},{:.8g},{:.8g},{:.8g},{:.4f},{:.1f}\n", r.sampler, r.measure,
                       r.structure, r.truth, r.budget, to_string(r.method), r.seeds, r.coverage, r.below, r.above,
                       r.mean_estimate, r.sd_estimate, r.mean_half_width, r.zero_found, r.mean_faults);
  return csv;
}

}  // namespace isimdl
