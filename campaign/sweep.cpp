#include "campaign/sweep.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <sstream>

#include "hw/accelerator.h"
#include "models/error.h"
#include "models/idx_reader.h"
#include "models/quantized_model.h"
#include "models/random.h"
#include "campaign/campaign.h"
#include "campaign/population_estimates.h"
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
    std::vector<FaultRecord> records;
    for (int i = 0; i < vulnerability_faults; ++i) {
      const ImportanceSampler::Draw d = importance.sampler().sample(random);
      FaultRecord r = evaluate_fault(simulator, data, config, golden, i, d.site);
      r.weight = d.weight();
      x.push_back(r.critical ? 1.0 : 0.0);
      w.push_back(d.weight());
      p.critical += r.critical;
      records.push_back(std::move(r));
    }
    EstimateOptions options;
    const bool live_only = only_live_sites_matter(config.campaign.kind);
    options.max_weight = importance.sampler().max_weight(live_only);
    p.critical_rate = weighted_estimate(x, w, options);
    // Per register group: the population estimates `results summary` gives a
    // campaign, from the same draws and the space's blocks.
    CampaignInfo info;
    info.population = space.size();
    std::vector<double> block_max_weight;
    for (std::size_t b = 0; b < space.blocks().size(); ++b)
      block_max_weight.push_back(importance.sampler().max_weight(b, live_only));
    info.blocks = space_block_records(space, block_max_weight);
    for (const StructureEstimate& e : population_estimates(info, records).structures)
      if (e.breakdown == "group")
        p.groups.push_back({e.structure, e.share, e.faults, e.rate[static_cast<int>(RateKind::kCritical)]});
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
