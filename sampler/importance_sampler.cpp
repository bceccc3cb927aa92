#include "sampler/importance_sampler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "models/error.h"

namespace isimdl {

ImportanceSampler::ImportanceSampler(const FaultSpace& space, const LiveSpace& live, std::vector<double> block_scores,
                                     Options options)
    : space_(space), live_(live), options_(options), block_score_(std::move(block_scores)) {
  if (!(options_.epsilon > 0.0) || options_.epsilon > 1.0)
    throw Error(fmt::format("importance sampler: epsilon must be in (0, 1], got {}", options_.epsilon));
  const auto& blocks = space_.blocks();
  if (block_score_.size() != blocks.size())
    throw Error(fmt::format("importance sampler: {} block scores for {} blocks", block_score_.size(), blocks.size()));
  double total = 0;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    if (!(block_score_[b] >= 0) || !std::isfinite(block_score_[b]))
      throw Error(fmt::format("importance sampler: block {} has score {}", b, block_score_[b]));
    double bits = 0;
    for (int bit = 0; bit < blocks[b].positions; ++bit) bits += bit_weight(blocks[b], bit);
    block_bit_total_.push_back(bits);
    const double mass = block_score_[b] * bits * static_cast<double>(live_.live_pairs(b));
    block_mass_.push_back(mass);
    total += mass;
  }
  if (total <= 0) {
    // No sensitivity anywhere: pi degenerates to the prior.
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      block_score_[b] = 1.0;
      block_mass_[b] = block_bit_total_[b] * static_cast<double>(live_.live_pairs(b));
      total += block_mass_[b];
    }
  }
  double running = 0;
  for (double& m : block_mass_) {
    m /= total;
    running += m;
    block_cumulative_.push_back(running);
  }
  for (std::size_t b = 0; b < blocks.size(); ++b)
    live_sites_ += static_cast<double>(live_.live_pairs(b)) * blocks[b].positions;
  if (options_.defensive_live && live_sites_ <= 0)
    throw Error("importance sampler: the defensive part over live sites needs a live site; the space has none");
  double cumulative = 0;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const double mass = options_.defensive_live
                            ? static_cast<double>(live_.live_pairs(b)) * blocks[b].positions / live_sites_
                            : static_cast<double>(blocks[b].sites()) / static_cast<double>(space_.size());
    defensive_mass_.push_back(mass);
    cumulative += mass;
    defensive_cumulative_.push_back(cumulative);
  }
}

double ImportanceSampler::defensive(const FaultSite& site, std::size_t b) const {
  if (!options_.defensive_live) return p();
  return live_.is_live(b, site.index, site.cycle) ? 1.0 / live_sites_ : 0.0;
}

FaultSite ImportanceSampler::sample_defensive_in_block(std::size_t b, Random& random) const {
  const FaultSpaceBlock& block = space_.blocks().at(b);
  const auto bit = static_cast<int>(random.uniform_below(static_cast<std::uint64_t>(block.positions)));
  if (options_.defensive_live) {
    const auto [index, cycle] = live_.sample(b, random);
    return space_.site_in_block(b, static_cast<std::uint64_t>(index), bit, cycle);
  }
  const auto instance = random.uniform_below(static_cast<std::uint64_t>(block.instances));
  const auto cycle = static_cast<std::int64_t>(random.uniform_below(static_cast<std::uint64_t>(block.cycles)));
  return space_.site_in_block(b, instance, bit, cycle);
}

double ImportanceSampler::bit_weight(const FaultSpaceBlock& block, int bit) const {
  if (!options_.bit_weighting) return 1.0;
  const int width = register_info(block.group).width;
  if (width == 1) return 1.0;
  // Adjacent-bit faults weigh by their top bit; a packed word's tag bits
  // (the skew word's valid and propagate) weigh like its operand's sign bit.
  const int top = register_info(block.group).significance(bit + (width - block.positions));
  return std::exp2(options_.bit_exponent * top);
}

std::size_t ImportanceSampler::block_of(const FaultSite& site) const {
  const auto& blocks = space_.blocks();
  for (std::size_t b = 0; b < blocks.size(); ++b)
    if (blocks[b].layer == site.layer && blocks[b].group == site.group) return b;
  throw Error(fmt::format("site of layer {} group {} is not in the fault space", site.layer, register_info(site.group).group_name));
}

ImportanceSampler::Draw ImportanceSampler::sample(Random& random) const {
  Draw d;
  if (random.uniform01() < options_.epsilon) {
    if (options_.defensive_live) {
      const double u = random.uniform01();
      std::size_t b = static_cast<std::size_t>(
          std::upper_bound(defensive_cumulative_.begin(), defensive_cumulative_.end(), u) - defensive_cumulative_.begin());
      b = std::min(b, defensive_cumulative_.size() - 1);
      while (defensive_mass_[b] <= 0) b = (b + 1) % defensive_mass_.size();
      d.site = sample_defensive_in_block(b, random);
    } else {
      d.site = space_.sample_uniform(random);  // the prior's draws, unchanged
    }
  } else {
    const double u = random.uniform01();
    std::size_t b = static_cast<std::size_t>(std::upper_bound(block_cumulative_.begin(), block_cumulative_.end(), u) -
                                             block_cumulative_.begin());
    b = std::min(b, block_cumulative_.size() - 1);
    while (block_mass_[b] <= 0) b = (b + 1) % block_mass_.size();  // guard against rounding at the ends
    d.site = sample_pi_in_block(b, random);
  }
  d.p = p();
  d.q = q(d.site);
  return d;
}

FaultSite ImportanceSampler::sample_pi_in_block(std::size_t b, Random& random) const {
  const FaultSpaceBlock& block = space_.blocks()[b];
  double v = random.uniform01() * block_bit_total_[b];
  int bit = 0;
  for (; bit + 1 < block.positions; ++bit) {
    v -= bit_weight(block, bit);
    if (v < 0) break;
  }
  const auto [index, cycle] = live_.sample(b, random);
  return space_.site_in_block(b, static_cast<std::uint64_t>(index), bit, cycle);
}

double ImportanceSampler::block_p(std::size_t b) const {
  return static_cast<double>(space_.blocks().at(b).sites()) / static_cast<double>(space_.size());
}

double ImportanceSampler::block_q(std::size_t b) const {
  return (1.0 - options_.epsilon) * block_mass_.at(b) + options_.epsilon * defensive_mass_.at(b);
}

ImportanceSampler::Draw ImportanceSampler::sample_in_block(std::size_t b, Random& random) const {
  Draw d;
  // q_b mixes pi's part on the block and the prior's, in their shares of Q_b.
  const double uniform_share = options_.epsilon * defensive_mass_.at(b) / block_q(b);
  if (block_mass_[b] <= 0 || random.uniform01() < uniform_share) {
    d.site = sample_defensive_in_block(b, random);
  } else {
    d.site = sample_pi_in_block(b, random);
  }
  d.p = p();
  d.q = q(d.site);
  return d;
}

double ImportanceSampler::max_weight(std::size_t block, bool live_only) const {
  const FaultSpaceBlock& b = space_.blocks().at(block);
  const bool has_dead = live_.live_pairs(block) < static_cast<std::uint64_t>(b.instances) * static_cast<std::uint64_t>(b.cycles);
  const double d = options_.defensive_live ? 1.0 / std::max(1.0, live_sites_) : p();
  if (options_.defensive_live && !live_only)
    throw Error("importance sampler: with the defensive part over live sites, dead sites have q = 0; only faults whose "
                "dead sites are always masked can be sampled so");
  if (live_.live_pairs(block) == 0 || block_mass_[block] <= 0 || (!live_only && has_dead)) return p() / (options_.epsilon * d);
  double lightest = bit_weight(b, 0);
  for (int bit = 1; bit < b.positions; ++bit) lightest = std::min(lightest, bit_weight(b, bit));
  const double pi = block_mass_[block] * lightest / block_bit_total_[block] / static_cast<double>(live_.live_pairs(block));
  return p() / ((1.0 - options_.epsilon) * pi + options_.epsilon * d);
}

double ImportanceSampler::max_weight(bool live_only) const {
  double most = 0;
  for (std::size_t b = 0; b < space_.blocks().size(); ++b) {
    // A block without live sites holds no non-zero outcome when live_only.
    if (live_only && live_.live_pairs(b) == 0) continue;
    most = std::max(most, max_weight(b, live_only));
  }
  return most;
}

std::vector<ImportanceSampler::WeightClass> ImportanceSampler::weight_classes() const {
  std::vector<WeightClass> classes;
  const double total = static_cast<double>(space_.size());
  for (std::size_t b = 0; b < space_.blocks().size(); ++b) {
    const FaultSpaceBlock& block = space_.blocks()[b];
    const double pairs = static_cast<double>(block.instances) * static_cast<double>(block.cycles);
    const double live = static_cast<double>(live_.live_pairs(b));
    for (int bit = 0; bit < block.positions; ++bit) {
      if (live > 0) {
        const double pi = block_mass_[b] * bit_weight(block, bit) / block_bit_total_[b] / live;
        const double d = options_.defensive_live ? 1.0 / live_sites_ : p();
        classes.push_back({b, bit, true, p() / ((1.0 - options_.epsilon) * pi + options_.epsilon * d), live / total});
      }
      // Dead sites cannot be drawn when the defensive part is over live sites.
      if (pairs > live && !options_.defensive_live) classes.push_back({b, bit, false, 1.0 / options_.epsilon, (pairs - live) / total});
    }
  }
  return classes;
}

std::vector<WeightStratum> weight_strata(const ImportanceSampler& sampler, bool live_only) {
  const std::vector<ImportanceSampler::WeightClass> classes = sampler.weight_classes();
  double top = 0;
  for (const auto& c : classes) top = std::max(top, c.weight);
  const double top_lo = top * (1 - 1e-9);
  std::map<int, WeightStratum> buckets;
  WeightStratum last{top_lo, std::numeric_limits<double>::infinity(), 0.0, live_only};
  for (const auto& c : classes) {
    if (c.weight >= top_lo) {
      last.p_share += c.p_share;
      if (c.live) last.known_zero = false;
      continue;
    }
    const int k = static_cast<int>(std::floor(std::log2(c.weight)));
    WeightStratum& s = buckets[k];
    s.lo = std::exp2(k);
    s.hi = std::min(std::exp2(k + 1), top_lo);
    s.p_share += c.p_share;
  }
  std::vector<WeightStratum> strata;
  for (const auto& [k, s] : buckets) strata.push_back(s);
  if (last.p_share > 0) strata.push_back(last);
  return strata;
}

double ImportanceSampler::q(const FaultSite& site) const {
  const std::size_t b = block_of(site);
  const FaultSpaceBlock& block = space_.blocks()[b];
  const double pi = live_.is_live(b, site.index, site.cycle)
                        ? block_mass_[b] * bit_weight(block, site.bit) / block_bit_total_[b] /
                              static_cast<double>(live_.live_pairs(b))
                        : 0.0;
  return (1.0 - options_.epsilon) * pi + options_.epsilon * defensive(site, b);
}

}  // namespace isimdl
