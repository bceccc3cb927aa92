#pragma once

#include <string>
#include <vector>

#include "models/architecture.h"

namespace isimdl {

// One row of a SCALE-Sim topology file:
//   name, ifmap h, ifmap w, filter h, filter w, channels, filters, stride,
// SCALE-Sim maps convolutions without padding (give the padded input size).
struct TopologyLayer {
  std::string name;
  int ifmap_h = 0, ifmap_w = 0, filter_h = 0, filter_w = 0, channels = 0, filters = 0, stride = 1;
  int line = 0;  // in the file, for messages

  // The GEMM the layer lowers to: M = output pixels, K = filter_h*filter_w*channels, N = filters.
  GemmShape gemm() const;
};

// Reads a SCALE-Sim topology CSV (a header line, then one row per layer,
// trailing comma allowed). Throws ConfigError naming file, line and field.
std::vector<TopologyLayer> read_topology(const std::string& path);

}  // namespace isimdl
