#include "config/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "hw/register_map.h"
#include "models/atomic_file.h"
#include "models/error.h"
#include "models/zoo.h"
#include "config/config_reader.h"

namespace isimdl {
namespace {

const std::vector<std::string> kSamplerNames{"uniform", "importance"};

template <typename Enum>
Enum enum_from(const std::vector<std::string>& names, const std::string& name) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<Enum>(i);
  throw Error("unknown name '" + name + "'");
}

ArrayConfig read_array(ConfigReader reader) {
  ArrayConfig a;
  a.rows = static_cast<int>(reader.integer("rows", 1, 256, a.rows));
  a.cols = static_cast<int>(reader.integer("cols", 1, 256, a.cols));
  a.dataflow = dataflow_from_string(reader.choice("dataflow", dataflow_names(), to_string(a.dataflow)));
  a.timing = timing_mode_from_string(reader.choice("timing", timing_mode_names(), to_string(a.timing)));
  a.m_tiling = m_tiling_from_string(reader.choice("m_tiling", m_tiling_names(), to_string(a.m_tiling)));
  a.dram_bytes_per_cycle = reader.number("dram_bytes_per_cycle", 0.0, 1e6, a.dram_bytes_per_cycle);
  ConfigReader buffers = reader.section("buffers");
  constexpr std::int64_t kMaxKib = 1 << 20;  // 1 GiB of SRAM is beyond any design in scope
  a.buffers.ifmap_kib = static_cast<int>(buffers.integer("ifmap_kib", 1, kMaxKib, a.buffers.ifmap_kib));
  a.buffers.weight_kib = static_cast<int>(buffers.integer("weight_kib", 1, kMaxKib, a.buffers.weight_kib));
  a.buffers.accumulator_kib =
      static_cast<int>(buffers.integer("accumulator_kib", 1, kMaxKib, a.buffers.accumulator_kib));
  a.buffers.output_kib = static_cast<int>(buffers.integer("output_kib", 1, kMaxKib, a.buffers.output_kib));
  a.buffers.banks = static_cast<int>(buffers.integer("banks", 1, 64, a.buffers.banks));
  buffers.finish();
  reader.finish();
  return a;
}

CampaignConfig read_campaign(ConfigReader reader) {
  CampaignConfig c;
  // "all" is the exhaustive campaign: every site of the space once.
  c.faults = reader.is_word("faults", "all") ? kAllFaults
                                             : static_cast<int>(reader.integer("faults", 1, 100'000'000, c.faults));
  c.seed = static_cast<std::uint64_t>(reader.integer("seed", 0, ConfigReader::kNoLimit, static_cast<std::int64_t>(c.seed)));
  c.sampler = enum_from<SamplerKind>(kSamplerNames, reader.choice("sampler", kSamplerNames, to_string(c.sampler)));
  // epsilon > 0 keeps every site drawable, which unbiasedness needs.
  c.epsilon = reader.number("epsilon", 1e-9, 1.0, c.epsilon);
  c.bit_weighting = reader.choice("bit_weighting", {"true", "false"}, c.bit_weighting ? "true" : "false") == "true";
  c.bit_exponent = reader.number("bit_exponent", 0.0, 2.0, c.bit_exponent);
  c.defensive = reader.choice("defensive", {"auto", "prior", "live"}, c.defensive);
  c.critical_drop = reader.number("critical_drop", 1e-9, 1.0, c.critical_drop);
  c.kind = fault_kind_from_string(reader.choice("kind", fault_kind_names(), to_string(c.kind)));
  c.adjacent_bits = static_cast<int>(reader.integer("adjacent_bits", 2, 32, c.adjacent_bits));
  c.stuck_cycles = static_cast<int>(reader.integer("stuck_cycles", 1, 1'000'000'000, c.stuck_cycles));
  c.groups = reader.choice_list("groups", fault_group_names(), c.groups);
  for (std::int64_t l : reader.integer_list("layers", 0, 10'000, {})) c.layers.push_back(static_cast<int>(l));
  c.jobs = static_cast<int>(reader.integer("jobs", 1, 256, c.jobs));
  c.target_margin = reader.number("target_margin", 0.0, 1.0, c.target_margin);
  c.relative_margin = reader.choice("relative_margin", {"true", "false"}, c.relative_margin ? "true" : "false") == "true";
  c.until_critical = static_cast<int>(reader.integer("until_critical", 0, 100'000'000, c.until_critical));
  if (c.defensive == "live" && c.kind != FaultKind::kBitFlip && c.kind != FaultKind::kAdjacentBits)
    throw ConfigError("campaign.defensive: live leaves dead sites undrawable, which only single-edge faults (bit_flip, "
                      "adjacent_bits) allow: a stuck-at held over several edges can reach a later live cycle");
  c.stratify = reader.choice("stratify", {"true", "false"}, c.stratify ? "true" : "false") == "true";
  c.pilot = static_cast<int>(reader.integer("pilot", 2, 100'000'000, c.pilot));
  reader.finish();
  if (c.stratify) {
    if (c.sampler != SamplerKind::kImportance)
      throw ConfigError("campaign.stratify: stratified sampling draws importance-sampled faults within strata; set "
                        "campaign.sampler: importance");
    if (c.faults == kAllFaults) throw ConfigError("campaign.stratify: an exhaustive campaign (faults: all) has nothing to stratify");
    if (c.target_margin > 0 || c.until_critical > 0)
      throw ConfigError("campaign.stratify: a stratified campaign has no stopping rule (its allocation spends the whole budget)");
    if (c.pilot >= c.faults)
      throw ConfigError(fmt::format("campaign.pilot: {} pilot faults leave none of the budget of {} to stratify", c.pilot, c.faults));
  }
  if ((c.target_margin > 0 || c.until_critical > 0) && c.faults == kAllFaults)
    throw ConfigError("campaign.target_margin / campaign.until_critical: an exhaustive campaign (faults: all) has no "
                      "stopping rule; give a fault budget");
  return c;
}

Config read_config(YAML::Node root, std::shared_ptr<const ConfigSource> source) {
  ConfigReader reader(root, "", source);
  Config config;
  config.model = reader.text("model", config.model);
  ConfigReader dataset = reader.section("dataset");
  DatasetConfig& d = config.dataset;
  d.format = dataset.choice("format", {"auto", "mnist", "fashion-mnist", "npy"}, d.format);
  d.dir = dataset.text("dir", d.dir);
  d.inputs = dataset.text("inputs", d.inputs);
  d.labels = dataset.text("labels", d.labels);
  d.mean = dataset.number_list("mean", -1e6, 1e6, d.mean);
  d.std = dataset.number_list("std", 1e-12, 1e6, d.std);
  d.layout = dataset.choice("layout", {"auto", "nchw", "nhwc"}, d.layout);
  if (d.format == "npy" && d.inputs.empty()) dataset.fail("inputs", "format npy needs the .npy file of images");
  if (d.format != "npy" && !d.inputs.empty()) dataset.fail("inputs", "only format npy reads an .npy file");
  if (d.mean.empty() || d.std.empty()) dataset.fail(d.mean.empty() ? "mean" : "std", "needs at least one value");
  const std::string images = dataset.text("images", to_string(config.images));
  try {
    config.images = parse_image_range(images);
  } catch (const ConfigError&) {
    throw;
  } catch (const Error& e) {
    dataset.fail("images", e.what());
  }
  dataset.finish();
  config.array = read_array(reader.section("array"));
  config.campaign = read_campaign(reader.section("campaign"));
  ConfigReader output = reader.section("output");
  config.output_dir = output.text("dir", config.output_dir);
  output.finish();
  reader.finish();
  config.dataset = config.dataset.resolved_for(config.model);
  return config;
}

}  // namespace

const char* to_string(SamplerKind kind) { return kSamplerNames.at(static_cast<std::size_t>(kind)).c_str(); }

const std::vector<std::string>& fault_group_names() { return register_group_names(); }

ImageRange parse_image_range(const std::string& text) {
  const auto colon = text.find(':');
  auto parse_int = [&](const std::string& s, int& out) {
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
  };
  ImageRange range;
  if (colon == std::string::npos || !parse_int(text.substr(0, colon), range.begin) ||
      !parse_int(text.substr(colon + 1), range.end) || range.begin < 0 || range.end <= range.begin)
    throw Error(fmt::format("expected an image range begin:end with 0 <= begin < end, got \"{}\"", text));
  return range;
}

std::string to_string(const ImageRange& range) { return fmt::format("{}:{}", range.begin, range.end); }

DatasetConfig DatasetConfig::resolved_for(const std::string& model) const {
  DatasetConfig d = *this;
  if (d.format == "auto") d.format = zoo_dataset(model).empty() ? "mnist" : zoo_dataset(model);
  return d;
}

std::string DatasetConfig::resolved_dir() const {
  if (!dir.empty()) return dir;
  return format == "fashion-mnist" ? ".cache/fashion-mnist" : ".cache/mnist";
}

bool operator==(const DatasetConfig& a, const DatasetConfig& b) {
  return a.format == b.format && a.dir == b.dir && a.inputs == b.inputs && a.labels == b.labels && a.mean == b.mean &&
         a.std == b.std && a.layout == b.layout;
}

bool operator==(const CampaignConfig& a, const CampaignConfig& b) {
  return a.faults == b.faults && a.seed == b.seed && a.sampler == b.sampler && a.epsilon == b.epsilon && a.bit_weighting == b.bit_weighting && a.bit_exponent == b.bit_exponent && a.defensive == b.defensive &&
         a.critical_drop == b.critical_drop && a.kind == b.kind && a.adjacent_bits == b.adjacent_bits &&
         a.stuck_cycles == b.stuck_cycles && a.groups == b.groups && a.layers == b.layers && a.jobs == b.jobs &&
         a.target_margin == b.target_margin && a.relative_margin == b.relative_margin && a.until_critical == b.until_critical &&
         a.stratify == b.stratify && a.pilot == b.pilot;
}

bool operator==(const Config& a, const Config& b) {
  return a.model == b.model && a.dataset == b.dataset && a.images.begin == b.images.begin &&
         a.images.end == b.images.end && a.array == b.array && a.campaign == b.campaign &&
         a.output_dir == b.output_dir;
}

Config parse_config(const std::string& text, const std::string& source_name, const std::vector<std::string>& overrides) {
  auto source = std::make_shared<ConfigSource>();
  source->file = source_name;
  YAML::Node root;
  // A UTF-8 byte-order mark is text; yaml-cpp reads it.
  check_yaml_text(text.rfind("\xEF\xBB\xBF", 0) == 0 ? text.substr(3) : text, source_name);
  // A second document is found in the text, not with YAML::LoadAll, which
  // in yaml-cpp 0.7 loops forever, allocating, on a stray token such as the
  // two bytes ",m" (found by fuzzing: tests/fuzz/regressions/config).
  {
    std::istringstream lines(text);
    std::string line;
    bool content = false, ended = false;  // ended: a '...' closed the document
    int line_no = 0;
    while (std::getline(lines, line)) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      auto starts = [&](const char* m) {
        return line.rfind(m, 0) == 0 && (line.size() == 3 || line[3] == ' ' || line[3] == '\t');
      };
      const auto first = line.find_first_not_of(" \t");
      const bool blank = first == std::string::npos || line[first] == '#';
      if ((starts("---") && content) || (ended && !blank && !starts("...")))
        throw ConfigError(fmt::format("{}:{}: a second YAML document begins here; a configuration is one", source_name,
                                      line_no));
      if (starts("...")) ended = content;
      else if (!starts("---") && !blank && line[0] != '%') content = true;
    }
  }
  try {
    root = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    throw ConfigError(fmt::format("{}:{}: YAML nested too deeply (more than {} levels); a configuration is a few levels deep",
                                  source_name, e.mark.line + 1, e.depth()));
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) throw ConfigError(fmt::format("{}: malformed YAML: {}", source_name, e.msg));
    throw ConfigError(fmt::format("{}:{}: malformed YAML: {}", source_name, e.mark.line + 1, e.msg));
  }
  if (!root.IsDefined() || root.IsNull())
    throw ConfigError(fmt::format("{}: the configuration is empty (expected a mapping with keys such as model, array, "
                                  "campaign)",
                                  source_name));
  if (!root.IsMap())
    throw ConfigError(fmt::format("{}:{}: expected a mapping at the top level", source_name, root.Mark().line + 1));
  const bool images_in_file = root["dataset"] && root["dataset"].IsMap() && root["dataset"]["images"];
  for (const auto& assignment : overrides) apply_override(root, assignment, *source);
  Config config = read_config(root, source);
  const bool images_overridden = std::any_of(overrides.begin(), overrides.end(), [](const std::string& a) {
    return a.rfind("dataset.images=", 0) == 0;
  });
  config.images_origin = images_overridden ? "the command line" : images_in_file ? source_name : "the defaults";
  return config;
}

std::string images_past_end_message(const Config& config, int available, const std::string& where) {
  return fmt::format("dataset.images: range {} (from {}) exceeds the {} test images of {}", to_string(config.images),
                     config.images_origin, available, where);
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::string text;
  try {
    text = read_regular_file(path, 16u << 20, "a configuration file");
  } catch (const Error& e) {
    throw ConfigError(e.what());
  }
  return parse_config(text, path, overrides);
}

std::string to_yaml(const Config& c) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "model" << YAML::Value << c.model;
  out << YAML::Key << "dataset" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "format" << YAML::Value << c.dataset.format;
  if (!c.dataset.dir.empty()) out << YAML::Key << "dir" << YAML::Value << c.dataset.dir;
  if (!c.dataset.inputs.empty()) out << YAML::Key << "inputs" << YAML::Value << c.dataset.inputs;
  if (!c.dataset.labels.empty()) out << YAML::Key << "labels" << YAML::Value << c.dataset.labels;
  out << YAML::Key << "mean" << YAML::Value << YAML::Flow << c.dataset.mean;
  out << YAML::Key << "std" << YAML::Value << YAML::Flow << c.dataset.std;
  if (c.dataset.format == "npy") out << YAML::Key << "layout" << YAML::Value << c.dataset.layout;
  out << YAML::Key << "images" << YAML::Value << to_string(c.images);
  out << YAML::EndMap;
  out << YAML::Key << "array" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "rows" << YAML::Value << c.array.rows;
  out << YAML::Key << "cols" << YAML::Value << c.array.cols;
  out << YAML::Key << "timing" << YAML::Value << to_string(c.array.timing);
  // Written only when not the default, so that results files written before
  // the key existed still --resume (their configuration lacks it).
  if (c.array.m_tiling != MTiling::kCapacity) out << YAML::Key << "m_tiling" << YAML::Value << to_string(c.array.m_tiling);
  if (c.array.dataflow != Dataflow::kWeightStationary)
    out << YAML::Key << "dataflow" << YAML::Value << to_string(c.array.dataflow);
  out << YAML::Key << "dram_bytes_per_cycle" << YAML::Value << c.array.dram_bytes_per_cycle;
  out << YAML::Key << "buffers" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "ifmap_kib" << YAML::Value << c.array.buffers.ifmap_kib;
  out << YAML::Key << "weight_kib" << YAML::Value << c.array.buffers.weight_kib;
  out << YAML::Key << "accumulator_kib" << YAML::Value << c.array.buffers.accumulator_kib;
  out << YAML::Key << "output_kib" << YAML::Value << c.array.buffers.output_kib;
  out << YAML::Key << "banks" << YAML::Value << c.array.buffers.banks;
  out << YAML::EndMap << YAML::EndMap;
  out << YAML::Key << "campaign" << YAML::Value << YAML::BeginMap;
  if (c.campaign.faults == kAllFaults)
    out << YAML::Key << "faults" << YAML::Value << "all";
  else
    out << YAML::Key << "faults" << YAML::Value << c.campaign.faults;
  out << YAML::Key << "seed" << YAML::Value << c.campaign.seed;
  out << YAML::Key << "sampler" << YAML::Value << to_string(c.campaign.sampler);
  out << YAML::Key << "epsilon" << YAML::Value << c.campaign.epsilon;
  out << YAML::Key << "bit_weighting" << YAML::Value << (c.campaign.bit_weighting ? "true" : "false");
  out << YAML::Key << "bit_exponent" << YAML::Value << c.campaign.bit_exponent;
  out << YAML::Key << "defensive" << YAML::Value << c.campaign.defensive;
  out << YAML::Key << "critical_drop" << YAML::Value << c.campaign.critical_drop;
  out << YAML::Key << "kind" << YAML::Value << to_string(c.campaign.kind);
  out << YAML::Key << "adjacent_bits" << YAML::Value << c.campaign.adjacent_bits;
  out << YAML::Key << "stuck_cycles" << YAML::Value << c.campaign.stuck_cycles;
  out << YAML::Key << "groups" << YAML::Value << YAML::Flow << c.campaign.groups;
  out << YAML::Key << "layers" << YAML::Value << YAML::Flow << c.campaign.layers;
  out << YAML::Key << "jobs" << YAML::Value << c.campaign.jobs;
  out << YAML::Key << "target_margin" << YAML::Value << c.campaign.target_margin;
  out << YAML::Key << "relative_margin" << YAML::Value << (c.campaign.relative_margin ? "true" : "false");
  out << YAML::Key << "until_critical" << YAML::Value << c.campaign.until_critical;
  out << YAML::Key << "stratify" << YAML::Value << (c.campaign.stratify ? "true" : "false");
  out << YAML::Key << "pilot" << YAML::Value << c.campaign.pilot;
  out << YAML::EndMap;
  out << YAML::Key << "output" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "dir" << YAML::Value << c.output_dir;
  out << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string write_resolved_config(const Config& config, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(fmt::format("{}: cannot create output directory: {}", dir, ec.message()));
  const std::string path = dir + "/config.resolved.yaml";
  write_file_atomically(path, "# Fully resolved configuration of this run (defaults filled in); isimdl reads it back as is.\n" +
                                  to_yaml(config));
  return path;
}

}  // namespace isimdl
