# Warnings and sanitizers apply to the project's own targets only, through
# this interface library, so that third-party headers keep their own flags.
add_library(isimdl_options INTERFACE)
target_compile_options(isimdl_options INTERFACE -Wall -Wextra -Wpedantic)
target_include_directories(isimdl_options INTERFACE
  ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/generated)
if(ISIMDL_SANITIZE)
  target_compile_options(isimdl_options INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(isimdl_options INTERFACE -fsanitize=address,undefined)
endif()
if(ISIMDL_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "ISIMDL_FUZZ needs clang (libFuzzer): configure with CXX=clang++ (scripts/fuzz does)")
  endif()
  target_compile_options(isimdl_options INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(isimdl_options INTERFACE -fsanitize=address,undefined)
endif()
