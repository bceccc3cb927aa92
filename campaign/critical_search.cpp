#include "campaign/critical_search.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <ostream>
#include <unordered_set>

#include "hw/accelerator.h"
#include "models/error.h"
#include "models/idx_reader.h"
#include "models/random.h"
#include <iostream>

#include "campaign/campaign.h"
#include "runner/fault_simulator.h"
#include "campaign/progress.h"

namespace isimdl {

CriticalSearchResult find_critical(const Config& config, const QuantizedModel& model, const MnistSplit& data,
                                   const CriticalSearchOptions& options, std::ostream& progress) {
  if (!(options.drop > 0 && options.drop <= 1)) throw Error(fmt::format("--drop must be in (0, 1], got {}", options.drop));
  if (options.count < 1) throw Error(fmt::format("--count must be at least 1, got {}", options.count));
  if (config.images.end > data.images.count)
    throw Error(images_past_end_message(config, data.images.count, config.dataset.format == "npy" ? config.dataset.inputs : config.dataset.resolved_dir()));
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  Accelerator& accelerator = shared_accelerator();
  accelerator.configure(config.array);
  FaultSimulator simulator(accelerator, model, data);
  const FaultSpace space = campaign_space(config, model);
  std::unique_ptr<CampaignImportance> importance;
  if (config.campaign.sampler == SamplerKind::kImportance)
    importance = std::make_unique<CampaignImportance>(config, space, model, data);
  CriticalSearchResult result;
  const int images = config.images.size();
  const int golden = golden_correct(simulator, data, config.images);
  result.golden_accuracy = static_cast<double>(golden) / images;
  if (golden == 0)
    throw Error(fmt::format("the fault-free model classifies none of images {} correctly: no accuracy drop can be measured "
                            "(a model not trained for these labels? images without labels are labelled with its own "
                            "predictions)", to_string(config.images)));
  result.setup_seconds = elapsed();
  // Relative drop >= d  <=>  correct <= golden * (1 - d): the most correct
  // images a critical fault may leave (with a little slack for rounding).
  const int allowed = static_cast<int>(std::floor(golden * (1.0 - options.drop) + 1e-9));
  Random random(config.campaign.seed);
  std::unordered_set<std::uint64_t> seen;
  Progress line(std::cerr, "critical faults found", options.count, options.show_progress);
  while (static_cast<int>(result.found.size()) < options.count) {
    line.update(static_cast<std::int64_t>(result.found.size()), fmt::format("{} faults simulated", result.simulations));
    if (result.simulations >= options.max_simulations) {
      result.budget_exhausted = true;
      break;
    }
    const FaultSite site =
        importance ? importance->sampler().sample(random).site : space.sample_uniform(random);
    ++result.draws;
    if (!seen.insert(space.number(site)).second) continue;
    ++result.simulations;
    int correct = 0;
    bool reachable = true;
    for (int image = config.images.begin; image < config.images.end && reachable; ++image) {
      const FaultResult r = simulator.run_fast(site, image);
      ++result.evaluations;
      correct += r.outcome != Outcome::kDue && r.top1 == data.labels[static_cast<std::size_t>(image)];
      reachable = correct <= allowed;  // once more images are right than the drop allows, it cannot be reached
    }
    if (!reachable) continue;
    CriticalFault f;
    f.site = site;
    f.accuracy = static_cast<double>(correct) / images;
    f.drop = golden > 0 ? (static_cast<double>(golden) - correct) / golden : 0.0;
    f.simulations = result.simulations;
    f.seconds = elapsed();
    result.found.push_back(f);
    line.clear();
    progress << fmt::format("  found {}/{} after {} simulations ({:.1f} s): layer {} {}[{}] bit {} cycle {}: accuracy "
                            "{:.2f}%, drop {:.1f}%\n",
                            result.found.size(), options.count, result.simulations, f.seconds, site.layer,
                            register_info(site.group).group_name, site.index, site.bit, site.cycle, 100 * f.accuracy,
                            100 * f.drop);
  }
  result.seconds = elapsed();
  return result;
}

}  // namespace isimdl
