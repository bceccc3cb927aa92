#include <benchmark/benchmark.h>

#include <filesystem>

#include "models/idx_reader.h"
#include "models/model_file.h"
#include "models/zoo.h"
#include "sampler/fault_space.h"
#include "sampler/importance_sampler.h"
#include "sampler/liveness.h"
#include "sampler/sensitivity.h"
#include "sampler/site_scores.h"

namespace isimdl {
namespace {

// Draws per second from ISimDL's importance distribution over lenet5's
// register fault space on the 16x16 array (1.09e9 sites, never materialized),
// each draw with its exact q.
void BM_ImportanceSample(benchmark::State& state) {
  const std::string path = resolve_model_path("lenet5", default_zoo_dir());
  if (!std::filesystem::exists(path)) {
    state.SkipWithError("lenet5 model missing");
    return;
  }
  const QuantizedModel model = load_model(path);
  const MnistSplit data = load_mnist(ISIMDL_SOURCE_DIR "/tests/data", "t10k");
  std::vector<RegisterGroup> groups;
  for (const auto& r : register_map())
    if (r.group != RegisterGroup::kIfmapBuffer && r.group != RegisterGroup::kWeightBuffer &&
        r.group != RegisterGroup::kOutputBuffer)
      groups.push_back(r.group);
  const ArrayConfig array;
  const FaultSpace space(model, array, groups, FaultKind::kBitFlip);
  const LiveSpace live(space);
  const auto sensitivity = compute_sensitivity(model, data, 0, 8);
  const auto scores = block_scores(space, live, model, array, data, 0, 8, sensitivity, 32, 1);
  const ImportanceSampler sampler(space, live, scores, {});
  Random random(5);
  double sum = 0;
  for (auto _ : state) sum += sampler.sample(random).q;
  benchmark::DoNotOptimize(sum);
  state.counters["samples/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ImportanceSample);

}  // namespace
}  // namespace isimdl

BENCHMARK_MAIN();
