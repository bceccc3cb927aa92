#pragma once

#include <string>
#include <vector>

#include "campaign/fault_record.h"
#include "campaign/results_store.h"
#include "sampler/estimators.h"

namespace isimdl {

// What a fault's x is in a population estimate: critical (0/1), or the
// share of its evaluations that are top-1 SDCs (top-1 changed) or SDCs of
// any kind (logits changed, no DUE).
enum class RateKind { kCritical, kTop1Sdc, kAnySdc };
inline constexpr int kRateKinds = 3;
const char* to_string(RateKind kind);
double rate_value(const FaultRecord& r, RateKind kind);

// A structure's population rates: over every site of the structure (a
// register group, a layer, a PE, a bit position) of the campaign's fault
// space, not over the faults simulated — its architectural vulnerability
// factor, importance-weighted (sampler/estimators.h: part_estimate).
struct StructureEstimate {
  std::string breakdown;  // group | layer | pe | bit
  std::string structure;  // pe_psum, 11, 3_5 (row_column), 31
  double share = 0;       // the structure's share of the fault space
  std::int64_t faults = 0;  // measured faults drawn in it
  Estimate rate[kRateKinds];
};

struct PopulationEstimates {
  bool exact = false;         // an exhaustive campaign: every estimate is exact
  bool have_space = false;    // the results file records its fault space (per-structure rows need it)
  Estimate rate[kRateKinds];  // over the whole space
  Estimate drop;              // mean relative accuracy drop (normal interval: a drop can be negative)
  std::vector<StructureEstimate> structures;
};

// The breakdowns: by register group, layer, PE (PE registers only: pe_*) and
// bit position.
const std::vector<std::string>& breakdown_names();

// From a campaign's stored identity and rows: the population estimates over
// the whole space and per structure of each breakdown.
PopulationEstimates population_estimates(const CampaignInfo& info, const std::vector<FaultRecord>& records,
                                         const EstimateOptions& options = {});

// One breakdown's table: breakdown,structure,share,faults and, per rate,
// its estimate, lo, hi.
std::string structure_csv(const PopulationEstimates& estimates, const std::string& breakdown);

}  // namespace isimdl
