#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "hw/fault_site.h"
#include "models/idx_reader.h"
#include "models/quantized_model.h"
#include "sampler/fault_space.h"
#include "sampler/importance_sampler.h"
#include "sampler/liveness.h"
#include "config/config.h"
#include "campaign/results_store.h"

namespace isimdl {

class MpiRanks;

struct CampaignOptions {
  std::string config_path;      // for messages
  std::string fault_list;       // run this list instead of sampling
  std::string emit_fault_list;  // write the list and stop
  std::string database;         // default <output.dir>/campaign.sqlite (a shard: campaign.shard-I-of-N.sqlite)
  bool resume = false;
  bool quiet = false;
  int jobs = 0;                 // 0: campaign.jobs
  double fault_timeout_seconds = 60;  // a worker stuck longer on one fault is killed (hang isolation)
  bool simulate_all = false;          // no register oracle: every fault's layer simulated cycle by cycle
  // Run only shard `shard_index` of `shard_count`: the faults whose index is
  // shard_index modulo shard_count, into this shard's own results file
  // (isimdl results merge joins the shards; docs/campaigns.md).
  int shard_index = 0, shard_count = 1;
  // The MPI job this process is a rank of (`mpirun -n N isimdl campaign`),
  // or none: rank 0 runs the campaign and writes every row, the other ranks
  // evaluate the faults it hands out (run_campaign returns an empty summary
  // on them). --jobs does not apply: a rank evaluates one fault at a time,
  // in a forked worker, with --jobs' isolation.
  MpiRanks* mpi = nullptr;
  // Self-test hooks of the worker isolation tests: a worker crashes (SIGSEGV)
  // on the fault with this index, crashes on its first attempt only, or
  // hangs on it (-1: never). The command line sets them from the environment
  // (CampaignOptions::test_hooks_from_environment); library callers set them directly.
  std::int64_t crash_at_fault = -1, crash_once_at_fault = -1, hang_at_fault = -1;
  // ISIMDL_TEST_CRASH_AT_FAULT, ISIMDL_TEST_CRASH_ONCE_AT_FAULT, ISIMDL_TEST_HANG_AT_FAULT.
  void test_hooks_from_environment();
};

struct CampaignSummary {
  // planned: the campaign's faults (this shard's, for a shard)
  std::int64_t planned = 0, run_now = 0, skipped = 0, critical = 0;  // critical: among the measured faults
  double seconds = 0;
  std::string database;
  std::int64_t sim_errors = 0;  // faults recorded as simulator errors (outside every rate)
  bool stopping_rule = false;   // the campaign had a stopping rule
  std::int64_t stopped_at = 0;  // the look at which it was met (0: never; the budget ran out)
  std::string stop_reason;
};

// Runs a fault campaign (docs/campaigns.md): samples or reads the fault
// list, evaluates every fault on the images through the fast path, stores
// each fault's result transactionally, and carries on after a crashed or hung
// worker: a hang past the fault timeout is the fault's DUE; a crash is
// retried once and then recorded as a simulator error, kept out of every
// rate and estimate and run again by --resume.
CampaignSummary run_campaign(const Config& config, const CampaignOptions& options, std::ostream& out,
                             std::ostream& progress);

// The campaign's fault list: `campaign.faults` sites drawn with
// `campaign.seed` from the uniform prior or from ISimDL's importance
// distribution (with their weights p/q), or every site for `faults: all`.
// What a campaign runs on: its model (resolved path and network) and its
// test images, checked against the configured image range.
struct CampaignInputs {
  std::string model_path;
  QuantizedModel model;
  MnistSplit data;
};
CampaignInputs open_campaign_inputs(const Config& config);

struct FaultList {
  std::vector<FaultSite> faults;
  std::vector<double> weights;  // p/q per fault; 1 for uniform and exhaustive
  // Per block of the space: the largest weight of a site that can have a
  // non-zero outcome (ImportanceSampler::max_weight; 1 for uniform and
  // exhaustive lists). Empty for a list read from a file: not known.
  std::vector<double> block_max_weight;
};
// Whether only live sites can change an output: true for faults that act
// on one edge (bit flips, adjacent bits), whose flip of a dead value is
// always masked (LiveSpace.DeadSitesHaveNoEffect); a stuck-at held over
// several edges can reach a later live cycle.
bool only_live_sites_matter(FaultKind kind);
// The stopping rule a campaign configuration asks for (sampler/stopping.h).
struct StoppingRule;
StoppingRule stopping_rule(const CampaignConfig& campaign);
// An importance campaign's sampler is built here unless `importance` is
// given. A stratified campaign's list holds its pilot only: the rest is
// drawn once the pilot ran (run_campaign; sampler/stratified.h).
class CampaignImportance;
FaultList sample_fault_list(const Config& config, const FaultSpace& space, const QuantizedModel& model,
                            const MnistSplit& data, std::ostream& out, const CampaignImportance* importance = nullptr);

// The register groups campaign.groups enables, and the fault space of the
// configuration (array, groups, kind, layers).
std::vector<RegisterGroup> enabled_groups(const Config& config);

// The fault space's blocks as a results file keeps them (CampaignInfo::blocks),
// with the largest importance weight of each block's sites (empty: unknown).
std::vector<SpaceBlockRecord> space_block_records(const FaultSpace& space, const std::vector<double>& block_max_weight);
FaultSpace campaign_space(const Config& config, const QuantizedModel& model);

// ISimDL's importance distribution for a configuration (its images, array,
// groups, epsilon and bit weighting): sensitivities from the network's
// gradients, site scores from the register oracle, liveness from the
// schedule. Refers to `space`, which must outlive it.
class CampaignImportance {
 public:
  CampaignImportance(const Config& config, const FaultSpace& space, const QuantizedModel& model, const MnistSplit& data);
  const ImportanceSampler& sampler() const { return *sampler_; }
  // What the sampler is built from: the live sites and the per-block scores
  // (sensitivities on up to 32 of the campaign's images), for samplers of
  // other options over the same space (`isimdl compare`'s variants).
  const LiveSpace& live() const { return live_; }
  const std::vector<double>& block_scores() const { return scores_; }
  // The importance options a campaign configuration asks for.
  static ImportanceSampler::Options options(const CampaignConfig& campaign);

 private:
  LiveSpace live_;
  std::vector<double> scores_;
  std::unique_ptr<ImportanceSampler> sampler_;
};

// How many of the campaign's images the golden model classifies correctly
// (fills the simulator's golden cache).
class FaultSimulator;
struct ImageRange;
int golden_correct(FaultSimulator& simulator, const MnistSplit& data, const ImageRange& images);
// One fault over every image of the campaign: outcome and death-point counts,
// accuracy, relative drop against `golden_correct`, critical or not.
FaultRecord evaluate_fault(FaultSimulator& simulator, const MnistSplit& data, const Config& config, int golden_correct,
                           std::int64_t index, const FaultSite& site);

// Outcome rates per register group and per layer, printed from a results
// file, and the population estimates with their intervals.
void print_summary(ResultsStore& store, std::ostream& out);
// The population estimates of a campaign: over the whole space and per
// register group, layer, bit and (the `top_pes` highest) PE.
void print_population_estimates(const CampaignInfo& info, const std::vector<FaultRecord>& records, std::ostream& out,
                                int top_pes = 10);
void export_results(ResultsStore& store, const std::string& format, std::ostream& out);

}  // namespace isimdl
