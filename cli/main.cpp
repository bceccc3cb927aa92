#include <cstdlib>
#include <iostream>
#include <systemc>

#include "models/error.h"
#include "cli/cli.h"

// The isimdl entry point. It is the only place that turns an exception into
// a message and an exit code.
int sc_main(int argc, char* argv[]) {
  std::vector<std::string> args(argv + 1, argv + argc);
  isimdl::CliStreams io{std::cout, std::cerr};
  try {
    return isimdl::run_cli(args, io);
  } catch (const isimdl::UsageError& e) {
    std::cerr << e.what() << "\n";
    return isimdl::kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "isimdl: error: " << e.what() << "\n";
    return isimdl::kExitError;
  }
}

// libsystemc ships a main() that prints a copyright banner on stdout, which
// would pollute machine-readable output; this one turns the banner off and
// then enters SystemC the standard way, which calls sc_main above.
int main(int argc, char* argv[]) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 1);
  return sc_core::sc_elab_and_sim(argc, argv);
}
