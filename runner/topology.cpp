#include "runner/topology.h"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "models/error.h"

namespace isimdl {

int scalesim_output_size(int in, int filter, int stride) {
  return static_cast<int>((std::int64_t{in} - filter + 2 * std::int64_t{stride} - 1) / stride);
}

int TopologyLayer::ofmap_h() const { return scalesim_output_size(ifmap_h, filter_h, stride_h); }
int TopologyLayer::ofmap_w() const { return scalesim_output_size(ifmap_w, filter_w, stride_w); }

GemmShape TopologyLayer::gemm() const { return GemmShape{ofmap_h() * ofmap_w(), filter_h * filter_w * channels, filters}; }

std::vector<TopologyLayer> read_topology(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(fmt::format("{}: cannot open topology file", path));
  std::vector<TopologyLayer> layers;
  std::string line;
  int line_no = 0;
  static const char* kFields[] = {"ifmap height", "ifmap width", "filter height", "filter width",
                                  "channels",     "num filter",  "stride",        "stride width"};
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
    if (line_no == 1 && cells.size() > 1 && !cells[1].empty() && !std::isdigit(static_cast<unsigned char>(cells[1][0])))
      continue;  // header
    auto fail = [&](const std::string& what) {
      throw ConfigError(fmt::format("{}:{}: {}", path, line_no, what));
    };
    if (cells.size() != 8 && cells.size() != 9)
      fail(fmt::format("expected 8 or 9 fields (name, 6 sizes, one stride or stride height and width), got {}",
                       cells.size()));
    TopologyLayer l;
    l.name = cells[0];
    l.line = line_no;
    int* targets[] = {&l.ifmap_h, &l.ifmap_w, &l.filter_h, &l.filter_w, &l.channels, &l.filters, &l.stride_h, &l.stride_w};
    const int numbers = static_cast<int>(cells.size()) - 1;
    if (numbers == 7) l.stride_w = 0;  // set from stride_h below
    for (int i = 0; i < numbers; ++i) {
      const std::string& s = cells[static_cast<std::size_t>(i + 1)];
      const auto r = std::from_chars(s.data(), s.data() + s.size(), *targets[i]);
      if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || *targets[i] < 1)
        fail(fmt::format("layer {}: {}: expected a positive integer, got \"{}\"", l.name, kFields[i], s));
    }
    if (numbers == 7) l.stride_w = l.stride_h;
    if (l.filter_h > l.ifmap_h || l.filter_w > l.ifmap_w)
      fail(fmt::format("layer {}: filter {}x{} is larger than its ifmap {}x{}", l.name, l.filter_h, l.filter_w,
                       l.ifmap_h, l.ifmap_w));
    // Sizes that fit memory: each operand at most 2^30 bytes (a ResNet-50
    // layer's are under 2^23), computed without int overflow.
    constexpr std::int64_t kMaxOperand = std::int64_t{1} << 30;
    auto product = [&](const char* what, std::initializer_list<std::int64_t> factors) {
      std::int64_t size = 1;
      for (std::int64_t f : factors)
        if (__builtin_mul_overflow(size, f, &size) || size > kMaxOperand)
          fail(fmt::format("layer {}: its {} has more than {} elements, the most that is simulated", l.name, what,
                           kMaxOperand));
      return size;
    };
    // The ifmap first: it bounds the filter and the output pixels.
    product("ifmap", {l.ifmap_h, l.ifmap_w, l.channels});
    const std::int64_t m = std::int64_t{l.ofmap_h()} * l.ofmap_w();
    const std::int64_t k = std::int64_t{l.filter_h} * l.filter_w * l.channels;
    product("im2col operand M x K", {m, k});
    product("weights K x N", {k, l.filters});
    product("outputs M x N", {m, l.filters});
    layers.push_back(l);
  }
  if (layers.empty()) throw ConfigError(fmt::format("{}: no layers", path));
  return layers;
}

}  // namespace isimdl
