#include "sim/trace_diff.h"

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
    if (!std::getline(in_, header) || header != "cycle,register,value")
      throw Error(fmt::format("{}:1: expected the header line \"cycle,register,value\"", path));
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

// A VCD read whole into value changes, then replayed cycle by cycle.
class VcdTrace : public TraceReader {
 public:
  explicit VcdTrace(const std::string& path) : path_(path) {
    std::ifstream in(path);
    if (!in) throw Error(path + ": cannot open trace");
    std::string token;
    std::vector<std::string> scopes;
    std::map<std::string, int> width;
    std::int64_t time = 0;
    bool in_definitions = true;
    auto read = [&](std::string& t) {
      if (!(in >> t)) return false;
      return true;
    };
    std::map<std::int64_t, std::vector<std::pair<std::string, std::int64_t>>> changes;
    while (read(token)) {
      if (in_definitions) {
        if (token == "$scope") {
          std::string kind, name, end;
          read(kind), read(name), read(end);
          scopes.push_back(name);
        } else if (token == "$upscope") {
          read(token);
          if (!scopes.empty()) scopes.pop_back();
        } else if (token == "$var") {
          std::string type, size, id, name, rest;
          read(type), read(size), read(id), read(name);
          while (read(rest) && rest != "$end") {}
          std::string full;
          for (std::size_t i = 1; i < scopes.size(); ++i) full += scopes[i] + ".";  // below the top scope
          full += name;
          ids_[id] = full;
          width[id] = std::atoi(size.c_str());
          if (full == "cycle") cycle_id_ = id;
        } else if (token == "$enddefinitions") {
          read(token);
          in_definitions = false;
        } else if (token[0] == '$') {
          while (read(token) && token != "$end") {}
        }
        continue;
      }
      if (token == "$dumpvars" || token == "$end" || token == "$dumpall" || token == "$dumpon" || token == "$dumpoff")
        continue;
      if (token[0] == '$') {  // $comment and the like: skipped to their $end
        while (read(token) && token != "$end") {}
        continue;
      }
      if (token[0] == '#') {
        time = std::stoll(token.substr(1));
        continue;
      }
      std::string id, bits;
      if (token[0] == 'b' || token[0] == 'B') {
        bits = token.substr(1);
        if (!read(id)) throw Error(fmt::format("{}: truncated value change at time {}", path, time));
      } else if (token[0] == '0' || token[0] == '1' || token[0] == 'x' || token[0] == 'z') {
        bits = token.substr(0, 1);
        id = token.substr(1);
      } else if (token[0] == 'r') {
        continue;  // real values are not registers
      } else {
        throw Error(fmt::format("{}: unexpected token \"{}\" at time {}", path, token, time));
      }
      auto it = ids_.find(id);
      if (it == ids_.end()) throw Error(fmt::format("{}: value change for undeclared identifier \"{}\"", path, id));
      // Two's complement of the declared width (1-bit values unsigned).
      std::uint64_t raw = 0;
      for (char ch : bits) raw = (raw << 1) | (ch == '1' ? 1u : 0u);
      const int w = width[id];
      std::int64_t v = static_cast<std::int64_t>(raw);
      if (w > 1 && w < 64 && static_cast<int>(bits.size()) >= w && bits[0] == '1') v -= std::int64_t{1} << w;
      changes[time].emplace_back(id, v);
    }
    // Cycle numbering.
    std::int64_t period = 0, first = changes.empty() ? 0 : changes.begin()->first;
    for (auto it = changes.begin(); it != changes.end(); ++it)
      if (it != changes.begin()) period = std::gcd(period, it->first - first);
    if (period == 0) period = 1;
    std::map<std::string, std::int64_t> state;
    for (const auto& [t, list] : changes) {
      for (const auto& [id, v] : list) state[id] = v;
      std::int64_t cycle = (t - first) / period;
      if (!cycle_id_.empty()) {
        auto c = state.find(cycle_id_);
        if (c == state.end() || c->second < 0) continue;  // before the traced window
        cycle = c->second;
      }
      std::map<std::string, std::int64_t> values;
      for (const auto& [id, name] : ids_)
        if (id != cycle_id_) values[name] = state.count(id) ? state[id] : 0;
      snapshots_.emplace_back(cycle, std::move(values));
    }
  }
  bool next(std::int64_t& cycle, std::map<std::string, std::int64_t>& values) override {
    if (at_ >= snapshots_.size()) return false;
    cycle = snapshots_[at_].first;
    values = snapshots_[at_].second;
    ++at_;
    return true;
  }

 private:
  std::string path_;
  std::map<std::string, std::string> ids_;
  std::string cycle_id_;
  std::vector<std::pair<std::int64_t, std::map<std::string, std::int64_t>>> snapshots_;
  std::size_t at_ = 0;
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
