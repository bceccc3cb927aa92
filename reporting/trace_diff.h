#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace isimdl {

// A cycle trace read one cycle at a time: the CSV of docs/traces.md, or a
// VCD. VCD cycles are numbered by a variable named `cycle` when the file has
// one (isimdl's VCDs do), else by timestamp: (t - first) / period, the
// period being the greatest common divisor of the timestamp steps (a VCD has
// timestamps only where something changed, so without a `cycle` variable the
// cycles in which nothing changed are absent). Read streaming. VCD names
// are the scope path below the top scope joined with '.', plus the
// variable's name (a bit range suffix dropped), e.g. array.pe_3_5.psum.
class TraceReader {
 public:
  virtual ~TraceReader() = default;
  // The next cycle's register values; false at the end. Throws Error naming
  // the file and line of malformed input.
  virtual bool next(std::int64_t& cycle, std::map<std::string, std::int64_t>& values) = 0;
};
// By the file name's extension (.vcd: VCD, anything else: CSV).
std::unique_ptr<TraceReader> open_trace(const std::string& path);

struct TraceDifference {
  std::int64_t cycle = 0;
  std::string register_name;
  std::string a, b;  // values as text; "(absent)" when a file lacks the register or cycle
};

struct TraceDiffResult {
  std::int64_t cycles_compared = 0;
  std::int64_t values_compared = 0;
  std::int64_t differences = 0;
  std::vector<TraceDifference> first;  // the first few, in cycle order
  std::map<std::string, std::int64_t> per_register;  // differing cycles per register
  bool equal() const { return differences == 0; }
};

struct TraceDiffOptions {
  std::vector<std::string> prefixes;  // compare only registers starting with one of these (empty: all)
  std::int64_t window_begin = 0, window_end = INT64_MAX;
  int keep = 10;  // differences kept in `first`
};

// Compares two traces cycle by cycle and register by register, streaming
// (memory: one cycle of each). A register or cycle present in only one file
// is a difference.
TraceDiffResult diff_traces(TraceReader& a, TraceReader& b, const TraceDiffOptions& options);

}  // namespace isimdl
