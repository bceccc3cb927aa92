#include "campaign/population_estimates.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

#include "config/config.h"
#include "hw/register_map.h"
#include "models/error.h"

namespace isimdl {

const char* to_string(RateKind kind) {
  switch (kind) {
    case RateKind::kCritical: return "critical";
    case RateKind::kTop1Sdc: return "top1_sdc";
    case RateKind::kAnySdc: return "any_sdc";
  }
  return "?";
}

double rate_value(const FaultRecord& r, RateKind kind) {
  const auto count = [&](Outcome o) { return static_cast<double>(r.outcomes[static_cast<std::size_t>(o)]); };
  const double images = std::max(1, r.images);
  switch (kind) {
    case RateKind::kCritical: return r.critical ? 1.0 : 0.0;
    case RateKind::kTop1Sdc: return (count(Outcome::kSdcTop1) + count(Outcome::kSdcTop5)) / images;
    case RateKind::kAnySdc:
      return (count(Outcome::kSdcBenign) + count(Outcome::kSdcTop1) + count(Outcome::kSdcTop5)) / images;
  }
  return 0.0;
}

const std::vector<std::string>& breakdown_names() {
  static const std::vector<std::string> names{"group", "layer", "pe", "bit"};
  return names;
}

namespace {

// A structure of a breakdown: its share of the space and the largest weight
// of its sites (0: not known).
struct Part {
  double share = 0;
  double max_weight = 0;
  bool unknown_weight = false;
  std::vector<double> x[kRateKinds], w;
};

void add_block(Part& part, double share, double max_weight) {
  part.share += share;
  part.unknown_weight = part.unknown_weight || max_weight <= 0;
  part.max_weight = std::max(part.max_weight, max_weight);
}

// The stored configuration, parsed as the campaign's own; a file whose
// configuration no longer parses gives none (no exhaustive claim, PEs by index).
std::optional<Config> stored_config(const CampaignInfo& info) {
  try {
    return parse_config(info.config_yaml, "stored configuration");
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace

PopulationEstimates population_estimates(const CampaignInfo& info, const std::vector<FaultRecord>& records,
                                         const EstimateOptions& options) {
  PopulationEstimates out;
  std::vector<const FaultRecord*> measured;
  for (const FaultRecord& r : records)
    if (r.measured()) measured.push_back(&r);
  const std::optional<Config> config = stored_config(info);
  // Exhaustive: every site of the space measured once.
  out.exact = config && config->campaign.faults == kAllFaults && measured.size() == info.population && info.population > 0;
  EstimateOptions o = options;
  o.exhaustive = out.exact;
  double max_weight = 0;
  bool unknown = info.blocks.empty();
  for (const SpaceBlockRecord& b : info.blocks) {
    max_weight = std::max(max_weight, b.max_weight);
    unknown = unknown || b.max_weight <= 0;
  }
  o.max_weight = unknown ? 0.0 : max_weight;
  std::vector<double> w;
  for (const FaultRecord* r : measured) w.push_back(r->weight);
  std::vector<double> drop;
  for (const FaultRecord* r : measured) drop.push_back(r->drop);
  for (int k = 0; k < kRateKinds; ++k) {
    std::vector<double> x;
    for (const FaultRecord* r : measured) x.push_back(rate_value(*r, static_cast<RateKind>(k)));
    out.rate[k] = weighted_estimate(x, w, o);
  }
  EstimateOptions normal = o;
  normal.method = IntervalMethod::kNormal;
  out.drop = weighted_estimate(drop, w, normal);

  out.have_space = !info.blocks.empty() && info.population > 0;
  if (!out.have_space) return out;
  const double population = static_cast<double>(info.population);
  const int cols = config ? config->array.cols : 0;
  // Parts per breakdown, in display order.
  std::map<std::string, std::map<std::string, Part>> parts;
  std::map<std::string, std::vector<std::string>> order;
  auto part = [&](const std::string& breakdown, const std::string& name) -> Part& {
    auto& m = parts[breakdown];
    if (!m.count(name)) order[breakdown].push_back(name);
    return m[name];
  };
  auto pe_name = [&](std::int64_t index) {
    return cols > 0 ? fmt::format("{}_{}", index / cols, index % cols) : std::to_string(index);
  };
  std::vector<std::int64_t> layers;
  int bits = 0;
  std::int64_t pes = 0;
  for (const SpaceBlockRecord& b : info.blocks) {
    add_block(part("group", register_info(b.group).group_name), b.sites() / population, b.max_weight);
    layers.push_back(b.layer);
    bits = std::max(bits, b.positions);
    if (register_info(b.group).placement == Placement::kPe) pes = std::max(pes, b.instances);
  }
  std::sort(layers.begin(), layers.end());
  layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
  for (std::int64_t l : layers) part("layer", std::to_string(l));
  for (std::int64_t i = 0; i < pes; ++i) part("pe", pe_name(i));
  for (int bit = 0; bit < bits; ++bit) part("bit", std::to_string(bit));
  for (const SpaceBlockRecord& b : info.blocks) {
    add_block(part("layer", std::to_string(b.layer)), b.sites() / population, b.max_weight);
    for (int bit = 0; bit < b.positions; ++bit)
      add_block(part("bit", std::to_string(bit)), static_cast<double>(b.instances) * static_cast<double>(b.cycles) / population,
                b.max_weight);
    if (register_info(b.group).placement == Placement::kPe)
      for (std::int64_t i = 0; i < b.instances; ++i)
        add_block(part("pe", pe_name(i)), static_cast<double>(b.positions) * static_cast<double>(b.cycles) / population,
                  b.max_weight);
  }
  for (const FaultRecord* r : measured) {
    std::vector<Part*> in{&part("group", register_info(r->site.group).group_name), &part("layer", std::to_string(r->site.layer)),
                          &part("bit", std::to_string(r->site.bit))};
    if (register_info(r->site.group).placement == Placement::kPe) in.push_back(&part("pe", pe_name(r->site.index)));
    for (Part* p : in) {
      p->w.push_back(r->weight);
      for (int k = 0; k < kRateKinds; ++k) p->x[k].push_back(rate_value(*r, static_cast<RateKind>(k)));
    }
  }
  const auto n = static_cast<std::int64_t>(measured.size());
  for (const std::string& breakdown : breakdown_names())
    for (const std::string& name : order[breakdown]) {
      const Part& p = parts[breakdown][name];
      if (!(p.share > 0)) continue;
      StructureEstimate s;
      s.breakdown = breakdown;
      s.structure = name;
      s.share = std::min(1.0, p.share);
      s.faults = static_cast<std::int64_t>(p.w.size());
      EstimateOptions po = o;
      for (int k = 0; k < kRateKinds; ++k)
        s.rate[k] = part_estimate(p.x[k], p.w, n, s.share, p.unknown_weight ? 0.0 : p.max_weight, po);
      out.structures.push_back(s);
    }
  return out;
}

std::string structure_csv(const PopulationEstimates& estimates, const std::string& breakdown) {
  if (std::find(breakdown_names().begin(), breakdown_names().end(), breakdown) == breakdown_names().end())
    throw Error(fmt::format("unknown breakdown '{}' (group, layer, pe or bit)", breakdown));
  std::string csv = "breakdown,structure,share,faults";
  for (int k = 0; k < kRateKinds; ++k) {
    const std::string name = to_string(static_cast<RateKind>(k));
    csv += fmt::format(",{0},{0}_lo,{0}_hi", name);
  }
  csv += "\n";
  for (const StructureEstimate& s : estimates.structures) {
    if (s.breakdown != breakdown) continue;
    csv += fmt::format("{},{},{:.8g},{}", s.breakdown, s.structure, s.share, s.faults);
    for (int k = 0; k < kRateKinds; ++k) csv += fmt::format(",{:.8g},{:.8g},{:.8g}", s.rate[k].value, s.rate[k].lo, s.rate[k].hi);
    csv += "\n";
  }
  return csv;
}

}  // namespace isimdl
