#include "hw/rtl_stimulus.h"

#include <fmt/format.h>

#include "models/error.h"

namespace isimdl {

int rtl_saboteur(RegisterGroup group) {
  const int code = register_info(group).rtl_saboteur;
  if (code < 0)
    throw Error(fmt::format("group {}: the RTL testbench injects into the array's registers only (pe_*, skew, deskew)",
                            register_info(group).group_name));
  return code;
}

std::uint64_t fault_bit_mask(const FaultSite& fault) {
  const int bits = fault.kind == FaultKind::kAdjacentBits ? fault.width : 1;
  return ((std::uint64_t{1} << bits) - 1) << fault.bit;
}

std::string rtl_stimulus(const LayerJob& job, int rows, int cols, std::int64_t edges, const FaultSite* fault,
                         Dataflow dataflow) {
  const int m = job.gemm.m, k = job.gemm.k, n = job.gemm.n;
  // The testbench plays one fold of a stationary matrix (its "weights", one
  // row of K per array column) and a streamed one (its "activations", one
  // row of K per vector), whatever they hold: weight-stationary W and A,
  // input-stationary A and W.
  const bool is = dataflow == Dataflow::kInputStationary;
  std::string text = fmt::format("{} {} {} {} {} {}\n", rows, cols, is ? n : m, k, is ? m : n, edges);
  text += fault ? fmt::format("{} {} {} {}\n", fault->cycle, rtl_saboteur(fault->group), fault->index,
                              fault_bit_mask(*fault))
                : std::string("-1 0 0 0\n");
  std::string weights, activations;
  for (std::size_t i = 0; i < job.weight.size(); ++i)
    weights += fmt::format("{}{}", int{job.weight[i]}, (static_cast<int>(i) + 1) % k ? ' ' : '\n');
  // The job is a 1 x M image of K channels: A[m][k] is input element k * M + m.
  for (int mm = 0; mm < m; ++mm)
    for (int kk = 0; kk < k; ++kk)
      activations += fmt::format("{}{}", int{job.input[static_cast<std::size_t>(kk) * m + mm]}, kk + 1 < k ? ' ' : '\n');
  return text + (is ? activations + weights : weights + activations);
}

}  // namespace isimdl
