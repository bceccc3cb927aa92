// Shared by the libFuzzer targets of tests/fuzz (docs/reliability.md,
// "Fuzzing"). A parser's promise on any input: it returns, or it throws
// isimdl::Error with a message naming the input — never another exception,
// a crash, a sanitizer report, a hang or unbounded memory. So a target
// catches Error and nothing else: anything else reaches libFuzzer as a
// finding (an uncaught exception aborts).
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "models/error.h"

// libsystemc.so (linked through the simulator's libraries) refers to the
// program's sc_main; libFuzzer's driver is the program's main here.
extern "C" int sc_main(int, char*[]) { return 0; }

namespace isimdl::fuzz {

// A fresh directory of this fuzzing process (mkdtemp under the system temp
// directory), removed when the process ends: two fuzzers, or two runs of one,
// never share a file.
inline const std::string& fuzz_dir() {
  struct Owned {
    std::string path;
    Owned() {
      std::string pattern = std::filesystem::temp_directory_path().string() + "/isimdl-fuzz-XXXXXX";
      if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed under " + pattern);
      path = pattern;
    }
    ~Owned() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const Owned dir;
  return dir.path;
}

// The input written to a file of this process with the given suffix (the
// parsers read files), then fn(path); isimdl::Error is the expected answer
// to a bad input.
template <typename Fn>
int with_file(const std::uint8_t* data, std::size_t size, const char* suffix, Fn fn) {
  const std::string path = fuzz_dir() + "/input" + suffix;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    fn(path);
  } catch (const Error&) {
  }
  std::remove(path.c_str());
  return 0;
}

inline std::string text(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace isimdl::fuzz
