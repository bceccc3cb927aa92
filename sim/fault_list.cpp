#include "sim/fault_list.h"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "models/error.h"
#include "sim/fault_space.h"
#include "sim/run_report.h"

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

void write_fault_list(const std::string& path, const std::vector<FaultSite>& faults) {
  std::string text = std::string(kHeader) + "\n";
  for (const auto& f : faults)
    text += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n", f.layer, f.cycle, register_info(f.group).group_name, f.index,
                        f.bit, to_string(f.kind), f.width, f.duration);
  write_file_atomically(path, text);
}

std::vector<FaultSite> read_fault_list(const std::string& path, const FaultSpace& space) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("{}: cannot open fault list", path));
  std::vector<FaultSite> faults;
  std::string line;
  int line_no = 0;
  bool header_seen = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const std::string where = fmt::format("{}:{}", path, line_no);
    if (!header_seen) {
      if (line != kHeader) throw Error(fmt::format("{}: expected the header line \"{}\"", where, kHeader));
      header_seen = true;
      continue;
    }
    std::vector<std::string> cells;
    std::stringstream row(line);
    std::string cell;
    while (std::getline(row, cell, '\t')) cells.push_back(cell);
    if (cells.size() != 8) throw Error(fmt::format("{}: expected 8 tab-separated fields, got {}", where, cells.size()));
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
    if (f.width < 1) throw Error(fmt::format("{}: width must be at least 1", where));
    if (f.duration < 1) throw Error(fmt::format("{}: duration must be at least 1", where));
    try {
      space.check(f);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", where, e.what()));
    }
    faults.push_back(f);
  }
  if (!header_seen) throw Error(fmt::format("{}: empty fault list (no header line)", path));
  return faults;
}

}  // namespace isimdl
