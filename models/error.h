#pragma once

#include <stdexcept>
#include <string>

namespace isimdl {

// Every failure in library code is reported by throwing one of these; only
// main() turns them into a message and an exit code.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A configuration file or -p override is wrong. The message already names the
// file, line and key path.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// A command line is wrong (unknown command or option, missing argument).
// main() maps this to exit code 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

// A data file (model, dataset, fault list, results) is unreadable or
// malformed. The message names the file and what is wrong.
class FormatError : public Error {
 public:
  using Error::Error;
};

}  // namespace isimdl
