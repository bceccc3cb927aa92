#include <gtest/gtest.h>

#include <cstdlib>
#include <systemc>

// Test binaries that link SystemC cannot use gtest_main: libsystemc wants
// sc_main. GoogleTest runs from sc_main, entered through SystemC's own
// sc_elab_and_sim with the copyright banner turned off, so that
// gtest_discover_tests reads a clean test list.
int sc_main(int argc, char* argv[]) {
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

int main(int argc, char* argv[]) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 1);
  return sc_core::sc_elab_and_sim(argc, argv);
}
