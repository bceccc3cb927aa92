#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace isimdl {

// The directory this test process writes into: made fresh with mkdtemp under
// the system temp directory on first use, so that tests run at once by
// `ctest -j`, or two test runs on one machine, never share a file. Removed
// when the process ends unless a test failed (then it is kept to look at).
inline const std::filesystem::path& test_dir() {
  struct Owned {
    std::filesystem::path path;
    pid_t owner = ::getpid();
    Owned() {
      // mkdtemp replaces the XXXXXX: a new directory for every test process.
      std::string pattern = std::filesystem::temp_directory_path().string() + "/isimdl-test-XXXXXX";
      if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed under " + pattern);
      path = pattern;
    }
    ~Owned() {
      // A forked child that returns through exit() must not remove its parent's files.
      if (::getpid() != owner) return;
      if (::testing::UnitTest::GetInstance()->Failed()) {
        std::fprintf(stderr, "test files kept in %s\n", path.c_str());
        return;
      }
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const Owned dir;
  return dir.path;
}

}  // namespace isimdl
