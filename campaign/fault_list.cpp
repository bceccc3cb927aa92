#include "campaign/fault_list.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <fstream>
#include <sstream>

#include "models/error.h"
#include "sampler/fault_space.h"
#include "campaign/campaign.h"
#include "runner/run_report.h"

namespace isimdl {
namespace {

const char* kHeader = "layer\tcycle\tgroup\tindex\tbit\tkind\twidth\tduration";

template <typename T>
T parse_number(const std::string& text, const std::string& field, const std::string& where) {
  T value{};
  const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size())
    throw Error(fmt::format("{}: {}: expected an integer, got \"{}\"", where, field, text));
  return value;
}

}  // namespace

void write_fault_list(const std::string& path, const FaultList& list) {
  bool weighted = false;
  for (double w : list.weights) weighted = weighted || w != 1.0;
  std::string text = std::string(kHeader) + (weighted ? "\tweight\n" : "\n");
  for (std::size_t i = 0; i < list.faults.size(); ++i) {
    const FaultSite& f = list.faults[i];
    text += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}", f.layer, f.cycle, register_info(f.group).group_name, f.index,
                        f.bit, to_string(f.kind), f.width, f.duration);
    text += weighted ? fmt::format("\t{:.17g}\n", list.weights[i]) : "\n";
  }
  write_file_atomically(path, text);
}

FaultSite parse_fault_site(const std::string& text) {
  FaultSite f;
  std::set<std::string> given;
  std::string spec = text;
  std::replace(spec.begin(), spec.end(), ',', ' ');
  std::stringstream in(spec);
  std::string item;
  const std::string where = "--fault";
  while (in >> item) {
    const auto eq = item.find('=');
    if (eq == std::string::npos)
      throw Error(fmt::format("{}: expected key=value, got \"{}\" (keys: layer cycle group index bit [kind width duration])",
                              where, item));
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (!given.insert(key).second) throw Error(fmt::format("{}: {} given twice", where, key));
    if (key == "layer") f.layer = parse_number<int>(value, key, where);
    else if (key == "cycle") f.cycle = parse_number<std::int64_t>(value, key, where);
    else if (key == "index") f.index = parse_number<std::int64_t>(value, key, where);
    else if (key == "bit") f.bit = parse_number<int>(value, key, where);
    else if (key == "width") f.width = parse_number<int>(value, key, where);
    else if (key == "duration") f.duration = parse_number<std::int64_t>(value, key, where);
    else if (key == "group") f.group = register_group_from_name(value);
    else if (key == "kind") f.kind = fault_kind_from_string(value);
    else
      throw Error(fmt::format("{}: unknown key \"{}\" (keys: layer cycle group index bit kind width duration)", where, key));
  }
  for (const char* key : {"layer", "cycle", "group", "index", "bit"})
    if (!given.count(key)) throw Error(fmt::format("{}: missing {}= (a fault needs layer, cycle, group, index, bit)", where, key));
  try {
    check_fault_shape(f);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", where, e.what()));
  }
  return f;
}

FaultList read_fault_list(const std::string& path, const FaultSpace& space) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("{}: cannot open fault list", path));
  FaultList list;
  std::vector<FaultSite>& faults = list.faults;
  bool weighted = false;
  std::string line;
  int line_no = 0;
  bool header_seen = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const std::string where = fmt::format("{}:{}", path, line_no);
    if (!header_seen) {
      weighted = line == std::string(kHeader) + "\tweight";
      if (line != kHeader && !weighted)
        throw Error(fmt::format("{}: expected the header line \"{}\" (optionally with a weight column)", where, kHeader));
      header_seen = true;
      continue;
    }
    std::vector<std::string> cells;
    std::stringstream row(line);
    std::string cell;
    while (std::getline(row, cell, '\t')) cells.push_back(cell);
    const std::size_t fields = weighted ? 9 : 8;
    if (cells.size() != fields)
      throw Error(fmt::format("{}: expected {} tab-separated fields, got {}", where, fields, cells.size()));
    FaultSite f;
    f.layer = parse_number<int>(cells[0], "layer", where);
    f.cycle = parse_number<std::int64_t>(cells[1], "cycle", where);
    try {
      f.group = register_group_from_name(cells[2]);
      f.kind = fault_kind_from_string(cells[5]);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", where, e.what()));
    }
    f.index = parse_number<std::int64_t>(cells[3], "index", where);
    f.bit = parse_number<int>(cells[4], "bit", where);
    f.width = parse_number<int>(cells[6], "width", where);
    f.duration = parse_number<std::int64_t>(cells[7], "duration", where);
    try {
      check_fault_shape(f);
      space.check(f);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", where, e.what()));
    }
    double weight = 1.0;
    if (weighted) {
      try {
        std::size_t used = 0;
        weight = std::stod(cells[8], &used);
        // Bounded so that sums of squared weights (the effective sample size) stay finite.
        if (used != cells[8].size() || !(weight > 0) || !(weight <= 1e100)) throw std::invalid_argument(cells[8]);
      } catch (const std::exception&) {
        throw Error(fmt::format("{}: weight: expected a positive number up to 1e100, got \"{}\"", where, cells[8]));
      }
    }
    faults.push_back(f);
    list.weights.push_back(weight);
  }
  if (!header_seen) throw Error(fmt::format("{}: empty fault list (no header line)", path));
  return list;
}

}  // namespace isimdl
