#pragma once

#include <cstdint>

namespace isimdl {

// Deterministic random source for everything that draws: fault sites,
// shuffles, weight initialisation. The standard library's distributions are
// implementation-defined, so a seed would not reproduce across compilers; the
// generator (xoshiro256**) and the reductions below are fixed here instead.
class Random {
 public:
  explicit Random(std::uint64_t seed);

  std::uint64_t next_u64();
  // Uniform in [0, bound), bound > 0, without modulo bias.
  std::uint64_t uniform_below(std::uint64_t bound);
  // Uniform in [0, 1) with 53 random bits.
  double uniform01();
  // Standard normal (Box-Muller, both values used in turn).
  double normal();

  // An independent stream derived from this seed and a stream number, so that
  // worker k of a campaign draws the same faults whatever the other workers do.
  static Random stream(std::uint64_t seed, std::uint64_t stream_id);

 private:
  std::uint64_t state_[4];
  bool has_spare_normal_ = false;
  double spare_normal_ = 0.0;
};

}  // namespace isimdl
