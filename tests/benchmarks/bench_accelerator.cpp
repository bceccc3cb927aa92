#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <systemc>

#include "hw/accelerator.h"
#include "models/idx_reader.h"
#include "models/model_file.h"
#include "models/random.h"
#include "models/zoo.h"
#include "runner/fault_simulator.h"
#include "sampler/fault_space.h"
#include "runner/network_runner.h"

namespace isimdl {
namespace {

// A GEMM that keeps every PE busy: M = 512 activation rows through 4 x 4
// folds of the R x C array.
LayerJob busy_job(int rows, int cols) {
  const int m = 512, k = 4 * rows, n = 4 * cols;
  Random random(1);
  LayerJob job;
  job.spec.kind = LayerKind::kConv2d;
  job.spec.in_channels = k, job.spec.out_channels = n;
  job.input_shape = Shape{k, 1, m};
  job.output_shape = Shape{n, 1, m};
  job.gemm = GemmShape{m, k, n};
  job.im2col = Im2col(job.spec, job.input_shape, job.output_shape);
  job.input.resize(static_cast<std::size_t>(m) * k);
  for (auto& v : job.input) v = static_cast<std::int8_t>(random.uniform_below(256) - 128);
  std::vector<std::int8_t> weight(static_cast<std::size_t>(n) * k);
  for (auto& v : weight) v = static_cast<std::int8_t>(random.uniform_below(255) - 127);
  job.weight = std::move(weight);
  job.bias.assign(static_cast<std::size_t>(n), 0);
  job.multiplier.assign(static_cast<std::size_t>(n), quantize_multiplier(1.0 / 4096));
  return job;
}

// Whole accelerator (controller, array with skew/de-skew, accumulator,
// output stage) cycle by cycle: PE-cycles per second = R * C * cycles / s.
void BM_ArrayPeCycles(benchmark::State& state) {
  const int size = static_cast<int>(state.range(0));
  Accelerator& accelerator = shared_accelerator();
  ArrayConfig config;
  config.rows = config.cols = size;
  config.buffers.accumulator_kib = config.buffers.ifmap_kib = config.buffers.weight_kib = config.buffers.output_kib = 4096;
  accelerator.configure(config);
  const LayerJob job = busy_job(size, size);
  std::int64_t cycles = 0;
  for (auto _ : state) {
    LayerStats stats;
    accelerator.run_layer(job, &stats);
    cycles += stats.total_cycles;
  }
  state.counters["PE-cycles/s"] =
      benchmark::Counter(static_cast<double>(cycles) * size * size, benchmark::Counter::kIsRate);
  state.counters["cycles/s"] = benchmark::Counter(static_cast<double>(cycles), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ArrayPeCycles)->Arg(8)->Arg(16)->Arg(32)->Unit(benchmark::kMillisecond);

// One whole lenet5 inference on the 16x16 scalesim array: conv and fc layers
// cycle by cycle, the rest on the reference engine.
void BM_Lenet5Inference(benchmark::State& state) {
  const std::string path = resolve_model_path("lenet5", default_zoo_dir());
  if (!std::filesystem::exists(path)) {
    state.SkipWithError("lenet5 model missing");
    return;
  }
  const QuantizedModel model = load_model(path);
  Accelerator& accelerator = shared_accelerator();
  accelerator.configure(ArrayConfig{});
  NetworkRunner runner(accelerator, model);
  std::vector<std::uint8_t> image(784);
  Random random(2);
  for (auto& p : image) p = static_cast<std::uint8_t>(random.uniform_below(256));
  InferenceTrace trace;
  for (auto _ : state) runner.run(image.data(), trace);
  state.counters["inferences/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Lenet5Inference)->Unit(benchmark::kMillisecond);

// (fault, image) evaluations per second on lenet5 / 16x16, uniform faults
// over every register group but the SRAM buffers: the fast path (faulty layer
// only, from the golden cache) against full cycle-level re-simulation.
void BM_FaultEvaluation(benchmark::State& state) {
  const bool fast = state.range(0) == 1;
  const std::string path = resolve_model_path("lenet5", default_zoo_dir());
  if (!std::filesystem::exists(path)) {
    state.SkipWithError("lenet5 model missing");
    return;
  }
  static const QuantizedModel model = load_model(path);
  static const MnistSplit data = load_mnist(ISIMDL_SOURCE_DIR "/tests/data", "t10k");
  Accelerator& accelerator = shared_accelerator();
  accelerator.configure(ArrayConfig{});
  FaultSimulator simulator(accelerator, model, data);
  std::vector<RegisterGroup> groups;
  for (const auto& r : register_map())
    if (r.group != RegisterGroup::kIfmapBuffer && r.group != RegisterGroup::kWeightBuffer &&
        r.group != RegisterGroup::kOutputBuffer)
      groups.push_back(r.group);
  const FaultSpace space(model, ArrayConfig{}, groups, FaultKind::kBitFlip);
  Random random(7);
  for (auto _ : state) {
    const FaultSite site = space.sample_uniform(random);
    const int image = static_cast<int>(random.uniform_below(100));
    const FaultResult r = fast ? simulator.run_fast(site, image) : simulator.run_full(site, image);
    benchmark::DoNotOptimize(r.top1);
  }
  state.counters["evaluations/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_FaultEvaluation)->Arg(0)->Arg(1)->ArgName("fast")->Unit(benchmark::kMillisecond)->MinTime(3.0);

}  // namespace
}  // namespace isimdl
