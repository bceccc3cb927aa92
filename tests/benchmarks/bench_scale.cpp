// At-scale benchmarks (docs/performance.md, "At ResNet scale"): torchvision's
// ResNet-18 and MobileNetV2 (10 classes, 3x64x64) imported through ONNX on a
// 32x32 array, one core. Needs the files of
//   scripts/experiments/make-scale-models.py
// and runs from the repository root (the configurations name .cache/scale/...):
//   build/tests/benchmarks/bench_scale --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
// Reports, in one run: full reference-engine inferences per second (one
// image at a time, and 100 images a layer at a time with
// ReferenceEngine::compute_layers), and (fault, image) evaluations per second
// of the fast path for uniform and importance-sampled faults, each fault
// on 100 images either image by image or all at once as campaigns run them
// (FaultSimulator::run_fast over a range: changes held whole carried on
// together), after one pass that builds the golden and per-layer caches, as
// a campaign's first faults do.
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

// 100 images a layer at a time: the batched computation of
// ReferenceEngine::compute_layers (outputs only, as a dense tail uses it).
void BM_ScaleInferenceBatch(benchmark::State& state, const std::string& name) {
  Setup* s = setup(name);
  if (!s) {
    state.SkipWithError("missing .cache/scale: run scripts/experiments/make-scale-models.py");
    return;
  }
  const ReferenceEngine engine(s->model);
  constexpr int kImages = 100;
  std::vector<InferenceTrace> traces(kImages);
  for (int image = 0; image < kImages; ++image) engine.run(s->data.images, image, traces[static_cast<std::size_t>(image)]);
  const Architecture& arch = s->model.arch;
  std::vector<std::vector<const std::vector<std::int8_t>*>> inputs;
  std::vector<std::vector<std::int8_t>*> out;
  for (auto _ : state) {
    for (int l = 0; l < arch.size(); ++l) {
      inputs.clear();
      out.clear();
      for (InferenceTrace& t : traces) {
        inputs.emplace_back();
        for (const int from : arch.layer(l).inputs())
          inputs.back().push_back(from < 0 ? &t.input : &t.out[static_cast<std::size_t>(from)]);
        out.push_back(&t.out[static_cast<std::size_t>(l)]);
      }
      engine.compute_layers(l, inputs, out);
    }
    benchmark::DoNotOptimize(traces.back().out.back().data());
  }
  state.counters["inferences/s"] = benchmark::Counter(kImages, benchmark::Counter::kIsIterationInvariantRate);
}

// One iteration: one fault on 100 images, image by image (together = false)
// or all at once (true); 25 iterations, so that both ways time the same 25
// faults.
void BM_ScaleFaults(benchmark::State& state, const std::string& name, bool importance, bool together) {
  Setup* s = setup(name);
  if (!s) {
    state.SkipWithError("missing .cache/scale: run scripts/experiments/make-scale-models.py");
    return;
  }
  constexpr int kImages = 100;
  Accelerator& accelerator = shared_accelerator();
  accelerator.configure(s->config.array);
  FaultSimulator simulator(accelerator, s->model, s->data);
  Random random(3);
  std::vector<FaultSite> faults;
  for (int i = 0; i < 100; ++i)
    faults.push_back(importance ? s->importance->sampler().sample(random).site : s->space->sample_uniform(random));
  std::vector<FaultResult> results;
  const auto evaluate = [&](const FaultSite& f) {
    if (together) {
      simulator.run_fast(f, 0, kImages, results);
      benchmark::DoNotOptimize(results.back().top1);
    } else {
      for (int image = 0; image < kImages; ++image) benchmark::DoNotOptimize(simulator.run_fast(f, image).top1);
    }
  };
  // Warm-up: every fault on every image once (golden traces, layer caches).
  for (const FaultSite& f : faults) evaluate(f);
  std::size_t i = 0;
  const std::int64_t macs_before = simulator.propagated_macs();
  for (auto _ : state) evaluate(faults[i++ % faults.size()]);
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  // The MACs an evaluation recomputed, as a share of one inference's: at
  // equal MAC throughput, 1 / share bounds evaluations per inference.
  std::int64_t inference_macs = 0;
  for (int l = 0; l < s->model.arch.size(); ++l)
    if (s->model.arch.has_weights(l)) inference_macs += s->model.arch.gemm(l).useful_macs();
  state.counters["recomputed_mac_share"] =
      static_cast<double>(simulator.propagated_macs() - macs_before) /
      (static_cast<double>(std::max<std::size_t>(i, 1)) * kImages * static_cast<double>(inference_macs));
  state.counters["evaluations/s"] = benchmark::Counter(kImages, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_rss_MiB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
}

BENCHMARK_CAPTURE(BM_ScaleInference, resnet18, std::string("resnet18"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ScaleInferenceBatch, resnet18_100_together, std::string("resnet18"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ScaleFaults, resnet18_uniform_one_by_one, std::string("resnet18"), false, false)->Unit(benchmark::kMillisecond)->Iterations(25);
BENCHMARK_CAPTURE(BM_ScaleFaults, resnet18_uniform_together, std::string("resnet18"), false, true)->Unit(benchmark::kMillisecond)->Iterations(25);
BENCHMARK_CAPTURE(BM_ScaleFaults, resnet18_importance_one_by_one, std::string("resnet18"), true, false)->Unit(benchmark::kMillisecond)->Iterations(25);
BENCHMARK_CAPTURE(BM_ScaleFaults, resnet18_importance_together, std::string("resnet18"), true, true)->Unit(benchmark::kMillisecond)->Iterations(25);
BENCHMARK_CAPTURE(BM_ScaleInference, mobilenet_v2, std::string("mobilenet_v2"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ScaleInferenceBatch, mobilenet_v2_100_together, std::string("mobilenet_v2"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ScaleFaults, mobilenet_v2_uniform_one_by_one, std::string("mobilenet_v2"), false, false)->Unit(benchmark::kMillisecond)->Iterations(25);
BENCHMARK_CAPTURE(BM_ScaleFaults, mobilenet_v2_uniform_together, std::string("mobilenet_v2"), false, true)->Unit(benchmark::kMillisecond)->Iterations(25);
BENCHMARK_CAPTURE(BM_ScaleFaults, mobilenet_v2_importance_one_by_one, std::string("mobilenet_v2"), true, false)->Unit(benchmark::kMillisecond)->Iterations(25);
BENCHMARK_CAPTURE(BM_ScaleFaults, mobilenet_v2_importance_together, std::string("mobilenet_v2"), true, true)->Unit(benchmark::kMillisecond)->Iterations(25);

}  // namespace
}  // namespace isimdl
