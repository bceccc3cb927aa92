#include "sampler/stratified.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "models/error.h"
#include "models/random.h"

namespace isimdl {

StratifiedPlan neyman_allocation(const FaultSpace& space, const ImportanceSampler& sampler,
                                 const std::vector<PilotDraw>& pilot, std::int64_t draws) {
  const std::size_t strata = space.blocks().size();
  if (draws < static_cast<std::int64_t>(strata))
    throw Error(fmt::format("stratified sampling: {} draws after the pilot for {} strata (layer, register group); "
                            "raise campaign.faults or lower campaign.pilot",
                            draws, strata));
  std::map<std::pair<int, RegisterGroup>, std::size_t> block_of;
  for (std::size_t b = 0; b < strata; ++b) block_of[{space.blocks()[b].layer, space.blocks()[b].group}] = b;
  // (p_h / q_h) x = (p / q) (Q_h / P_h) x of the pilot draws per stratum.
  std::vector<std::vector<double>> values(strata);
  for (const PilotDraw& d : pilot) {
    const auto it = block_of.find({d.site.layer, d.site.group});
    if (it == block_of.end()) throw Error("stratified sampling: a pilot draw is outside the fault space");
    const std::size_t b = it->second;
    values[b].push_back(d.weight * sampler.block_q(b) / sampler.block_p(b) * d.x);
  }
  StratifiedPlan plan;
  plan.sigma.assign(strata, -1.0);
  double known_mass = 0, known_sum = 0;
  for (std::size_t b = 0; b < strata; ++b) {
    const auto& v = values[b];
    if (v.size() < 2) continue;
    const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    double var = 0;
    for (double x : v) var += (x - mean) * (x - mean);
    plan.sigma[b] = std::sqrt(var / static_cast<double>(v.size() - 1));
    known_mass += sampler.block_p(b);
    known_sum += sampler.block_p(b) * plan.sigma[b];
  }
  const double pooled = known_mass > 0 ? known_sum / known_mass : 0.0;
  std::vector<double> score(strata);
  double total = 0;
  for (std::size_t b = 0; b < strata; ++b) {
    if (plan.sigma[b] < 0) plan.sigma[b] = pooled;
    plan.sigma[b] = std::max(plan.sigma[b], 0.1 * pooled);
    // Nothing seen anywhere: q's own shares.
    score[b] = pooled > 0 ? sampler.block_p(b) * plan.sigma[b] : sampler.block_q(b);
    total += score[b];
  }
  // At least one draw per stratum; the rest by the largest remainders.
  plan.draws.assign(strata, 1);
  const std::int64_t rest = draws - static_cast<std::int64_t>(strata);
  std::vector<std::pair<double, std::size_t>> remainder;
  std::int64_t given = 0;
  // Defensive allocation: half by Neyman, half by q's own shares Q_h, so
  // that no stratum gets fewer than half the draws plain importance
  // sampling would give it (its weights then grow by at most 2x).
  for (std::size_t b = 0; b < strata; ++b) {
    const double share = 0.5 * (total > 0 ? score[b] / total : 0.0) + 0.5 * sampler.block_q(b);
    const double target = static_cast<double>(rest) * share;
    const auto whole = static_cast<std::int64_t>(std::floor(target));
    plan.draws[b] += whole;
    given += whole;
    remainder.push_back({target - static_cast<double>(whole), b});
  }
  std::stable_sort(remainder.begin(), remainder.end(), [](const auto& a, const auto& c) { return a.first > c.first; });
  for (std::int64_t i = 0; given < rest; ++i, ++given) ++plan.draws[remainder[static_cast<std::size_t>(i) % strata].second];
  return plan;
}

namespace {

std::int64_t plan_draws(const StratifiedPlan& plan) {
  return std::accumulate(plan.draws.begin(), plan.draws.end(), std::int64_t{0});
}

// w = (p / q) Q_h (N - n0) / n_h, with N - n0 = `total`.
double weight_of(const ImportanceSampler& sampler, const ImportanceSampler::Draw& draw, std::size_t block,
                 const StratifiedPlan& plan, std::int64_t total) {
  return draw.weight() * sampler.block_q(block) * static_cast<double>(total) / static_cast<double>(plan.draws.at(block));
}

}  // namespace

double stratified_weight(const ImportanceSampler& sampler, const ImportanceSampler::Draw& draw, std::size_t block,
                         const StratifiedPlan& plan) {
  return weight_of(sampler, draw, block, plan, plan_draws(plan));
}

StratifiedDraws stratified_draws(const ImportanceSampler& sampler, const StratifiedPlan& plan, Random& random) {
  StratifiedDraws out;
  const std::int64_t total = plan_draws(plan);
  for (std::size_t b = 0; b < plan.draws.size(); ++b)
    for (std::int64_t i = 0; i < plan.draws[b]; ++i) {
      const ImportanceSampler::Draw d = sampler.sample_in_block(b, random);
      out.sites.push_back(d.site);
      out.weights.push_back(weight_of(sampler, d, b, plan, total));
    }
  return out;
}

}  // namespace isimdl
