#include "campaign/sweep.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <sstream>

#include "hw/accelerator.h"
#include "models/error.h"
#include "models/idx_reader.h"
#include "models/quantized_model.h"
#include "models/random.h"
#include "campaign/campaign.h"
#include "runner/fault_simulator.h"
#include "runner/network_runner.h"

namespace isimdl {

SweepPoint run_sweep_point(const Config& config, const QuantizedModel& model, const MnistSplit& data,
                           int vulnerability_faults) {
  const auto start = std::chrono::steady_clock::now();
  SweepPoint p;
  p.array = config.array;
  Accelerator& accelerator = shared_accelerator();
  accelerator.configure(config.array);
  NetworkRunner runner(accelerator, model);
  std::vector<LayerStats> stats;
  InferenceTrace trace;
  runner.run(data.images, config.images.begin, trace, &stats);
  for (int l = 0; l < model.arch.size(); ++l)
    if (model.arch.has_weights(l))
      p.layers.push_back(
          LayerReport{l, to_string(model.arch.layer(l).kind), model.arch.gemm(l), stats[static_cast<std::size_t>(l)]});
  p.total = total_stats(p.layers);
  const FaultSpace space = campaign_space(config, model);
  p.fault_sites = space.size();
  const RegisterCounts counts = RegisterCounts::of_array(config.array);
  for (RegisterGroup g : enabled_groups(config))
    if (!is_sram_buffer(g)) p.register_bits += counts.instances(g) * register_info(g).width;
  if (vulnerability_faults > 0) {
    p.vulnerability_faults = vulnerability_faults;
    FaultSimulator simulator(accelerator, model, data);
    const CampaignImportance importance(config, space, model, data);
    const int golden = golden_correct(simulator, data, config.images);
    Random random(config.campaign.seed);
    std::vector<double> x, w;
    std::vector<FaultSite> sites;
    for (int i = 0; i < vulnerability_faults; ++i) {
      const ImportanceSampler::Draw d = importance.sampler().sample(random);
      sites.push_back(d.site);
      const FaultRecord r = evaluate_fault(simulator, data, config, golden, i, d.site);
      x.push_back(r.critical ? 1.0 : 0.0);
      w.push_back(d.weight());
      p.critical += r.critical;
    }
    EstimateOptions options;
    const bool live_only = only_live_sites_matter(config.campaign.kind);
    options.max_weight = importance.sampler().max_weight(live_only);
    p.critical_rate = weighted_estimate(x, w, options);
    // Per register group: the draws in it, its exact share of the space and
    // the largest weight of its sites (part_estimate, as for `results summary`).
    std::map<RegisterGroup, std::size_t> index;
    for (std::size_t b = 0; b < space.blocks().size(); ++b) {
      const FaultSpaceBlock& block = space.blocks()[b];
      auto [it, added] = index.emplace(block.group, p.groups.size());
      if (added) p.groups.push_back({register_info(block.group).group_name, 0, 0, {}});
      p.groups[it->second].share += static_cast<double>(block.sites()) / static_cast<double>(space.size());
    }
    std::vector<double> max_w(p.groups.size(), 0.0);
    for (std::size_t b = 0; b < space.blocks().size(); ++b) {
      double& m = max_w[index.at(space.blocks()[b].group)];
      m = std::max(m, importance.sampler().max_weight(b, live_only));
    }
    std::vector<std::vector<double>> gx(p.groups.size()), gw(p.groups.size());
    for (std::size_t i = 0; i < sites.size(); ++i) {
      const std::size_t g = index.at(sites[i].group);
      gx[g].push_back(x[i]);
      gw[g].push_back(w[i]);
    }
    for (std::size_t g = 0; g < p.groups.size(); ++g) {
      p.groups[g].faults = static_cast<std::int64_t>(gx[g].size());
      if (p.groups[g].share > 0)
        p.groups[g].critical_rate = part_estimate(gx[g], gw[g], vulnerability_faults, std::min(1.0, p.groups[g].share),
                                                  max_w[g], EstimateOptions{});
    }
  }
  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return p;
}

std::string buffers_label(const BufferConfig& b) {
  if (b.ifmap_kib == b.weight_kib && b.weight_kib == b.accumulator_kib && b.accumulator_kib == b.output_kib)
    return std::to_string(b.ifmap_kib);
  return fmt::format("{}/{}/{}/{}", b.ifmap_kib, b.weight_kib, b.accumulator_kib, b.output_kib);
}

std::string sweep_csv_header() {
  return "rows,cols,timing," + layer_stats_csv_header() +
         ",register_bits,fault_sites,vulnerability_faults,critical_found,critical_rate,critical_rate_lo,"
         "critical_rate_hi,effective_sample_size,layer_cycles,dataflow,buffers_kib\n";
}

std::string sweep_csv_row(const SweepPoint& p) {
  std::string vuln = p.vulnerability_faults > 0
                         ? fmt::format("{},{},{:.6g},{:.6g},{:.6g},{:.1f}", p.vulnerability_faults, p.critical,
                                       p.critical_rate.value, std::max(0.0, p.critical_rate.lo), p.critical_rate.hi,
                                       p.critical_rate.effective_sample_size)
                         : std::string("0,,,,,");
  std::string per_layer;
  for (const LayerReport& l : p.layers) per_layer += (per_layer.empty() ? "" : ";") + std::to_string(l.stats.total_cycles);
  return fmt::format("{},{},{},{},{},{},{},{},{},{}\n", p.array.rows, p.array.cols, to_string(p.array.timing),
                     layer_stats_csv_row(p.total), p.register_bits, p.fault_sites, vuln, per_layer,
                     to_string(p.array.dataflow), buffers_label(p.array.buffers));
}

std::map<std::string, std::string> sweep_csv_fields(const std::string& line) {
  std::map<std::string, std::string> fields;
  std::stringstream names(sweep_csv_header()), cells(line);
  std::string name, cell;
  while (std::getline(names, name, ',')) {
    if (!name.empty() && name.back() == '\n') name.pop_back();
    if (!std::getline(cells, cell, ',')) cell.clear();
    fields[name] = cell;
  }
  return fields;
}

std::string sweep_groups_csv_header() {
  return "rows,cols,timing,dataflow,buffers_kib,group,share,faults,critical_rate,critical_rate_lo,critical_rate_hi,"
         "critical_sites\n";
}

std::string sweep_groups_csv_rows(const SweepPoint& p) {
  std::string text;
  for (const SweepPoint::Group& g : p.groups)
    text += fmt::format("{},{},{},{},{},{},{:.6g},{},{:.6g},{:.6g},{:.6g},{:.6g}\n", p.array.rows, p.array.cols,
                        to_string(p.array.timing), to_string(p.array.dataflow), buffers_label(p.array.buffers), g.name,
                        g.share, g.faults, g.critical_rate.value, std::max(0.0, g.critical_rate.lo), g.critical_rate.hi,
                        g.critical_rate.value * g.share * static_cast<double>(p.fault_sites));
  return text;
}

std::string sweep_layers_csv_header() {
  return "rows,cols,layer,kind,m,k,n," + layer_stats_csv_header() + ",timing,dataflow,buffers_kib\n";
}

std::string sweep_layers_csv_rows(const SweepPoint& p) {
  std::string text;
  for (const LayerReport& l : p.layers)
    text += fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", p.array.rows, p.array.cols, l.id, l.name, l.gemm.m, l.gemm.k,
                        l.gemm.n, layer_stats_csv_row(l.stats), to_string(p.array.timing), to_string(p.array.dataflow),
                        buffers_label(p.array.buffers));
  return text;
}

}  // namespace isimdl
