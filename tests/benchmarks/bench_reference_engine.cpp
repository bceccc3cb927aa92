#include <benchmark/benchmark.h>

#include <filesystem>

#include "models/model_file.h"
#include "models/random.h"
#include "models/reference_engine.h"
#include "models/zoo.h"

namespace isimdl {
namespace {

// int8 GEMM core at the shapes of lenet5's and mlp's layers:
// (M, N, K) = output pixels, output channels, reduction length.
void BM_GemmS8S8S32(benchmark::State& state) {
  const int m = static_cast<int>(state.range(0)), n = static_cast<int>(state.range(1)), k = static_cast<int>(state.range(2));
  Random random(1);
  std::vector<std::int8_t> a(static_cast<std::size_t>(m) * k), w(static_cast<std::size_t>(n) * k);
  for (auto& v : a) v = static_cast<std::int8_t>(random.uniform_below(256) - 128);
  for (auto& v : w) v = static_cast<std::int8_t>(random.uniform_below(255) - 127);
  std::vector<std::int32_t> bias(static_cast<std::size_t>(n), 7), acc(static_cast<std::size_t>(m) * n);
  for (auto _ : state) {
    gemm_s8s8s32(m, n, k, a.data(), w.data(), bias.data(), acc.data());
    benchmark::DoNotOptimize(acc.data());
  }
  state.counters["MAC/s"] = benchmark::Counter(static_cast<double>(m) * n * k, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_GemmS8S8S32)
    ->Args({784, 6, 25})     // lenet5 conv1
    ->Args({100, 16, 150})   // lenet5 conv2
    ->Args({1, 120, 400})    // lenet5 fc1
    ->Args({1, 512, 784})    // mlp fc1
    ->Args({256, 256, 256});

// One whole int8 inference of a zoo model (all layers, traces kept).
void BM_Inference(benchmark::State& state, const std::string& name) {
  const std::string path = resolve_model_path(name, default_zoo_dir());
  if (!std::filesystem::exists(path)) {
    state.SkipWithError(("missing " + path).c_str());
    return;
  }
  const QuantizedModel model = load_model(path);
  ReferenceEngine engine(model);
  std::vector<std::uint8_t> image(784);
  Random random(2);
  for (auto& p : image) p = static_cast<std::uint8_t>(random.uniform_below(256));
  InferenceTrace trace;
  for (auto _ : state) {
    engine.run(image.data(), trace);
    benchmark::DoNotOptimize(trace.out.back().data());
  }
  state.counters["images/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_CAPTURE(BM_Inference, lenet5, std::string("lenet5"));
BENCHMARK_CAPTURE(BM_Inference, cnn_small, std::string("cnn-small"));
BENCHMARK_CAPTURE(BM_Inference, mlp, std::string("mlp"));

}  // namespace
}  // namespace isimdl

BENCHMARK_MAIN();
