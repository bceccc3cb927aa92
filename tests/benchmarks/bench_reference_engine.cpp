#include <benchmark/benchmark.h>

#include <oneapi/dnnl/dnnl.h>

#include <filesystem>
#include <tuple>

#include "gemmlowp/public/gemmlowp.h"

#include "models/model_file.h"
#include "models/random.h"
#include "models/reference_engine.h"
#include "models/zoo.h"

namespace isimdl {
namespace {

// int8 GEMM at the shapes of lenet5's and mlp's layers and 256^3:
// (M, N, K) = output pixels, output channels, reduction length. Four ways,
// in one run so that their ratios mean something on a shared machine:
//   Plain    the plain loop (gemm_s8s8s32_plain, the referee);
//   Engine   what the reference engine runs (gemm_s8s8s32: oneDNN + bias);
//   OneDnn   oneDNN's dnnl_gemm_s8s8s32 alone: the library's own figure;
//   Gemmlowp gemmlowp (uint8 operands with offset -128, empty output pipeline).
struct GemmOperands {
  int m, n, k;
  std::vector<std::int8_t> a, w;
  std::vector<std::int32_t> bias, acc;
  explicit GemmOperands(const benchmark::State& state)
      : m(static_cast<int>(state.range(0))), n(static_cast<int>(state.range(1))), k(static_cast<int>(state.range(2))) {
    Random random(1);
    a.resize(static_cast<std::size_t>(m) * k);
    w.resize(static_cast<std::size_t>(n) * k);
    for (auto& v : a) v = static_cast<std::int8_t>(random.uniform_below(256) - 128);
    for (auto& v : w) v = static_cast<std::int8_t>(random.uniform_below(255) - 127);
    bias.assign(static_cast<std::size_t>(n), 7);
    acc.resize(static_cast<std::size_t>(m) * n);
  }
  void count(benchmark::State& state) const {
    state.counters["MAC/s"] = benchmark::Counter(static_cast<double>(m) * n * k, benchmark::Counter::kIsIterationInvariantRate);
  }
};

void BM_GemmPlain(benchmark::State& state) {
  GemmOperands g(state);
  for (auto _ : state) {
    gemm_s8s8s32_plain(g.m, g.n, g.k, g.a.data(), g.w.data(), g.bias.data(), g.acc.data());
    benchmark::DoNotOptimize(g.acc.data());
  }
  g.count(state);
}

void BM_GemmEngine(benchmark::State& state) {
  GemmOperands g(state);
  state.SetLabel(gemm_backend());
  for (auto _ : state) {
    gemm_s8s8s32(g.m, g.n, g.k, g.a.data(), g.w.data(), g.bias.data(), g.acc.data());
    benchmark::DoNotOptimize(g.acc.data());
  }
  g.count(state);
}

void BM_GemmOneDnn(benchmark::State& state) {
  GemmOperands g(state);
  gemm_s8s8s32(1, 1, 1, g.a.data(), g.w.data(), g.bias.data(), g.acc.data());  // one thread, as the engine
  const std::int32_t zero = 0;
  for (auto _ : state) {
    dnnl_gemm_s8s8s32('N', 'T', 'F', g.n, g.m, g.k, 1.0f, g.w.data(), g.k, 0, g.a.data(), g.k, 0, 0.0f, g.acc.data(), g.m,
                      &zero);
    benchmark::DoNotOptimize(g.acc.data());
  }
  g.count(state);
}

void BM_Gemmlowp(benchmark::State& state) {
  GemmOperands g(state);
  std::vector<std::uint8_t> a(g.a.size()), w(g.w.size());
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<std::uint8_t>(g.a[i] ^ 0x80);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<std::uint8_t>(g.w[i] ^ 0x80);
  gemmlowp::GemmContext context;
  context.set_max_num_threads(1);
  const gemmlowp::MatrixMap<const std::uint8_t, gemmlowp::MapOrder::RowMajor> lhs(w.data(), g.n, g.k);
  const gemmlowp::MatrixMap<const std::uint8_t, gemmlowp::MapOrder::ColMajor> rhs(a.data(), g.k, g.m);
  gemmlowp::MatrixMap<std::int32_t, gemmlowp::MapOrder::RowMajor> result(g.acc.data(), g.n, g.m);
  for (auto _ : state) {
    gemmlowp::GemmWithOutputPipeline<std::uint8_t, std::int32_t, gemmlowp::DefaultL8R8BitDepthParams>(
        &context, lhs, rhs, &result, -128, -128, std::make_tuple());
    benchmark::DoNotOptimize(g.acc.data());
  }
  g.count(state);
}

#define GEMM_SHAPES                    \
  ->Args({784, 6, 25})     /* lenet5 conv1 */ \
      ->Args({100, 16, 150})   /* lenet5 conv2 */ \
      ->Args({1, 120, 400})    /* lenet5 fc1 */   \
      ->Args({1, 512, 784})    /* mlp fc1 */      \
      ->Args({256, 256, 256})
BENCHMARK(BM_GemmPlain) GEMM_SHAPES;
BENCHMARK(BM_GemmEngine) GEMM_SHAPES;
BENCHMARK(BM_GemmOneDnn) GEMM_SHAPES;
BENCHMARK(BM_Gemmlowp) GEMM_SHAPES;

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
