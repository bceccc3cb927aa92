#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sampler/estimators.h"

namespace isimdl {

struct Config;
struct QuantizedModel;
struct MnistSplit;
class FaultSpace;
class FaultSimulator;
class ImportanceSampler;

// Every site of a campaign's fault space evaluated on the campaign's images
// (the exhaustive campaign, kept in memory): per flat site number, how many
// images the faulty accelerator classifies correctly and how many evaluations
// are top-1 SDCs and SDCs of any kind. The ground truth against which
// `isimdl coverage` measures the estimators.
struct ExhaustiveTruth {
  int images = 0;
  int golden_correct = 0;
  std::vector<std::uint8_t> correct, top1_sdc, any_sdc;  // per site; images <= 255
  std::uint64_t sites() const { return correct.size(); }
};
ExhaustiveTruth exhaustive_truth(FaultSimulator& simulator, const MnistSplit& data, const Config& config,
                                 const FaultSpace& space, const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});

// What a fault's x is in an estimate: critical at a relative accuracy drop
// threshold (0/1), or the share of its evaluations that are top-1 SDCs or
// SDCs of any kind (in [0, 1]).
struct Measure {
  enum class Kind { kCritical, kTop1Sdc, kAnySdc } kind = Kind::kCritical;
  double threshold = 0.05;
  std::string name() const;
  double value(const ExhaustiveTruth& truth, std::uint64_t site) const;
};

// One row of the coverage table: a sampler, a measure, a budget and an
// interval method over `seeds` independent campaigns.
struct CoverageRow {
  std::string sampler;  // uniform | importance | stratified
  std::string measure;
  std::string structure;  // "all", or a register group for per-structure rows
  double truth = 0;
  int budget = 0;
  IntervalMethod method = IntervalMethod::kScore;
  int seeds = 0;
  double coverage = 0;        // share of seeds whose interval holds the truth
  double below = 0, above = 0;  // ... whose interval lies below / above it
  double mean_estimate = 0;   // average estimate (unbiasedness)
  double sd_estimate = 0;     // standard deviation of the estimates over the seeds
  double mean_half_width = 0; // average half-width
  double zero_found = 0;      // share of seeds that found no x > 0
  double mean_faults = 0;     // faults simulated (a stopping rule's rows: on average, when it stopped)
};

struct CoverageOptions {
  std::vector<Measure> measures;
  std::vector<int> budgets{50, 100, 300, 1000};
  int seeds = 200;
  std::uint64_t seed = 1;
  std::vector<IntervalMethod> methods = interval_methods();
  double confidence = 0.95;
  bool per_group = true;  // also per register group, the default interval
  // Stopping rules simulated on the same draws (sampler/stopping.h), the
  // largest budget as their budget: relative margins, for every measure.
  std::vector<double> stop_relative_margins{0.5, 0.25};
  // Also stratified importance sampling (sampler/stratified.h): at each
  // budget, a pilot of this share of it from q, the rest by Neyman's
  // allocation over the (layer, register group) strata, from the pilot's
  // outcomes on the first measure.
  double stratified_pilot_share = 0.25;  // 0: no stratified rows
};

// Draws `seeds` campaigns of the largest budget from the uniform prior and
// from `importance`, each read at every budget as a prefix (as a campaign is
// after that many faults), and measures each interval against the truth.
std::vector<CoverageRow> coverage_study(const ExhaustiveTruth& truth, const FaultSpace& space,
                                        const ImportanceSampler& importance, bool live_only, const CoverageOptions& options);

std::string coverage_csv(const std::vector<CoverageRow>& rows);

// Where the truth lies in weight: per measure and power-of-two bucket of the
// importance weight p/q, the share of the measure's total and of q's mass.
// What an interval built from n draws can see: a bucket holding much of the
// truth but little of q is rarely drawn.
std::string weight_profile(const ExhaustiveTruth& truth, const FaultSpace& space, const ImportanceSampler& importance,
                           const std::vector<Measure>& measures);

}  // namespace isimdl
