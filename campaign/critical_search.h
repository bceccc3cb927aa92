#pragma once

#include <cstdint>
#include <iosfwd>
#include <vector>

#include "hw/fault_site.h"
#include "config/config.h"

namespace isimdl {

struct QuantizedModel;
struct MnistSplit;

// Finding faults that cause a given accuracy drop (ISimDL's second use:
// the faults fault-aware training hardens against).
struct CriticalSearchOptions {
  double drop = 0.10;  // relative accuracy drop on the evaluation images, as campaign.critical_drop
  int count = 3;       // distinct faults to find
  std::int64_t max_simulations = 1'000'000;  // give up after this many faults simulated
  bool show_progress = false;  // a progress line on stderr (Progress)
};

struct CriticalFault {
  FaultSite site;
  double accuracy = 0;         // on the evaluation images, with the fault
  double drop = 0;             // relative to the golden accuracy
  std::int64_t simulations = 0;  // faults simulated when it was found
  double seconds = 0;
};

struct CriticalSearchResult {
  std::vector<CriticalFault> found;
  std::int64_t draws = 0;        // faults drawn (repeats of a site already simulated are not simulated again)
  std::int64_t simulations = 0;  // distinct faults simulated
  std::int64_t evaluations = 0;  // (fault, image) pairs simulated
  double seconds = 0;            // wall time of the search (setup included)
  double setup_seconds = 0;      // of which building the sampler (sensitivities, site scores)
  double golden_accuracy = 0;
  bool budget_exhausted = false;
};

// Draws faults from config.campaign.sampler (uniform, or ISimDL's importance
// distribution) with config.campaign.seed, simulates each on the images of
// config.images (fast path) and stops once `count` distinct faults reach the
// drop. A fault's images stop early once the drop can no longer be reached
// (exact: it changes no decision). Deterministic for a seed.
CriticalSearchResult find_critical(const Config& config, const QuantizedModel& model, const MnistSplit& data,
                                   const CriticalSearchOptions& options, std::ostream& progress);

}  // namespace isimdl
