#pragma once

#include <cstdint>
#include <vector>

#include "hw/array_config.h"
#include "models/idx_reader.h"
#include "models/quantized_model.h"
#include "sampler/fault_space.h"
#include "sampler/liveness.h"
#include "sampler/sensitivity.h"

namespace isimdl {

// The mean site sensitivity of every block (layer, register group) of a
// fault space: for `samples` random live (register, cycle) pairs of the block and
// calibration images, the first-order loss change of a one-step change of
// the register's value (its lowest bit),
//   S = sum over changed accumulators j of  g_j * |delta acc_j|,
// with g_j = mean |dloss/dacc_j| (sampler/sensitivity.h) times the real value
// of one accumulator step (s_in * s_w[n]) and delta acc_j from the register
// oracle (hw/register_oracle.h): exact, including dead values (S = 0). The
// importance sampler weighs bits on top (a flip of bit b changes the value by
// 2^b).
std::vector<double> block_scores(const FaultSpace& space, const LiveSpace& live, const QuantizedModel& model,
                                 const ArrayConfig& array,
                                 const MnistSplit& data, int image_begin, int image_end,
                                 const std::vector<LayerSensitivity>& sensitivity, int samples, std::uint64_t seed);

}  // namespace isimdl
