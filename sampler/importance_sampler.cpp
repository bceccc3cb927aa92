#include "sampler/importance_sampler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

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
    d.site = space_.sample_uniform(random);
  } else {
    const double u = random.uniform01();
    std::size_t b = static_cast<std::size_t>(std::upper_bound(block_cumulative_.begin(), block_cumulative_.end(), u) -
                                             block_cumulative_.begin());
    b = std::min(b, block_cumulative_.size() - 1);
    while (block_mass_[b] <= 0) b = (b + 1) % block_mass_.size();  // guard against rounding at the ends
    const FaultSpaceBlock& block = space_.blocks()[b];
    double v = random.uniform01() * block_bit_total_[b];
    int bit = 0;
    for (; bit + 1 < block.positions; ++bit) {
      v -= bit_weight(block, bit);
      if (v < 0) break;
    }
    const auto [index, cycle] = live_.sample(b, random);
    d.site = space_.site_in_block(b, static_cast<std::uint64_t>(index), bit, cycle);
  }
  d.p = p();
  d.q = q(d.site);
  return d;
}

double ImportanceSampler::q(const FaultSite& site) const {
  const std::size_t b = block_of(site);
  const FaultSpaceBlock& block = space_.blocks()[b];
  const double pi = live_.is_live(b, site.index, site.cycle)
                        ? block_mass_[b] * bit_weight(block, site.bit) / block_bit_total_[b] /
                              static_cast<double>(live_.live_pairs(b))
                        : 0.0;
  return (1.0 - options_.epsilon) * pi + options_.epsilon * p();
}

}  // namespace isimdl
