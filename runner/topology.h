#pragma once

#include <string>
#include <vector>

#include "models/architecture.h"

namespace isimdl {

// One row of a SCALE-Sim topology file:
//   name, ifmap h, ifmap w, filter h, filter w, channels, filters, stride[, stride w],
// (one stride: both directions). SCALE-Sim maps convolutions without padding
// (give the padded input size) and sizes the output as SCALE-Sim v2 does:
// ceil((ifmap - filter + stride) / stride) per direction, one more than
// floor((ifmap - filter) / stride) + 1 when the stride does not divide
// ifmap - filter (its last window reaches past the ifmap).
struct TopologyLayer {
  std::string name;
  int ifmap_h = 0, ifmap_w = 0, filter_h = 0, filter_w = 0, channels = 0, filters = 0, stride_h = 1, stride_w = 1;
  int line = 0;  // in the file, for messages

  int ofmap_h() const;
  int ofmap_w() const;
  // The GEMM the layer lowers to: M = ofmap_h*ofmap_w, K = filter_h*filter_w*channels, N = filters.
  GemmShape gemm() const;
};

// SCALE-Sim v2's output size of one direction: ceil((in - filter + stride) / stride).
int scalesim_output_size(int in, int filter, int stride);

// Reads a SCALE-Sim topology CSV (a header line, then one row per layer,
// trailing comma allowed). Throws ConfigError naming file, line and field.
std::vector<TopologyLayer> read_topology(const std::string& path);

}  // namespace isimdl
