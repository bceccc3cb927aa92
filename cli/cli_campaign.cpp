#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <fstream>
#include <iostream>
#include <memory>
#include <ostream>
#include <sstream>

#include "models/error.h"
#include "campaign/campaign.h"
#include "campaign/mpi_ranks.h"
#include "campaign/population_estimates.h"
#include "campaign/results_merge.h"
#include "cli/cli.h"
#include "cli/cli_commands.h"
#include "config/config.h"
#include "campaign/results_store.h"

namespace isimdl {
namespace po = boost::program_options;
namespace {

int campaign_run(const Config& config, const std::string& config_path, const CampaignOptions& o, CliStreams& io);

int campaign_command(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  std::string config_path = "configs/default.yaml", array_path, model, images, inputs, labels, out_dir, target_margin,
              until_critical, shard;
  bool relative = false, force_mpi = false;
  std::vector<std::string> overrides;
  CampaignOptions o;
  po::options_description desc("Options");
  desc.add_options()("config,c", po::value(&config_path)->default_value(config_path), "campaign configuration (YAML)")(
      "array", po::value(&array_path), "array configuration file (its array: section replaces the config's)")(
      "param,p", po::value(&overrides)->composing(), "override a configuration key: -p key.path=value (repeatable)")(
      "model", po::value(&model), "zoo name, model file or ONNX file (overrides model)")(
      "images", po::value(&images), "test images begin:end (overrides dataset.images)")(
      "inputs", po::value(&inputs), "images from a .npy file (dataset.format npy, dataset.inputs)")(
      "labels", po::value(&labels), "labels from a .npy file (dataset.labels)")(
      "out", po::value(&out_dir), "results directory (overrides output.dir)")(
      "target-margin", po::value(&target_margin),
      "stop at the first look (100, 200, 400, ... faults) where the critical rate's interval half-width is at most M "
      "(campaign.target_margin; the fault budget is campaign.faults)")(
      "relative", po::bool_switch(&relative), "--target-margin is half-width / estimate (campaign.relative_margin)")(
      "until-critical", po::value(&until_critical),
      "stop at the first look with at least N critical faults (campaign.until_critical)")(
      "fault-list", po::value(&o.fault_list), "run the faults of this TSV file instead of sampling")(
      "emit-fault-list", po::value(&o.emit_fault_list), "write the sampled fault list to this TSV file and stop")(
      "db", po::value(&o.database), "results file (default <output.dir>/campaign.sqlite; a shard's: campaign.shard-I-of-N.sqlite)")(
      "resume", po::bool_switch(&o.resume), "continue a killed campaign: run only the faults not yet in the results")(
      "jobs,j", po::value(&o.jobs)->default_value(0), "worker processes (default campaign.jobs)")(
      "mpi", po::bool_switch(&force_mpi),
      "run as a rank of an MPI job even when the launcher's environment does not say so (mpirun is detected)")(
      "shard", po::value(&shard),
      "run only shard I of N (I/N, 0 <= I < N): the faults whose index is I modulo N, into this shard's own results "
      "file (--db); isimdl results merge joins the shards")(
      "fault-timeout", po::value(&o.fault_timeout_seconds)->default_value(o.fault_timeout_seconds),
      "seconds one fault may take before its worker is killed and the fault recorded as due")(
      "quiet,q", po::bool_switch(&o.quiet), "no progress output")(
      "no-oracle", po::bool_switch(&o.simulate_all),
      "simulate every fault's layer cycle by cycle instead of using the register oracle (for cross-checks)");
  po::variables_map values;
  if (parse_command_line(prog, "[--config FILE] [-p key=value]... [--resume] [--jobs N]", desc, {}, args, values, io))
    return kExitOk;
  if (o.jobs < 0 || o.jobs > 256) throw UsageError(fmt::format("{}: --jobs: expected 1..256 (0: campaign.jobs), got {}", prog, o.jobs));
  if (!(o.fault_timeout_seconds > 0) || !std::isfinite(o.fault_timeout_seconds))
    throw UsageError(fmt::format("{}: --fault-timeout: expected a positive number of seconds, got {}", prog, o.fault_timeout_seconds));
  for (const auto& [value, key] : std::vector<std::pair<std::string, std::string>>{
           {model, "model"}, {images, "dataset.images"}, {inputs, "dataset.inputs"}, {labels, "dataset.labels"},
           {out_dir, "output.dir"}, {target_margin, "campaign.target_margin"}, {until_critical, "campaign.until_critical"}})
    if (!value.empty()) overrides.push_back(key + "=" + value);
  if (relative) {
    if (target_margin.empty()) throw UsageError(prog + ": --relative needs --target-margin");
    overrides.push_back("campaign.relative_margin=true");
  }
  if (!inputs.empty()) overrides.push_back("dataset.format=npy");
  Config config = load_config(config_path, overrides);
  if (!array_path.empty()) config.array = load_config(array_path, overrides).array;
  if (!shard.empty()) {
    const auto slash = shard.find('/');
    std::size_t used_i = 0, used_n = 0;
    try {
      if (slash == std::string::npos) throw std::invalid_argument("no /");
      o.shard_index = std::stoi(shard.substr(0, slash), &used_i);
      o.shard_count = std::stoi(shard.substr(slash + 1), &used_n);
    } catch (const std::exception&) {
      used_i = 0;
    }
    if (used_i == 0 || used_i != slash || used_n == 0 || slash + 1 + used_n != shard.size() || o.shard_count < 1 ||
        o.shard_index < 0 || o.shard_index >= o.shard_count)
      throw UsageError(fmt::format("{}: --shard: expected I/N with 0 <= I < N (e.g. 2/8), got '{}'", prog, shard));
  }
  o.config_path = config_path;
  o.test_hooks_from_environment();
  // Under mpirun (several ranks): rank 0 prints and writes, the others
  // evaluate; an error on any rank ends the whole job.
  return with_mpi_ranks(prog, io, force_mpi, [&](CliStreams& rank_io, MpiRanks* mpi) {
    o.mpi = mpi;
    return campaign_run(config, config_path, o, rank_io);
  });
}

int campaign_run(const Config& config, const std::string& config_path, const CampaignOptions& o, CliStreams& io) {
  io.out << "isimdl campaign: " << config_path << "\n";
  Config shown = config;  // the summary names the workers --jobs asked for
  if (o.jobs > 0) shown.campaign.jobs = o.jobs;
  print_config_summary(shown, io.out);
  const CampaignSummary s = run_campaign(config, o, io.out, o.mpi && o.mpi->rank() > 0 ? io.out : std::cerr);
  if (o.mpi && o.mpi->rank() > 0) return kExitOk;
  if (!o.emit_fault_list.empty()) return kExitOk;
  io.out << fmt::format("{} faults run now ({} were already done) in {:.1f} s: {:.1f} faults/s, {:.1f} (fault, image) "
                        "evaluations/s; {} critical of {} in {}\n",
                        s.run_now, s.skipped, s.seconds, s.run_now / std::max(s.seconds, 1e-9),
                        s.run_now * config.images.size() / std::max(s.seconds, 1e-9), s.critical, s.planned, s.database);
  if (s.stopped_at > 0 && s.stopped_at < s.planned)
    io.out << fmt::format("stopped after {} of the {} budgeted faults: {}\n", s.stopped_at, s.planned, s.stop_reason);
  else if (s.stopped_at > 0)
    io.out << fmt::format("the stopping rule was met at the budget, {} faults: {}\n", s.planned, s.stop_reason);
  else if (s.stopping_rule)
    io.out << fmt::format("the budget of {} faults ran out before the stopping rule was met\n", s.planned);
  if (s.sim_errors > 0)
    io.out << fmt::format("{} faults are simulator errors (a worker crashed on each twice); they are outside every rate "
                          "below, and --resume runs them again\n",
                          s.sim_errors);
  ResultsStore store(s.database);
  print_summary(store, io.out);
  return kExitOk;
}

int results_summary(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  std::string path;
  po::options_description desc("Options");
  desc.add_options()("db", po::value(&path)->required(), "campaign results file (.sqlite)");
  po::positional_options_description pos;
  pos.add("db", 1);
  po::variables_map values;
  if (parse_command_line(prog, "RESULTS.sqlite", desc, pos, args, values, io)) return kExitOk;
  if (!std::ifstream(path)) throw Error(path + ": no such results file");
  ResultsStore store(path, ResultsStore::Mode::kReadOnly);
  print_summary(store, io.out);
  return kExitOk;
}

int results_export(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  std::string path, format = "csv", breakdown;
  po::options_description desc("Options");
  desc.add_options()("db", po::value(&path)->required(), "campaign results file (.sqlite)")(
      "format", po::value(&format)->default_value(format), "csv or json (fault rows)")(
      "breakdown", po::value(&breakdown),
      "instead of fault rows, the population estimates (critical, top-1 SDC and any-SDC rates with 95% intervals) "
      "per structure as CSV: group, layer, pe or bit");
  po::positional_options_description pos;
  pos.add("db", 1);
  po::variables_map values;
  if (parse_command_line(prog, "RESULTS.sqlite [--format csv|json | --breakdown group|layer|pe|bit]", desc, pos, args,
                         values, io))
    return kExitOk;
  if (format != "csv" && format != "json") throw UsageError(prog + ": --format must be csv or json, got '" + format + "'");
  if (!breakdown.empty() && std::find(breakdown_names().begin(), breakdown_names().end(), breakdown) == breakdown_names().end())
    throw UsageError(prog + ": --breakdown must be group, layer, pe or bit, got '" + breakdown + "'");
  if (!breakdown.empty() && values.count("format") && !values["format"].defaulted())
    throw UsageError(prog + ": --breakdown writes CSV; leave out --format");
  if (!std::ifstream(path)) throw Error(path + ": no such results file");
  ResultsStore store(path, ResultsStore::Mode::kReadOnly);
  if (!breakdown.empty()) {
    const PopulationEstimates p = population_estimates(store.info(), store.read_all());
    if (!p.have_space)
      throw Error(path + ": the results file does not record its fault space (written before isimdl kept it); rerun "
                         "the campaign for per-structure estimates");
    io.out << structure_csv(p, breakdown);
    return kExitOk;
  }
  export_results(store, format, io.out);
  return kExitOk;
}

int results_merge(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  std::vector<std::string> inputs;
  std::string out_path;
  po::options_description desc("Options");
  desc.add_options()("shards", po::value(&inputs)->multitoken(), "the shards' results files (.sqlite)")(
      "out,o", po::value(&out_path)->required(), "the merged results file to write (must not exist)");
  po::positional_options_description pos;
  pos.add("shards", -1);
  po::variables_map values;
  if (parse_command_line(prog, "SHARD.sqlite... --out ALL.sqlite", desc, pos, args, values, io)) return kExitOk;
  if (inputs.empty()) throw UsageError(prog + ": name the shards' results files to merge");
  merge_results(inputs, out_path, io.out);
  return kExitOk;
}

}  // namespace

std::vector<CliCommand> campaign_commands() {
  return {
      {"campaign", "run a register-level fault campaign; results in SQLite", campaign_command, {}},
      {"results",
       "summarise or export campaign results",
       nullptr,
       {{"summary", "outcome rates per register group and per layer", results_summary, {}},
        {"export", "all fault rows as CSV or JSON, or per-structure population estimates (--breakdown)", results_export, {}},
        {"merge", "join the results files of a campaign's shards (campaign --shard I/N) into one", results_merge, {}}}},
  };
}

}  // namespace isimdl
