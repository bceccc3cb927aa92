// The entry point of the benchmarks that run the SystemC model: Google
// Benchmark inside sc_main, the shared accelerator elaborated before the
// first sc_start.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "hw/accelerator.h"

int sc_main(int argc, char* argv[]) {
  benchmark::Initialize(&argc, argv);
  isimdl::shared_accelerator();  // elaborate before the first sc_start
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

int main(int argc, char* argv[]) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 1);
  return sc_core::sc_elab_and_sim(argc, argv);
}
