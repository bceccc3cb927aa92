// The single writer of an MPI campaign (rank 0) commits each message's rows
// in one transaction of the WAL-mode, synchronous=FULL results file
// (campaign/results_store.h). BM_ResultsWriter/N: rows per second when
// every transaction holds N rows (N = 16: the most a rank gets at a time;
// N = 1: one transaction per fault, as --jobs' workers commit).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "campaign/results_store.h"

namespace isimdl {
namespace {

void BM_ResultsWriter(benchmark::State& state) {
  const auto rows_per_transaction = static_cast<std::size_t>(state.range(0));
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("isimdl_bench_results_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    ResultsStore store((dir / "campaign.sqlite").string());
    std::int64_t index = 0;
    std::vector<FaultRecord> rows(rows_per_transaction);
    for (auto _ : state) {
      for (FaultRecord& r : rows) {
        r.fault_index = index++;
        r.site.cycle = r.fault_index;
        r.images = 256;
        r.outcomes[0] = 250;
        r.outcomes[1] = 6;
        r.weight = 0.5;
      }
      store.write_all(rows);
    }
    state.counters["rows/s"] = benchmark::Counter(static_cast<double>(index), benchmark::Counter::kIsRate);
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ResultsWriter)->Arg(1)->Arg(16)->Arg(64)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace isimdl
