#pragma once

#include <cstdint>
#include <string>

#include "hw/array_config.h"
#include "hw/fault_site.h"
#include "hw/layer_job.h"

namespace isimdl {

// The stimulus of the RTL testbench (tests/rtl/tb_pe_array.v) for one fold:
// a random GEMM job of M any, K <= R, N <= C streamed through an R x C
// array in `edges` cycles, and at most one fault through the saboteur port.
// The format, whitespace-separated decimal integers:
//   R C M K N EDGES
//   FAULT_CYCLE FAULT_KIND FAULT_INDEX FAULT_MASK    (FAULT_CYCLE -1: none)
//   W[n][k] for n < N, k < K          (the stationary rows, one per column)
//   A[m][k] for m < M, k < K          (the streamed vectors)
// FAULT_KIND is the register kind's saboteur code (RegisterInfo::rtl_saboteur).
// Input-stationary: the same array holds the activations and streams the
// filters, so the file's M and N are the GEMM's N and M, its W rows are
// A[m][k] and its A rows are W[n][k]. Output-stationary (its own array,
// tests/rtl/pe_array_os.v): M <= R rows and N <= C columns held, K any
// length streamed; the file's W and A rows are W[n][k] and A[m][k].
// Throws Error for a fault in a register the RTL array does not have.
std::string rtl_stimulus(const LayerJob& job, int rows, int cols, std::int64_t edges, const FaultSite* fault,
                         Dataflow dataflow = Dataflow::kWeightStationary);

// The saboteur code of the fault's register kind (throws Error when the RTL
// array does not have it), and the mask of the bits the fault flips.
int rtl_saboteur(RegisterGroup group);
std::uint64_t fault_bit_mask(const FaultSite& fault);

}  // namespace isimdl
