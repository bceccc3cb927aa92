# Every external dependency is found here, once, and exposed as an imported
# target. All of them come from Debian 12 packages (see scripts/setup).

find_package(Threads REQUIRED)
find_package(fmt REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS program_options)
find_package(SQLite3 REQUIRED)
find_package(ZLIB REQUIRED)
# Open MPI (libopenmpi-dev): campaigns across the ranks of an MPI job. Required
# rather than optional: scripts/setup installs it like every other package,
# one build configuration is the one tested, and a binary started without
# mpirun never calls MPI (campaign/mpi_ranks.h).
# The C API from C++ (Open MPI's deprecated C++ bindings are not linked).
set(MPI_CXX_SKIP_MPICXX ON)
find_package(MPI REQUIRED COMPONENTS CXX)
# oneDNN's int8 GEMM runs the reference engine's layers (models/gemm.h);
# Debian's build uses the OpenMP runtime, kept to one thread (models/gemm.cpp).
find_package(dnnl REQUIRED)
# ONNX (libonnx-dev): its exported onnx_proto target links protobuf::libprotobuf,
# which only exists once Protobuf was found.
find_package(Protobuf REQUIRED)
find_package(ONNX REQUIRED)

# SystemC: prefer its CMake package (a from-source install ships one); Debian
# ships only systemc.pc, so fall back to pkg-config. Either way the rest of the
# build sees one target, isimdl::systemc.
find_package(SystemCLanguage CONFIG QUIET)
if(TARGET SystemC::systemc)
  add_library(isimdl_systemc INTERFACE)
  target_link_libraries(isimdl_systemc INTERFACE SystemC::systemc)
  message(STATUS "SystemC: CMake package ${SystemCLanguage_VERSION}")
else()
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(SYSTEMC REQUIRED IMPORTED_TARGET systemc>=2.3.3)
  add_library(isimdl_systemc INTERFACE)
  target_link_libraries(isimdl_systemc INTERFACE PkgConfig::SYSTEMC Threads::Threads)
  message(STATUS "SystemC: pkg-config ${SYSTEMC_VERSION}")
endif()
add_library(isimdl::systemc ALIAS isimdl_systemc)

if(ISIMDL_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(ISIMDL_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
