#include "reporting/trace_diff.h"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <numeric>
#include <sstream>

#include "models/error.h"

namespace isimdl {
namespace {

class CsvTrace : public TraceReader {
 public:
  explicit CsvTrace(const std::string& path) : path_(path), in_(path) {
    if (!in_) throw Error(path + ": cannot open trace");
    std::string header;
    ++line_no_;
    const bool read = static_cast<bool>(std::getline(in_, header));
    // A UTF-8 byte-order mark and Windows line ends (what a spreadsheet
    // writes) are accepted.
    if (header.rfind("\xEF\xBB\xBF", 0) == 0) header.erase(0, 3);
    if (!header.empty() && header.back() == '\r') header.pop_back();
    if (!read || header != "cycle,register,value") {
      std::string shown;
      for (unsigned char ch : header.substr(0, 60))
        shown += ch >= 0x20 && ch < 0x7f ? std::string(1, static_cast<char>(ch)) : fmt::format("\\x{:02x}", ch);
      throw Error(fmt::format("{}:1: expected the header line \"cycle,register,value\", got \"{}\"", path, shown));
    }
    have_pending_ = read_row();
  }
  bool next(std::int64_t& cycle, std::map<std::string, std::int64_t>& values) override {
    values.clear();
    if (!have_pending_) return false;
    cycle = pending_cycle_;
    do {
      if (!values.emplace(pending_name_, pending_value_).second)
        throw Error(fmt::format("{}:{}: register {} appears twice in cycle {}", path_, line_no_, pending_name_, cycle));
      have_pending_ = read_row();
      if (have_pending_ && pending_cycle_ < cycle)
        throw Error(fmt::format("{}:{}: cycle {} after cycle {}: cycles must ascend", path_, line_no_, pending_cycle_, cycle));
    } while (have_pending_ && pending_cycle_ == cycle);
    return true;
  }

 private:
  bool read_row() {
    std::string line;
    while (std::getline(in_, line)) {
      ++line_no_;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      const auto c1 = line.find(','), c2 = line.rfind(',');
      if (c1 == std::string::npos || c2 == c1)
        throw Error(fmt::format("{}:{}: expected cycle,register,value, got \"{}\"", path_, line_no_, line));
      pending_cycle_ = number(line.substr(0, c1), "cycle");
      pending_name_ = line.substr(c1 + 1, c2 - c1 - 1);
      pending_value_ = number(line.substr(c2 + 1), "value");
      return true;
    }
    return false;
  }
  std::int64_t number(const std::string& text, const char* what) const {
    std::int64_t v = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size())
      throw Error(fmt::format("{}:{}: {}: expected an integer, got \"{}\"", path_, line_no_, what, text));
    return v;
  }
  std::string path_;
  std::ifstream in_;
  int line_no_ = 0;
  bool have_pending_ = false;
  std::int64_t pending_cycle_ = 0, pending_value_ = 0;
  std::string pending_name_;
};

// A VCD read in two streaming passes: the first finds the timestamps'
// period (for files without a `cycle` variable), the second replays the
// value changes one timestamp at a time. Memory: one state of every variable.
class VcdTrace : public TraceReader {
 public:
  explicit VcdTrace(const std::string& path) : path_(path), in_(path) {
    if (!in_) throw Error(path + ": cannot open trace");
    std::vector<std::string> scopes;
    std::string token;
    bool defined = false;
    while (!defined && in_ >> token) {
      if (token == "$scope") {
        std::string kind, name, end;
        in_ >> kind >> name >> end;
        scopes.push_back(name);
      } else if (token == "$upscope") {
        in_ >> token;
        if (!scopes.empty()) scopes.pop_back();
      } else if (token == "$var") {
        std::string type, size, id, name, rest;
        in_ >> type >> size >> id >> name;
        while (in_ >> rest && rest != "$end") {}
        std::string full;
        for (std::size_t i = 1; i < scopes.size(); ++i) full += scopes[i] + ".";  // below the top scope
        full += name;
        // Variables may share an identifier code (legal VCD: one signal
        // under several names); each name gets the shared value.
        ids_[id].push_back(static_cast<int>(names_.size()));
        names_.push_back(full);
        widths_.push_back(std::atoi(size.c_str()));
        if (full == "cycle") cycle_var_ = static_cast<int>(names_.size()) - 1;
      } else if (token == "$enddefinitions") {
        in_ >> token;
        defined = true;
      } else if (!token.empty() && token[0] == '$') {
        while (in_ >> token && token != "$end") {}
      }
    }
    if (!defined) throw Error(path + ": no $enddefinitions: not a VCD file");
    state_.assign(names_.size(), 0);
    body_ = in_.tellg();
    // Pass 1: the first timestamp and the period (gcd of the steps).
    bool first_seen = false;
    std::int64_t last = 0;
    while (in_ >> token)
      if (token[0] == '#') {
        const std::int64_t t = timestamp(token);
        if (first_seen && t < last)
          throw Error(fmt::format("{}: time goes backwards: {} after #{}", path_, token, last));
        if (!first_seen) first_ = t, first_seen = true;
        else period_ = std::gcd(period_, t - first_);
        last = t;
      }
    if (period_ == 0) period_ = 1;
    in_.clear();
    in_.seekg(body_);
  }

  bool next(std::int64_t& cycle, std::map<std::string, std::int64_t>& values) override {
    std::string token;
    while (true) {
      // Apply the changes of the current timestamp, up to the next one.
      bool more = false;
      std::int64_t next_time = 0;
      changes_ = 0;
      while (in_ >> token) {
        if (token[0] == '#') {
          next_time = timestamp(token);
          more = true;
          break;
        }
        apply(token);
      }
      const bool had_time = have_time_;
      const std::int64_t time = time_;
      have_time_ = more;
      time_ = next_time;
      if (had_time && changes_ > 0) {  // a timestamp without changes (e.g. the closing one) is no sample
        std::int64_t c = (time - first_) / period_;
        if (cycle_var_ >= 0) c = state_[static_cast<std::size_t>(cycle_var_)];
        if (cycle_var_ < 0 || c >= 0) {  // samples before the traced window carry cycle -1
          cycle = c;
          values.clear();
          for (std::size_t i = 0; i < names_.size(); ++i)
            if (static_cast<int>(i) != cycle_var_) values[names_[i]] = state_[i];
          return true;
        }
      }
      if (!more) return false;
    }
  }

 private:
  void apply(const std::string& token) {
    if (token == "$dumpvars" || token == "$end" || token == "$dumpall" || token == "$dumpon" || token == "$dumpoff")
      return;
    std::string t = token;
    if (t[0] == '$') {  // $comment and the like: skipped to their $end
      while (in_ >> t && t != "$end") {}
      return;
    }
    std::string id, bits;
    if (t[0] == 'b' || t[0] == 'B') {
      bits = t.substr(1);
      if (!(in_ >> id)) throw Error(fmt::format("{}: truncated value change at time {}", path_, time_));
    } else if (t[0] == '0' || t[0] == '1' || t[0] == 'x' || t[0] == 'z' || t[0] == 'X' || t[0] == 'Z') {
      bits = t.substr(0, 1);
      id = t.substr(1);
    } else if (t[0] == 'r' || t[0] == 'R') {
      in_ >> id;  // real values are not registers
      return;
    } else {
      throw Error(fmt::format("{}: unexpected token \"{}\" at time {}", path_, t, time_));
    }
    auto it = ids_.find(id);
    if (it == ids_.end()) throw Error(fmt::format("{}: value change for undeclared identifier \"{}\"", path_, id));
    // Two's complement of the declared width (1-bit values unsigned; x and z read as 0).
    std::uint64_t raw = 0;
    for (char ch : bits) raw = (raw << 1) | (ch == '1' ? 1u : 0u);
    for (int var : it->second) {
      // The low w bits (a value wider than its declaration keeps those),
      // sign-extended from bit w-1 when the value spells all w bits.
      const int w = widths_[static_cast<std::size_t>(var)];
      std::uint64_t bits_w = raw;
      if (w >= 1 && w < 64) bits_w &= (std::uint64_t{1} << w) - 1;
      const bool negative = w > 1 && w < 64 && static_cast<int>(bits.size()) >= w && ((bits_w >> (w - 1)) & 1u);
      state_[static_cast<std::size_t>(var)] =
          negative ? static_cast<std::int64_t>(bits_w | ~((std::uint64_t{1} << w) - 1)) : static_cast<std::int64_t>(bits_w);
    }
    ++changes_;
  }

  std::int64_t timestamp(const std::string& token) const {
    std::int64_t t = 0;
    const auto r = std::from_chars(token.data() + 1, token.data() + token.size(), t);
    if (token.size() < 2 || r.ec != std::errc() || r.ptr != token.data() + token.size() || t < 0)
      throw Error(fmt::format("{}: timestamp \"{}\" is not a non-negative 64-bit integer", path_, token.substr(0, 40)));
    return t;
  }

  std::string path_;
  std::ifstream in_;
  std::streampos body_;
  std::map<std::string, std::vector<int>> ids_;  // identifier code -> the variables that share it
  std::vector<std::string> names_;
  std::vector<int> widths_;
  std::vector<std::int64_t> state_;
  int cycle_var_ = -1;
  std::int64_t first_ = 0, period_ = 0;
  bool have_time_ = false;
  std::int64_t time_ = 0;
  int changes_ = 0;
};

}  // namespace

std::unique_ptr<TraceReader> open_trace(const std::string& path) {
  if (path.size() > 4 && path.substr(path.size() - 4) == ".vcd") return std::make_unique<VcdTrace>(path);
  return std::make_unique<CsvTrace>(path);
}

TraceDiffResult diff_traces(TraceReader& a, TraceReader& b, const TraceDiffOptions& options) {
  TraceDiffResult result;
  auto wanted = [&](const std::string& name) {
    if (options.prefixes.empty()) return true;
    for (const auto& p : options.prefixes)
      if (name.compare(0, p.size(), p) == 0) return true;
    return false;
  };
  auto record = [&](std::int64_t cycle, const std::string& name, const std::string& va, const std::string& vb) {
    ++result.differences;
    ++result.per_register[name];
    if (static_cast<int>(result.first.size()) < options.keep) result.first.push_back({cycle, name, va, vb});
  };
  auto filtered = [&](std::map<std::string, std::int64_t>& values) {
    for (auto it = values.begin(); it != values.end();) it = wanted(it->first) ? std::next(it) : values.erase(it);
  };
  std::int64_t ca = 0, cb = 0;
  std::map<std::string, std::int64_t> va, vb;
  auto advance = [&](TraceReader& r, std::int64_t& c, std::map<std::string, std::int64_t>& v) {
    while (r.next(c, v)) {
      if (c < options.window_begin) continue;
      if (c >= options.window_end) return false;
      filtered(v);
      return true;
    }
    return false;
  };
  bool has_a = advance(a, ca, va), has_b = advance(b, cb, vb);
  const std::string absent = "(absent)";
  while (has_a || has_b) {
    if (has_a && (!has_b || ca < cb)) {
      for (const auto& [name, v] : va) record(ca, name, std::to_string(v), absent);
      has_a = advance(a, ca, va);
      continue;
    }
    if (has_b && (!has_a || cb < ca)) {
      for (const auto& [name, v] : vb) record(cb, name, absent, std::to_string(v));
      has_b = advance(b, cb, vb);
      continue;
    }
    ++result.cycles_compared;
    auto ia = va.begin();
    auto ib = vb.begin();
    while (ia != va.end() || ib != vb.end()) {
      if (ib == vb.end() || (ia != va.end() && ia->first < ib->first)) {
        record(ca, ia->first, std::to_string(ia->second), absent);
        ++ia;
      } else if (ia == va.end() || ib->first < ia->first) {
        record(ca, ib->first, absent, std::to_string(ib->second));
        ++ib;
      } else {
        ++result.values_compared;
        if (ia->second != ib->second) record(ca, ia->first, std::to_string(ia->second), std::to_string(ib->second));
        ++ia, ++ib;
      }
    }
    has_a = advance(a, ca, va);
    has_b = advance(b, cb, vb);
  }
  return result;
}

}  // namespace isimdl
