#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hw/fault_site.h"
#include "hw/register_oracle.h"

namespace isimdl {

// The software-level equivalent of a register-level fault: what it does to
// the tensors of the layer it hits, derived from the schedule and the
// fault's cycle, register and bit alone (hw/register_oracle.h), without
// simulating. Applying it to the golden layer output (apply_equivalent) gives
// exactly the layer output the cycle-level model computes with the fault
// injected — tests/test_fault_equivalent.cpp checks this on random faults of
// every register group against simulation.
//
// Expressible: every single-edge fault (bit flip, adjacent bits, stuck-at
// lasting one edge) of every register group. Not expressible, and reported
// as such (never approximated): stuck-at faults held over several edges,
// whose later edges act on a state the earlier ones already changed.
struct FaultEquivalent {
  bool expressible = true;
  std::string not_expressible;  // why, when !expressible
  InjectionRecord injection;    // the register's value before and after the fault
  RegisterOracle::Holding held;  // the tensor element the register held
  // Changes to final accumulators (int32, wrapping); one output may appear
  // more than once (an operand used by several MACs of it).
  std::vector<RegisterOracle::Change> accumulators;
  // int8 outputs overwritten after requantization (output_buffer words).
  struct OutputWrite {
    int m = 0;
    int n = 0;
    std::int8_t value = 0;
  };
  std::vector<OutputWrite> outputs;
  // The fault changes nothing of the layer: its value is dead.
  bool dead() const { return expressible && accumulators.empty() && outputs.empty(); }
};

// Checks the fault against the layer (register instance, bit range, cycle)
// and throws Error naming what is wrong; then derives its equivalent.
FaultEquivalent fault_equivalent(const LayerOracle& layer, const FaultSite& fault);

// What an expressible equivalent changes of a layer's golden accumulators and
// outputs ([n][m] element indices, as the reference engine lays them out):
// each accumulator whose final value differs, with that value, and each int8
// output that differs, with its faulty value (accumulator changes
// requantized, then output writes). Each element at most once.
struct LayerChange {
  std::vector<std::pair<std::int64_t, std::int32_t>> acc;
  std::vector<std::pair<std::int64_t, std::int8_t>> out;
};
LayerChange equivalent_change(const FaultEquivalent& equivalent, const LayerJob& job, const std::vector<std::int32_t>& acc,
                              const std::vector<std::int8_t>& out);

// Applies an expressible equivalent to a layer's accumulators and outputs
// ([n][m], as the reference engine lays them out): every accumulator change,
// requantized, then every output write. Throws for an unexpressible one.
void apply_equivalent(const FaultEquivalent& equivalent, const LayerJob& job, std::vector<std::int32_t>& acc,
                      std::vector<std::int8_t>& out);

// The equivalent in words, e.g. "weight w[3][1][2][0] reads 0x7f instead of
// 0x3f for output pixels 17..63 of channel 3", with how many int8 outputs it
// changes after requantization. `acc` and `out` are the golden layer output.
std::string explain_equivalent(const FaultEquivalent& equivalent, const FaultSite& fault, const LayerOracle& layer,
                               const std::vector<std::int32_t>& acc, const std::vector<std::int8_t>& out);

}  // namespace isimdl
