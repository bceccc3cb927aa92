#pragma once

#include <cstdint>
#include <vector>

#include "hw/fault_site.h"
#include "sampler/importance_sampler.h"

namespace isimdl {

// Stratified importance sampling (campaign.stratify; docs/sampling.md,
// "Stratification"). The strata are the blocks of the fault space (one
// layer and register group each). A campaign of N faults first draws a
// pilot of n0 faults from q as usual; from the pilot, a defensive Neyman
// allocation gives each stratum h
//
//   n_h = (N - n0) (P_h sigma_h / (2 sum_k P_k sigma_k) + Q_h / 2),
//   rounded by largest remainders, at least 1, sum n_h = N - n0
//
// (half by Neyman, half by q's own share Q_h of the stratum: a stratum the
// pilot misjudged still gets half the draws plain importance sampling would
// give it, so its weights grow by at most 2x; pure Neyman from a pilot was
// measured 25x worse than plain importance sampling on lenet5),
// where P_h is the stratum's share of the space and sigma_h the standard
// deviation of (p_h / q_h) x over the pilot draws that fell in it (q_h = q
// restricted to h, p_h uniform over h): sigma_h = the P-weighted mean of the
// known ones where fewer than 2 pilot draws fell, and at least a tenth of
// that mean everywhere (a stratum the pilot saw as all-zero still gets its
// share). Then n_h draws from q_h in each stratum, in block order, from
// their own random stream.
//
// The estimate combines the two unbiased estimates by their sizes:
//   mu = (n0 mu_pilot + (N - n0) sum_h P_h mean_h((p_h / q_h) x)) / N,
// so every draw keeps the campaign's estimator mean(w x) with
//   w = p / q                                  for a pilot draw,
//   w = (p / q) Q_h (N - n0) / n_h             for a draw of stratum h
// (p_h / q_h = (p / q) Q_h / P_h). Per-structure estimates stay unbiased.
struct StratifiedPlan {
  std::vector<std::int64_t> draws;  // n_h per block
  std::vector<double> sigma;        // sigma_h used (after the rules above)
};

// `pilot` is the pilot's draws: site, weight p/q and outcome x.
struct PilotDraw {
  FaultSite site;
  double weight = 1;
  double x = 0;
};
StratifiedPlan neyman_allocation(const FaultSpace& space, const ImportanceSampler& sampler,
                                 const std::vector<PilotDraw>& pilot, std::int64_t draws);

// The weight w of a draw from stratum `block` under the plan.
double stratified_weight(const ImportanceSampler& sampler, const ImportanceSampler::Draw& draw, std::size_t block,
                         const StratifiedPlan& plan);

// The stratified draws of a plan: per block in order, n_h draws from q_h.
struct StratifiedDraws {
  std::vector<FaultSite> sites;
  std::vector<double> weights;
};
StratifiedDraws stratified_draws(const ImportanceSampler& sampler, const StratifiedPlan& plan, Random& random);

}  // namespace isimdl
