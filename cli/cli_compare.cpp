#include <fmt/format.h>

#include <iostream>

#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>

#include "hw/accelerator.h"
#include "models/error.h"
#include "models/model_file.h"
#include "models/random.h"
#include "models/zoo.h"
#include "sampler/estimators.h"
#include "sampler/fault_space.h"
#include "sampler/importance_sampler.h"
#include "sampler/liveness.h"
#include "sampler/sensitivity.h"
#include "sampler/site_scores.h"
#include "runner/model_source.h"
#include "cli/cli.h"
#include "reporting/report.h"
#include "cli/cli_commands.h"
#include "campaign/campaign.h"
#include "config/config.h"
#include "runner/fault_simulator.h"
#include "campaign/mpi_ranks.h"
#include "campaign/progress.h"
#include "runner/run_report.h"

namespace isimdl {
namespace po = boost::program_options;
namespace {

// A sampler variant of the comparison: uniform, ISimDL, or an ablation.
struct Variant {
  std::string name;
  bool importance = false;
  ImportanceSampler::Options options;
  bool flat_blocks = false;  // bit weighting only: every block scores alike
};

std::vector<Variant> variants(const CampaignConfig& c, bool ablations) {
  std::vector<Variant> v{{"uniform", false, {}, false}};
  const ImportanceSampler::Options isimdl = CampaignImportance::options(c);
  v.push_back({"importance", true, isimdl, false});
  if (!ablations) return v;
  ImportanceSampler::Options magnitude = isimdl;
  magnitude.bit_exponent = 1.0;
  v.push_back({"importance_x1", true, magnitude, false});
  ImportanceSampler::Options no_bits = isimdl;
  no_bits.bit_weighting = false;
  v.push_back({"sensitivity_only", true, no_bits, false});
  v.push_back({"bits_only", true, isimdl, true});
  for (double eps : {1e-6, 0.5}) {
    ImportanceSampler::Options e = isimdl;
    e.epsilon = eps;
    v.push_back({fmt::format("epsilon_{}", eps), true, e, false});
  }
  return v;
}

struct Evaluated {
  FaultSite site;
  double weight = 1;
  double drop = 0;
};

int compare_body(const std::vector<std::string>& args, const std::string& prog, CliStreams& io, MpiRanks* mpi) {
  std::string config_path = "configs/campaigns/lenet5-isimdl.yaml", models_arg, out_dir = "results/compare";
  std::vector<std::string> overrides;
  int seeds = 5, max_faults = 1000;
  bool ablations = false;
  po::options_description desc("Options");
  bool quiet = false;
  desc.add_options()("config,c", po::value(&config_path)->default_value(config_path), "campaign configuration (YAML)")(
      "param,p", po::value(&overrides)->composing(), "override a configuration key (repeatable)")(
      "models", po::value(&models_arg), "comma-separated models (default: the config's model)")(
      "seeds", po::value(&seeds)->default_value(seeds), "seeds per sampler")(
      "faults", po::value(&max_faults)->default_value(max_faults), "faults per (model, sampler, seed)")(
      "ablations", po::bool_switch(&ablations), "also run the ablations (x = 1, no bit weighting, bits only, epsilon)")(
      "out", po::value(&out_dir)->default_value(out_dir), "output directory (CSVs, plots, results.md fragment)")(
      "quiet,q", po::bool_switch(&quiet), "no progress line (shown only on a terminal anyway)");
  po::variables_map values;
  if (parse_command_line(prog, "[--config FILE] [--models a,b] [--seeds N] [--ablations]", desc, {}, args, values, io))
    return kExitOk;
  Config config = load_config(config_path, overrides);
  std::vector<std::string> models;
  if (models_arg.empty()) {
    models.push_back(config.model);
  } else {
    std::stringstream ss(models_arg);
    for (std::string m; std::getline(ss, m, ',');) models.push_back(m);
  }
  std::filesystem::create_directories(out_dir);
  if (!mpi || mpi->rank() == 0) write_resolved_config(config, out_dir);
  const auto start = std::chrono::steady_clock::now();
  const MnistSplit data = load_split(config.dataset, "t10k");
  Accelerator& accelerator = shared_accelerator();
  accelerator.configure(config.array);
  std::vector<RegisterGroup> groups;
  for (const auto& g : config.campaign.groups) groups.push_back(register_group_from_name(g));
  std::vector<int> budgets;
  for (int b : {10, 25, 50, 100, 250, 500, 1000})
    if (b <= max_faults) budgets.push_back(b);
  const std::vector<double> thresholds{0.05, 0.25};
  std::string curve = "model,threshold,sampler,seed,budget,critical_found,precision,estimate,lo,hi\n";
  std::string by_group = "model,threshold,sampler,group,faults,critical\n";
  // (model, threshold, sampler, budget) -> precisions over seeds
  std::map<std::tuple<std::string, double, std::string, int>, std::vector<double>> precision;
  std::map<std::tuple<std::string, double, std::string, int>, Estimate> first_seed;
  for (const std::string& model_name : models) {
    const QuantizedModel model = open_model(model_name, config.dataset);
    check_model_input(model.arch, data.images, model_name, config.dataset.format);
    const FaultSpace space(model, config.array, groups, config.campaign.kind, config.campaign.adjacent_bits,
                           config.campaign.stuck_cycles, config.campaign.layers);
    // The campaign's own importance set-up (live sites, block scores); the
    // variants differ in their options only.
    const CampaignImportance importance(config, space, model, data);
    const LiveSpace& live = importance.live();
    const std::vector<double>& scores = importance.block_scores();
    FaultSimulator simulator(accelerator, model, data);
    const int golden = golden_correct(simulator, data, config.images);
    io.out << fmt::format("{}: {} sites, golden accuracy {:.2f}% on images {}\n", model_name, space.size(),
                          100.0 * golden / config.images.size(), to_string(config.images))
           << std::flush;
    const auto all_variants = variants(config.campaign, ablations);
    const std::size_t tasks = all_variants.size() * static_cast<std::size_t>(seeds);
    Progress line(std::cerr, model_name + ": faults evaluated", static_cast<std::int64_t>(tasks) * max_faults,
                  Progress::wanted(quiet) && !mpi);
    // One task per (variant, seed): its faults, drawn and evaluated; a
    // function of the task alone, so that ranks can share them.
    std::vector<std::unique_ptr<ImportanceSampler>> samplers(all_variants.size());
    auto draw_and_evaluate = [&](std::size_t task, const std::function<void()>& on_fault) {
      const std::size_t v = task / static_cast<std::size_t>(seeds);
      const Variant& variant = all_variants[v];
      const int seed = static_cast<int>(task % static_cast<std::size_t>(seeds)) + 1;
      if (variant.importance && !samplers[v]) {
        std::vector<double> block = scores;
        if (variant.flat_blocks) std::fill(block.begin(), block.end(), 1.0);
        samplers[v] = std::make_unique<ImportanceSampler>(space, live, block, variant.options);
      }
      Random random(config.campaign.seed * 1000 + static_cast<std::uint64_t>(seed));
      std::vector<Evaluated> faults;
      for (int f = 0; f < max_faults; ++f) {
        Evaluated e;
        if (variant.importance) {
          const auto d = samplers[v]->sample(random);
          e.site = d.site;
          e.weight = d.weight();
        } else {
          e.site = space.sample_uniform(random);
        }
        e.drop = evaluate_fault(simulator, data, config, golden, f, e.site).drop;
        faults.push_back(e);
        if (on_fault) on_fault();
      }
      return faults;
    };
    auto print_done = [&](const Variant& variant) {
      io.out << fmt::format("  {:<18} done ({:.0f} s)\n", variant.name,
                            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count())
             << std::flush;
    };
    std::vector<std::vector<Evaluated>> results(tasks);
    if (mpi) {
      // (variant, seed) tasks across the ranks; a result is each fault's
      // register group, weight and accuracy drop.
      const std::vector<std::string> bytes = mpi->farm(tasks, [&](std::size_t task) {
        std::string out;
        for (const Evaluated& e : draw_and_evaluate(task, {})) {
          const auto group = static_cast<std::int32_t>(e.site.group);
          out.append(reinterpret_cast<const char*>(&group), sizeof group);
          out.append(reinterpret_cast<const char*>(&e.weight), sizeof e.weight);
          out.append(reinterpret_cast<const char*>(&e.drop), sizeof e.drop);
        }
        return out;
      });
      if (mpi->rank() > 0) continue;  // every rank walks the same models
      constexpr std::size_t kSize = sizeof(std::int32_t) + 2 * sizeof(double);
      for (std::size_t t = 0; t < tasks; ++t) {
        if (bytes[t].size() != kSize * static_cast<std::size_t>(max_faults))
          throw Error("compare: a rank's result has the wrong size");
        for (std::size_t at = 0; at < bytes[t].size(); at += kSize) {
          Evaluated e;
          std::int32_t group = 0;
          std::memcpy(&group, bytes[t].data() + at, sizeof group);
          e.site.group = static_cast<RegisterGroup>(group);
          std::memcpy(&e.weight, bytes[t].data() + at + sizeof group, sizeof e.weight);
          std::memcpy(&e.drop, bytes[t].data() + at + sizeof group + sizeof e.weight, sizeof e.drop);
          results[t].push_back(e);
        }
      }
      for (const Variant& variant : all_variants) print_done(variant);
    } else {
      std::int64_t evaluated = 0;
      for (std::size_t t = 0; t < tasks; ++t) {
        results[t] = draw_and_evaluate(t, [&] { line.update(++evaluated); });
        if ((t + 1) % static_cast<std::size_t>(seeds) == 0) print_done(all_variants[t / static_cast<std::size_t>(seeds)]);
      }
    }
    for (std::size_t v = 0; v < all_variants.size(); ++v) {
      const Variant& variant = all_variants[v];
      for (int seed = 1; seed <= seeds; ++seed) {
        const std::vector<Evaluated>& faults = results[v * static_cast<std::size_t>(seeds) + static_cast<std::size_t>(seed - 1)];
        for (double threshold : thresholds) {
          std::vector<double> x, w;
          int found = 0;
          std::size_t next = 0;
          for (std::size_t f = 0; f < faults.size(); ++f) {
            const bool critical = faults[f].drop >= threshold;
            found += critical;
            x.push_back(critical ? 1.0 : 0.0);
            w.push_back(faults[f].weight);
            if (next < budgets.size() && static_cast<int>(f + 1) == budgets[next]) {
              const Estimate est = weighted_estimate(x, w);
              const double p = static_cast<double>(found) / static_cast<double>(f + 1);
              curve += fmt::format("{},{},{},{},{},{},{:.6f},{:.8f},{:.8f},{:.8f}\n", model_name, threshold, variant.name,
                                   seed, f + 1, found, p, est.value, std::max(0.0, est.lo), est.hi);
              precision[{model_name, threshold, variant.name, budgets[next]}].push_back(p);
              if (seed == 1) first_seed[{model_name, threshold, variant.name, budgets[next]}] = est;
              ++next;
            }
          }
          std::map<std::string, std::pair<int, int>> groups_seen;
          for (const auto& e : faults) {
            auto& g = groups_seen[register_info(e.site.group).group_name];
            ++g.first;
            g.second += e.drop >= threshold;
          }
          for (const auto& [g, counts] : groups_seen)
            by_group += fmt::format("{},{},{},{},{},{}\n", model_name, threshold, variant.name, g, counts.first, counts.second);
        }
      }
    }
  }
  if (mpi && mpi->rank() > 0) return kExitOk;
  write_file_atomically(out_dir + "/precision.csv", curve);
  write_file_atomically(out_dir + "/by_group.csv", by_group);
  // Mean and spread over seeds, and the gain over uniform sampling.
  std::string table = "| model | threshold | faults | uniform precision | importance precision | gain |\n|---|---|---|---|---|---|\n";
  auto mean_sd = [](const std::vector<double>& v) {
    double m = 0, s = 0;
    for (double x : v) m += x / static_cast<double>(v.size());
    for (double x : v) s += (x - m) * (x - m) / std::max<double>(1, static_cast<double>(v.size()) - 1);
    return std::make_pair(m, std::sqrt(s));
  };
  for (const std::string& model_name : models)
    for (double threshold : thresholds)
      for (int budget : budgets) {
        const auto [mu, su] = mean_sd(precision[{model_name, threshold, "uniform", budget}]);
        const auto [mi, si] = mean_sd(precision[{model_name, threshold, "importance", budget}]);
        table += fmt::format("| {} | {} | {} | {:.4f} ± {:.4f} | {:.4f} ± {:.4f} | {} |\n", model_name, threshold, budget,
                             mu, su, mi, si, mu > 0 ? fmt::format("{:.0f}×", mi / mu) : std::string(mi > 0 ? "∞ (uniform found none)" : "—"));
      }
  if (ablations) {
    table += "\n| model | threshold | sampler | precision at 100 faults | at 1000 faults |\n|---|---|---|---|---|\n";
    for (const std::string& model_name : models)
      for (double threshold : thresholds)
        for (const Variant& v : variants(config.campaign, true)) {
          const auto [m100, s100] = mean_sd(precision[{model_name, threshold, v.name, 100}]);
          const auto [m1000, s1000] = mean_sd(precision[{model_name, threshold, v.name, 1000}]);
          table += fmt::format("| {} | {} | {} | {:.4f} ± {:.4f} | {:.4f} ± {:.4f} |\n", model_name, threshold, v.name, m100,
                               s100, m1000, s1000);
        }
  }
  write_file_atomically(out_dir + "/table.md", table);
  io.out << table;
  // One CSV per figure, then plots when gnuplot is installed (scripts/setup
  // installs gnuplot-nox).
  // Points at the ends stay off the frame (offsets), and error bars of a
  // share stop at 0 (mean - sd clipped; a precision is never negative).
  std::string script = "set datafile separator ','\nset terminal pngcairo size 900,600\nset logscale x\n"
                       "set xlabel 'faults simulated'\nset key left top\nset offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05\n";
  for (const std::string& model_name : models)
    for (double threshold : thresholds) {
      // A model given as a path is named by its file's stem in file names.
      const std::string tag = fmt::format("{}_{}", std::filesystem::path(model_name).stem().string(), threshold);
      std::string precision_csv = "budget,uniform_mean,uniform_sd,importance_mean,importance_sd\n";
      std::string estimate_csv = "budget,importance_estimate,importance_lo,importance_hi,uniform_estimate,uniform_lo,uniform_hi\n";
      for (int budget : budgets) {
        const auto [mu, su] = mean_sd(precision[{model_name, threshold, "uniform", budget}]);
        const auto [mi, si] = mean_sd(precision[{model_name, threshold, "importance", budget}]);
        precision_csv += fmt::format("{},{:.6f},{:.6f},{:.6f},{:.6f}\n", budget, mu, su, mi, si);
        const Estimate ei = first_seed[{model_name, threshold, "importance", budget}];
        const Estimate eu = first_seed[{model_name, threshold, "uniform", budget}];
        estimate_csv += fmt::format("{},{:.8f},{:.8f},{:.8f},{:.8f},{:.8f},{:.8f}\n", budget, ei.value, std::max(0.0, ei.lo),
                                    ei.hi, eu.value, std::max(0.0, eu.lo), eu.hi);
      }
      write_file_atomically(out_dir + "/precision_" + tag + ".csv", precision_csv);
      write_file_atomically(out_dir + "/estimate_" + tag + ".csv", estimate_csv);
      script += fmt::format(
          "set output '{0}/precision_{1}.png'\nset ylabel 'precision (critical / simulated)'\n"
          "set title 'Precision against faults simulated, {2}, drop >= {3} (mean and sd over seeds)'\n"
          "plot '{0}/precision_{1}.csv' using 1:2:($2-$3>0?$2-$3:0):($2+$3) with yerrorlines title 'uniform', "
          "'{0}/precision_{1}.csv' using 1:4:($4-$5>0?$4-$5:0):($4+$5) with yerrorlines title 'ISimDL importance'\n",
          out_dir, tag, model_name, threshold);
      script += fmt::format(
          "set output '{0}/estimate_{1}.png'\nset ylabel 'estimated critical-fault rate'\n"
          "set title 'Estimate with 95% interval against faults simulated, {2}, drop >= {3} (seed 1)'\n"
          "plot '{0}/estimate_{1}.csv' using 1:2:3:4 with yerrorlines title 'importance (weighted)', "
          "'{0}/estimate_{1}.csv' using 1:5:6:7 with yerrorlines title 'uniform'\n",
          out_dir, tag, model_name, threshold);
    }
  switch (render_gnuplot(out_dir, "plots.gnuplot", script)) {
    case GnuplotRun::kRendered: break;
    case GnuplotRun::kFailed:
      io.err << "isimdl compare: gnuplot failed (see " << out_dir << "/gnuplot.log); the CSVs are written\n";
      break;
    case GnuplotRun::kMissing:
      io.err << "isimdl compare: gnuplot not found (scripts/setup installs gnuplot-nox); plots skipped\n";
      break;
  }
  io.out << fmt::format("wrote {}/precision.csv, by_group.csv, table.md ({:.0f} s)\n", out_dir,
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return kExitOk;
}

}  // namespace

// Under mpirun (several ranks) the (sampler, seed) pairs are shared among
// the ranks; rank 0 prints and writes, and an error on any rank ends the job.
int compare_command(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  return with_mpi_ranks(prog, io, false,
                        [&](CliStreams& rank_io, MpiRanks* mpi) { return compare_body(args, prog, rank_io, mpi); });
}

CliCommand compare_command_entry() {
  return {"compare", "ISimDL's experiment: importance against uniform sampling, precision and estimates", compare_command, {}};
}

}  // namespace isimdl
