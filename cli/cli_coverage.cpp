// `isimdl coverage`: how often each interval holds the truth, measured on a
// fault space small enough to evaluate exhaustively (docs/sampling.md,
// "Intervals").
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "campaign/campaign.h"
#include "campaign/coverage_study.h"
#include "campaign/progress.h"
#include "cli/cli.h"
#include "cli/cli_commands.h"
#include "config/config.h"
#include "hw/accelerator.h"
#include "models/error.h"
#include "models/zoo.h"
#include "runner/fault_simulator.h"
#include "runner/model_source.h"
#include "runner/run_report.h"
#include "sampler/fault_space.h"
#include "sampler/importance_sampler.h"

namespace isimdl {
namespace po = boost::program_options;
namespace {

template <typename T>
std::vector<T> parse_list(const std::string& text, const std::string& option) {
  std::vector<T> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    std::stringstream one(item);
    T v{};
    if (!(one >> v) || !(one >> std::ws).eof()) throw UsageError(fmt::format("--{}: expected a comma-separated list of numbers, got '{}'", option, text));
    out.push_back(v);
  }
  if (out.empty()) throw UsageError(fmt::format("--{}: empty list", option));
  return out;
}

int coverage_command(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  std::string config_path = "configs/campaigns/coverage-lenet5-logits.yaml", out_dir = "results/coverage";
  std::string thresholds_arg = "0.05,0.25,0.5,1", budgets_arg = "50,100,300,1000";
  std::vector<std::string> overrides;
  int seeds = 200;
  bool quiet = false, no_groups = false;
  po::options_description desc("Options");
  desc.add_options()("config,c", po::value(&config_path)->default_value(config_path),
                     "campaign configuration (YAML) whose fault space is evaluated exhaustively")(
      "param,p", po::value(&overrides)->composing(), "override a configuration key (repeatable)")(
      "thresholds", po::value(&thresholds_arg)->default_value(thresholds_arg),
      "critical-drop thresholds, each a measure (with top-1 SDC and any-SDC rates)")(
      "budgets", po::value(&budgets_arg)->default_value(budgets_arg), "faults per campaign at which intervals are read")(
      "seeds", po::value(&seeds)->default_value(seeds), "campaigns per sampler")(
      "no-groups", po::bool_switch(&no_groups), "skip the per-register-group rows")(
      "out", po::value(&out_dir)->default_value(out_dir), "output directory (coverage.csv, coverage.md)")(
      "quiet,q", po::bool_switch(&quiet), "no progress line (shown only on a terminal anyway)");
  po::variables_map values;
  if (parse_command_line(prog, "[--config FILE] [-p key=value ...] [--budgets 50,100] [--seeds N]", desc, {}, args, values, io))
    return kExitOk;
  if (seeds < 1) throw UsageError("--seeds: at least 1");
  CoverageOptions options;
  options.seeds = seeds;
  options.budgets = parse_list<int>(budgets_arg, "budgets");
  for (int b : options.budgets)
    if (b < 2) throw UsageError("--budgets: every budget must be at least 2");
  for (double t : parse_list<double>(thresholds_arg, "thresholds")) {
    if (!(t > 0 && t <= 1)) throw UsageError("--thresholds: each in (0, 1]");
    options.measures.push_back({Measure::Kind::kCritical, t});
  }
  options.measures.push_back({Measure::Kind::kTop1Sdc, 0});
  options.measures.push_back({Measure::Kind::kAnySdc, 0});
  options.per_group = !no_groups;
  const Config config = load_config(config_path, overrides);
  options.seed = config.campaign.seed;
  const auto start = std::chrono::steady_clock::now();
  Accelerator& accelerator = shared_accelerator();
  accelerator.configure(config.array);
  const CampaignInputs inputs = open_campaign_inputs(config);
  const QuantizedModel& model = inputs.model;
  const MnistSplit& data = inputs.data;
  const FaultSpace space = campaign_space(config, model);
  if (space.size() > 20'000'000)
    throw UsageError(fmt::format("coverage: the fault space has {} sites; restrict campaign.layers, campaign.groups or "
                                 "the array to at most 20,000,000 for an exhaustive truth", space.size()));
  io.out << fmt::format("fault space: {} sites over {} blocks; evaluating every site on images {}\n", space.size(),
                        space.blocks().size(), to_string(config.images))
         << std::flush;
  FaultSimulator simulator(accelerator, model, data);
  Progress line(std::cerr, "sites evaluated", static_cast<std::int64_t>(space.size()), Progress::wanted(quiet));
  const ExhaustiveTruth truth = exhaustive_truth(simulator, data, config, space, [&](std::uint64_t done, std::uint64_t) {
    line.update(static_cast<std::int64_t>(done));
  });
  line.finish();
  const CampaignImportance importance(config, space, model, data);
  const bool live_only = only_live_sites_matter(config.campaign.kind);
  const std::vector<CoverageRow> rows = coverage_study(truth, space, importance.sampler(), live_only, options);
  std::filesystem::create_directories(out_dir);
  write_resolved_config(config, out_dir);
  write_file_atomically(out_dir + "/coverage.csv", coverage_csv(rows));
  // The table: per sampler, measure and budget, each method's coverage.
  std::string md = fmt::format("Coverage of {:.0f}% intervals over {} campaigns per row; fault space of {} sites, "
                               "{} images, model {}.\n\n",
                               100 * options.confidence, seeds, space.size(), truth.images, config.model);
  md += "| sampler | measure | truth | faults | zero found |";
  for (IntervalMethod m : options.methods) md += fmt::format(" {} |", to_string(m));
  md += "\n|---|---|---|---|---|";
  for (std::size_t i = 0; i < options.methods.size(); ++i) md += "---|";
  md += "\n";
  std::map<std::tuple<std::string, std::string, int>, std::map<IntervalMethod, const CoverageRow*>> table;
  for (const CoverageRow& r : rows)
    if (r.structure == "all" && r.sampler != "stratified") table[{r.sampler, r.measure, r.budget}][r.method] = &r;
  for (const auto& [key, methods] : table) {
    const CoverageRow& first = *methods.begin()->second;
    md += fmt::format("| {} | {} | {:.3g} | {} | {:.0f}% |", std::get<0>(key), std::get<1>(key), first.truth,
                      std::get<2>(key), 100 * first.zero_found);
    for (IntervalMethod m : options.methods) md += fmt::format(" {:.1f}% |", 100 * methods.at(m)->coverage);
    md += "\n";
  }
  md += "\nStratified against plain importance sampling (the default interval; sd: of the estimates over the "
        "campaigns):\n\n| measure | truth | faults | importance coverage | sd | stratified coverage | sd | variance ratio |\n"
        "|---|---|---|---|---|---|---|---|\n";
  {
    std::map<std::pair<std::string, int>, std::pair<const CoverageRow*, const CoverageRow*>> pairs;
    for (const CoverageRow& r : rows)
      if (r.structure == "all" && r.method == EstimateOptions{}.method) {
        if (r.sampler == "importance") pairs[{r.measure, r.budget}].first = &r;
        if (r.sampler == "stratified") pairs[{r.measure, r.budget}].second = &r;
      }
    for (const auto& [key, p] : pairs)
      if (p.first && p.second)
        md += fmt::format("| {} | {:.3g} | {} | {:.1f}% | {:.3g} | {:.1f}% | {:.3g} | {:.2f} |\n", key.first, p.first->truth,
                          key.second, 100 * p.first->coverage, p.first->sd_estimate, 100 * p.second->coverage,
                          p.second->sd_estimate,
                          p.first->sd_estimate > 0 ? std::pow(p.second->sd_estimate / p.first->sd_estimate, 2) : 0.0);
  }
  md += fmt::format("\nStopping rules on a budget of {} faults (looks at 100, 200, 400, ... and the budget, each interval at "
                    "the per-look confidence): coverage of the interval where the rule stopped.\n\n"
                    "| sampler | measure | truth | rule | faults run (mean) | coverage |\n|---|---|---|---|---|---|\n",
                    *std::max_element(options.budgets.begin(), options.budgets.end()));
  for (const CoverageRow& r : rows)
    if (r.structure.rfind("stop@", 0) == 0)
      md += fmt::format("| {} | {} | {:.3g} | {} | {:.0f} | {:.1f}% |\n", r.sampler, r.measure, r.truth, r.structure.substr(5),
                        r.mean_faults, 100 * r.coverage);
  if (options.per_group) {
    md += "\nPer register group (AVF of the group), the default interval:\n\n| sampler | measure | group | truth | faults | coverage | mean estimate |\n|---|---|---|---|---|---|---|\n";
    for (const CoverageRow& r : rows)
      if (r.structure != "all" && r.structure.rfind("stop@", 0) != 0)
        md += fmt::format("| {} | {} | {} | {:.3g} | {} | {:.1f}% | {:.3g} |\n", r.sampler, r.measure, r.structure, r.truth,
                          r.budget, 100 * r.coverage, r.mean_estimate);
  }
  md += "\nWhere the truth lies in weight (share of each measure's total, and of q's draws, per weight bucket):\n\n" +
        weight_profile(truth, space, importance.sampler(), options.measures);
  write_file_atomically(out_dir + "/coverage.md", md);
  io.out << md;
  io.out << fmt::format("wrote {}/coverage.csv and coverage.md ({:.0f} s)\n", out_dir,
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return kExitOk;
}

}  // namespace

CliCommand coverage_command_entry() {
  return {"coverage",
          "measure the estimators' interval coverage against an exhaustive truth on a small fault space",
          coverage_command,
          {}};
}

}  // namespace isimdl
