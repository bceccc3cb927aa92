#pragma once

#include <cstdint>
#include <vector>

#include "models/random.h"
#include "sampler/fault_space.h"
#include "sampler/estimators.h"
#include "sampler/liveness.h"

namespace isimdl {

// ISimDL's importance distribution over the fault space, sampled without
// materializing it:
//
//   q(site) = (1 - epsilon) * pi(site) + epsilon * p(site),   p = 1 / |space|
//   pi(site) = block_score[b] * bit_weight(bit) * live(site) / Z
//
//   (with Options::defensive_live, p in the mixture is replaced by the
//   uniform distribution over live sites, u(site) = live(site) / L)
// for a site of block b (a layer and register group); live(site) is 1 when
// the register holds a live value at that cycle (sampler/liveness.h), else 0:
// dead sites keep only the epsilon share. pi is hierarchical with exact
// marginals: a block in proportion to block_score * live pairs * sum of its
// bit weights, then a bit in proportion to its weight, then a live
// (register, cycle) pair uniformly.
// block_score is the block's mean site sensitivity (sampler/site_scores.h);
// bit_weight(b) = 2^(bit_exponent * b) for multi-bit registers (exponent 1:
// the magnitude of the flip), 1 for single-bit ones. epsilon > 0 keeps every site drawable, so that the
// weights p/q make every estimate unbiased.
class ImportanceSampler {
 public:
  struct Options {
    double epsilon = 0.1;
    bool bit_weighting = true;
    // Bit b weighs 2^(bit_exponent * b): 1 is the flip's magnitude (ISimDL's
    // |delta value|, the highest precision); 0.5, the default, trades a little
    // precision for much lower estimator variance (docs/sampling.md).
    double bit_exponent = 0.5;
    // The defensive part: the prior p over every site (false), or the
    // uniform distribution over live sites (true). Live sites then get the
    // epsilon share that dead ones would waste; valid only for faults whose
    // dead sites are always masked (single-edge faults), where a dead site's
    // q of 0 loses nothing: its outcome is 0.
    bool defensive_live = false;
  };
  ImportanceSampler(const FaultSpace& space, const LiveSpace& live, std::vector<double> block_scores, Options options);

  struct Draw {
    FaultSite site;
    double p = 0;
    double q = 0;
    double weight() const { return p / q; }
  };
  Draw sample(Random& random) const;
  // A draw from q restricted to block b (q_b = q / Q_b): a stratum's own
  // importance distribution. The draw's p and q are the unrestricted ones.
  Draw sample_in_block(std::size_t block, Random& random) const;
  // Q_b: q's mass on block b, (1 - epsilon) pi(b) + epsilon p(b).
  double block_q(std::size_t block) const;
  // p(b): the block's share of the space.
  double block_p(std::size_t block) const;
  // The exact probability of a site under q and p.
  double q(const FaultSite& site) const;
  double p() const { return 1.0 / static_cast<double>(space_.size()); }

  const std::vector<double>& block_probabilities() const { return block_mass_; }

  // The largest weight p/q of a site: over live sites only (`live_only`:
  // for faults that act on one edge, a dead site's outcome is always
  // benign, so no other site can carry a non-zero outcome), else over every
  // site (1/epsilon where pi is 0). Per block, and over the whole space.
  // Bounds the intervals of estimates whose draws found no non-zero outcome
  // (sampler/estimators.h).
  double max_weight(std::size_t block, bool live_only) const;
  double max_weight(bool live_only) const;

  // The distinct weights of the space: sites of one block, bit position and
  // liveness share one q, hence one weight p/q. Each class with its prior
  // mass p(class) (its share of the space).
  struct WeightClass {
    std::size_t block = 0;
    int bit = 0;
    bool live = false;
    double weight = 0;
    double p_share = 0;
  };
  std::vector<WeightClass> weight_classes() const;

 private:
  std::size_t block_of(const FaultSite& site) const;
  FaultSite sample_pi_in_block(std::size_t block, Random& random) const;
  double bit_weight(const FaultSpaceBlock& block, int bit) const;

  const FaultSpace& space_;
  const LiveSpace& live_;
  Options options_;
  std::vector<double> block_score_;
  std::vector<double> block_bit_total_;  // sum of bit weights over the block's bit positions
  std::vector<double> block_mass_;       // pi's marginal over blocks
  std::vector<double> block_cumulative_;
  // The defensive part's mass per block (p(b), or its live sites / L) and
  // its cumulative sums; L, the live sites of the space.
  std::vector<double> defensive_mass_, defensive_cumulative_;
  double live_sites_ = 0;
  double defensive(const FaultSite& site, std::size_t block) const;
  FaultSite sample_defensive_in_block(std::size_t block, Random& random) const;
};

// The weight strata of a sampler's space for the stratified interval: one per
// power-of-two range of the weights of live classes, and one of weight
// 1/epsilon (sites where pi is 0), known to hold only zeros when `live_only`
// and no live site has that weight.
std::vector<WeightStratum> weight_strata(const ImportanceSampler& sampler, bool live_only);

}  // namespace isimdl
