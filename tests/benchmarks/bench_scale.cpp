// At-scale benchmarks (docs/performance.md, "At ResNet scale"): torchvision's
// ResNet-18 and MobileNetV2 (10 classes, 3x64x64) imported through ONNX on a
// 32x32 array, one core. Needs the files of
//   scripts/experiments/make-scale-models.py
// and runs from the repository root (the configurations name .cache/scale/...):
//   build/tests/benchmarks/bench_scale --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
// Reports, in one run: full reference-engine inferences per second, and
// (fault, image) evaluations per second of the fast path for uniform and
// importance-sampled faults (after one pass that builds the golden and
// per-layer caches, as a campaign's first faults do), and their ratio.
#include <algorithm>
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <filesystem>
#include <map>
#include <memory>

#include "campaign/campaign.h"
#include "config/config.h"
#include "hw/accelerator.h"
#include "models/random.h"
#include "models/reference_engine.h"
#include "runner/fault_simulator.h"
#include "runner/model_source.h"
#include "sampler/fault_space.h"

namespace isimdl {
namespace {

struct Setup {
  Config config;
  QuantizedModel model;
  MnistSplit data;
  std::unique_ptr<FaultSpace> space;
  std::unique_ptr<CampaignImportance> importance;
  double inferences_per_s = 0;
};

Setup* setup(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Setup>> cache;
  auto& slot = cache[name];
  if (slot) return slot.get();
  const std::string path = "configs/campaigns/" + name + "-scale.yaml";
  Config config = load_config(path);
  if (!std::filesystem::exists(config.model)) return nullptr;
  slot = std::make_unique<Setup>();
  Setup& s = *slot;
  s.config = config;
  s.model = open_model(config.model, config.dataset);
  s.data = open_test_set(config.dataset, s.model);
  std::vector<RegisterGroup> groups;
  for (const std::string& g : config.campaign.groups) groups.push_back(register_group_from_name(g));
  s.space = std::make_unique<FaultSpace>(s.model, config.array, groups, FaultKind::kBitFlip);
  s.importance = std::make_unique<CampaignImportance>(config, *s.space, s.model, s.data);
  return slot.get();
}

void BM_ScaleInference(benchmark::State& state, const std::string& name) {
  Setup* s = setup(name);
  if (!s) {
    state.SkipWithError("missing .cache/scale: run scripts/experiments/make-scale-models.py");
    return;
  }
  const ReferenceEngine engine(s->model);
  InferenceTrace trace;
  int image = 0;
  for (auto _ : state) {
    engine.run(s->data.images, image, trace);
    image = (image + 1) % 100;
    benchmark::DoNotOptimize(trace.out.back().data());
  }
  state.counters["inferences/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ScaleFaults(benchmark::State& state, const std::string& name, bool importance) {
  Setup* s = setup(name);
  if (!s) {
    state.SkipWithError("missing .cache/scale: run scripts/experiments/make-scale-models.py");
    return;
  }
  Accelerator& accelerator = shared_accelerator();
  accelerator.configure(s->config.array);
  FaultSimulator simulator(accelerator, s->model, s->data);
  Random random(3);
  std::vector<FaultSite> faults;
  for (int i = 0; i < 100; ++i)
    faults.push_back(importance ? s->importance->sampler().sample(random).site : s->space->sample_uniform(random));
  // Warm-up: every fault on every image once (golden traces, layer caches).
  for (const FaultSite& f : faults)
    for (int image = 0; image < 10; ++image) simulator.run_fast(f, image);
  std::size_t i = 0;
  const std::int64_t macs_before = simulator.propagated_macs();
  for (auto _ : state) {
    const FaultResult r = simulator.run_fast(faults[i % faults.size()], static_cast<int>(i / faults.size() % 10));
    ++i;
    benchmark::DoNotOptimize(r.top1);
  }
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  // The MACs an evaluation recomputed, as a share of one inference's: at
  // equal MAC throughput, 1 / share bounds evaluations per inference.
  std::int64_t inference_macs = 0;
  for (int l = 0; l < s->model.arch.size(); ++l)
    if (s->model.arch.has_weights(l)) inference_macs += s->model.arch.gemm(l).useful_macs();
  state.counters["recomputed_mac_share"] = static_cast<double>(simulator.propagated_macs() - macs_before) /
                                           (static_cast<double>(std::max<std::size_t>(i, 1)) * static_cast<double>(inference_macs));
  state.counters["evaluations/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_rss_MiB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
}

BENCHMARK_CAPTURE(BM_ScaleInference, resnet18, std::string("resnet18"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ScaleFaults, resnet18_uniform, std::string("resnet18"), false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ScaleFaults, resnet18_importance, std::string("resnet18"), true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ScaleInference, mobilenet_v2, std::string("mobilenet_v2"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ScaleFaults, mobilenet_v2_uniform, std::string("mobilenet_v2"), false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ScaleFaults, mobilenet_v2_importance, std::string("mobilenet_v2"), true)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace isimdl
