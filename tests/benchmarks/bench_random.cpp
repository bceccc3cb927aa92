#include <benchmark/benchmark.h>

#include "models/random.h"

// Raw draw rate of the deterministic generator every sampler builds on.
static void BM_UniformBelow(benchmark::State& state) {
  isimdl::Random random(42);
  std::uint64_t sum = 0;
  for (auto _ : state) sum += random.uniform_below(1000003);
  benchmark::DoNotOptimize(sum);
}
BENCHMARK(BM_UniformBelow);

BENCHMARK_MAIN();
