#include "campaign/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

namespace isimdl {

Progress::Progress(std::ostream& out, std::string what, std::int64_t total, bool enabled)
    : out_(out), what_(std::move(what)), total_(total), enabled_(enabled), start_(std::chrono::steady_clock::now()),
      last_(start_ - std::chrono::seconds(1)) {}

Progress::~Progress() { finish(); }

bool Progress::wanted(bool quiet) { return !quiet && ::isatty(STDERR_FILENO); }

void Progress::update(std::int64_t done, const std::string& detail) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(200) && done < total_) return;
  last_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = done / std::max(seconds, 1e-9);
  const std::string eta = done > 0 && total_ > done
                              ? fmt::format("ETA {:.0f} s", static_cast<double>(total_ - done) / rate)
                              : fmt::format("{:.0f} s", seconds);
  out_ << fmt::format("\r{}: {} / {} ({:.0f}%), {:.1f}/s, {}{}{}   ", what_, done, total_,
                      total_ > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 100.0, rate, eta,
                      detail.empty() ? "" : ", ", detail)
       << std::flush;
  open_ = true;
}

void Progress::clear() {
  if (open_) out_ << "\r\033[K" << std::flush;
  open_ = false;
  last_ = start_ - std::chrono::seconds(1);
}

void Progress::finish() {
  if (open_) out_ << "\n" << std::flush;
  open_ = false;
}

}  // namespace isimdl
