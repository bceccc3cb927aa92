#include "sim/topology.h"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "models/error.h"

namespace isimdl {

GemmShape TopologyLayer::gemm() const {
  const int oh = (ifmap_h - filter_h) / stride + 1, ow = (ifmap_w - filter_w) / stride + 1;
  return GemmShape{oh * ow, filter_h * filter_w * channels, filters};
}

std::vector<TopologyLayer> read_topology(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(fmt::format("{}: cannot open topology file", path));
  std::vector<TopologyLayer> layers;
  std::string line;
  int line_no = 0;
  static const char* kFields[] = {"ifmap height", "ifmap width", "filter height", "filter width",
                                  "channels",     "num filter",  "stride"};
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t,") == std::string::npos) continue;
    std::vector<std::string> cells;
    std::stringstream row(line);
    std::string cell;
    while (std::getline(row, cell, ',')) {
      const auto first = cell.find_first_not_of(" \t"), last = cell.find_last_not_of(" \t");
      cells.push_back(first == std::string::npos ? "" : cell.substr(first, last - first + 1));
    }
    while (!cells.empty() && cells.back().empty()) cells.pop_back();  // trailing comma
    if (line_no == 1 && !cells.empty() && !cells[1].empty() && !std::isdigit(static_cast<unsigned char>(cells[1][0])))
      continue;  // header
    auto fail = [&](const std::string& what) {
      throw ConfigError(fmt::format("{}:{}: {}", path, line_no, what));
    };
    if (cells.size() != 8) fail(fmt::format("expected 8 fields (name and 7 numbers), got {}", cells.size()));
    TopologyLayer l;
    l.name = cells[0];
    l.line = line_no;
    int* targets[] = {&l.ifmap_h, &l.ifmap_w, &l.filter_h, &l.filter_w, &l.channels, &l.filters, &l.stride};
    for (int i = 0; i < 7; ++i) {
      const std::string& s = cells[static_cast<std::size_t>(i + 1)];
      const auto r = std::from_chars(s.data(), s.data() + s.size(), *targets[i]);
      if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || *targets[i] < 1)
        fail(fmt::format("layer {}: {}: expected a positive integer, got \"{}\"", l.name, kFields[i], s));
    }
    if (l.filter_h > l.ifmap_h || l.filter_w > l.ifmap_w)
      fail(fmt::format("layer {}: filter {}x{} is larger than its ifmap {}x{}", l.name, l.filter_h, l.filter_w,
                       l.ifmap_h, l.ifmap_w));
    layers.push_back(l);
  }
  if (layers.empty()) throw ConfigError(fmt::format("{}: no layers", path));
  return layers;
}

}  // namespace isimdl
