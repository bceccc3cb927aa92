#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "models/random.h"

namespace isimdl {
namespace {

// Expected values computed by an independent Python implementation of
// splitmix64 seeding and xoshiro256** (the published reference algorithms).
TEST(Random, MatchesReferenceXoshiro256StarStar) {
  Random random(42);
  EXPECT_EQ(random.next_u64(), 0x15780b2e0c2ec716ULL);
  EXPECT_EQ(random.next_u64(), 0x6104d9866d113a7eULL);
  EXPECT_EQ(random.next_u64(), 0xae17533239e499a1ULL);
}

TEST(Random, SameSeedSameSequence) {
  Random a(7), b(7), c(8);
  bool differs = false;
  for (int i = 0; i < 1000; ++i) {
    const auto x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    differs |= x != c.next_u64();
  }
  EXPECT_TRUE(differs);
}

TEST(Random, UniformBelowIsUniform) {
  // Chi-square over 10 cells with 100k draws; 27.9 is the 0.999 quantile of
  // chi-square with 9 degrees of freedom, so a correct generator fails 1 in 1000 seeds
  // (the seed is fixed, so the test is deterministic).
  Random random(123);
  std::vector<int> counts(10);
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const auto v = random.uniform_below(10);
    ASSERT_LT(v, 10u);
    ++counts[v];
  }
  double chi2 = 0;
  for (int c : counts) chi2 += (c - n / 10.0) * (c - n / 10.0) / (n / 10.0);
  EXPECT_LT(chi2, 27.9);
}

TEST(Random, UniformBelowHandlesHugeBounds) {
  Random random(5);
  const std::uint64_t bound = (1ULL << 63) + 12345;
  for (int i = 0; i < 1000; ++i) EXPECT_LT(random.uniform_below(bound), bound);
  EXPECT_EQ(random.uniform_below(1), 0u);
}

TEST(Random, NormalHasUnitMoments) {
  Random random(9);
  double sum = 0, sum2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double x = random.normal();
    sum += x;
    sum2 += x * x;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sum2 / n, 1.0, 0.01);
}

TEST(Random, StreamsAreReproducibleAndDistinct) {
  Random s0 = Random::stream(1, 0), s0b = Random::stream(1, 0), s1 = Random::stream(1, 1);
  const auto a = s0.next_u64();
  EXPECT_EQ(a, s0b.next_u64());
  EXPECT_NE(a, s1.next_u64());
}

}  // namespace
}  // namespace isimdl
