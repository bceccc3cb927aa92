#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace isimdl {

// One progress line with rate and ETA for a long command, redrawn in place
// (carriage return) at most five times a second. Shown only on a terminal:
// `enabled` is what the command decides (Progress::wanted(quiet) is the
// usual rule: not -q, and stderr is a terminal), so logs and pipes stay
// clean.
class Progress {
 public:
  Progress(std::ostream& out, std::string what, std::int64_t total, bool enabled);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // True unless `quiet` or stderr is not a terminal.
  static bool wanted(bool quiet);

  // `done` of the total finished; `detail` is shown after the ETA.
  void update(std::int64_t done, const std::string& detail = "");
  // Erases the line, so that a result line printed next stands alone (the
  // next update draws it again).
  void clear();
  // Ends the line (also done by the destructor).
  void finish();

 private:
  std::ostream& out_;
  std::string what_;
  std::int64_t total_;
  bool enabled_, open_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace isimdl
