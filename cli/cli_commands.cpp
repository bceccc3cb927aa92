#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <ostream>

#include "models/error.h"
#include "models/idx_reader.h"
#include "models/model_file.h"
#include "models/reference_engine.h"
#include "models/zoo.h"
#include "cli/cli.h"
#include "cli/cli_commands.h"
#include "config/config.h"

namespace isimdl {
namespace po = boost::program_options;
namespace {



}  // namespace

void print_config_summary(const Config& c, std::ostream& out, bool campaign) {
  out << fmt::format("  model          {}\n", c.model);
  out << fmt::format("  images         {} of {} ({} images)\n", to_string(c.images),
                     c.dataset.format == "npy" ? c.dataset.inputs : c.dataset.format + " in " + c.dataset.resolved_dir(),
                     c.images.size());
  out << fmt::format("  array          {}x{} PEs, {}, timing {}{}, DRAM {}\n", c.array.rows, c.array.cols,
                     c.array.dataflow == Dataflow::kInputStationary ? "input-stationary" : "weight-stationary",
                     to_string(c.array.timing),
                     c.array.m_tiling == MTiling::kScaleSim ? ", M-tiling scalesim (the accumulator holds a whole fold)"
                                                            : "",
                     c.array.dram_bytes_per_cycle > 0 ? fmt::format("{} B/cycle", c.array.dram_bytes_per_cycle)
                                                      : std::string("unlimited"));
  out << fmt::format("  buffers        ifmap {} KiB, weight {} KiB, accumulator {} KiB, output {} KiB, {} banks\n",
                     c.array.buffers.ifmap_kib, c.array.buffers.weight_kib, c.array.buffers.accumulator_kib,
                     c.array.buffers.output_kib, c.array.buffers.banks);
  out << fmt::format("  PE registers   {} bits in {} PEs\n", c.array.pe_register_bits(), c.array.pe_count());
  if (campaign) {
    std::string groups;
    for (const auto& g : c.campaign.groups) groups += (groups.empty() ? "" : " ") + g;
    out << fmt::format("  campaign       {} {} faults ({}), seed {}, epsilon {}, critical drop {}, {} job(s)\n",
                       c.campaign.faults == kAllFaults ? std::string("all") : std::to_string(c.campaign.faults),
                       to_string(c.campaign.sampler), to_string(c.campaign.kind), c.campaign.seed,
                       c.campaign.epsilon, c.campaign.critical_drop, c.campaign.jobs);
    out << fmt::format("  fault groups   {}\n", groups);
  }
  out << fmt::format("  output         {}\n", c.output_dir);
}

namespace {

int config_check(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  std::string file;
  std::vector<std::string> overrides;
  bool print = false;
  po::options_description options("Options");
  options.add_options()("file", po::value(&file)->required(), "configuration file to check")(
      "param,p", po::value(&overrides)->composing(), "override a key: -p key.path=value (repeatable)")(
      "print", po::bool_switch(&print), "print the fully resolved configuration as YAML");
  po::positional_options_description positionals;
  positionals.add("file", 1);
  po::variables_map values;
  if (parse_command_line(prog, "FILE [-p key.path=value]... [--print]", options, positionals, args, values, io))
    return kExitOk;
  const Config config = load_config(file, overrides);
  if (print) {
    io.out << to_yaml(config);
  } else {
    io.out << file << ": OK\n";
    print_config_summary(config, io.out);
  }
  return kExitOk;
}

}  // namespace

std::vector<CliCommand> cli_commands() {
  std::vector<CliCommand> commands{
      {"config",
       "work with configuration files",
       nullptr,
       {{"check", "validate a configuration file and summarise it", config_check, {}}}},
  };
  commands.insert(commands.begin(), run_command());
  for (auto& c : campaign_commands()) commands.push_back(std::move(c));
  commands.push_back(compare_command_entry());
  commands.push_back(coverage_command_entry());
  for (auto& c : fault_commands()) commands.push_back(std::move(c));
  for (auto& c : trace_commands()) commands.push_back(std::move(c));
  commands.push_back(sweep_command_entry());
  commands.push_back(report_command_entry());
  for (auto& c : model_commands()) commands.push_back(std::move(c));
  return commands;
}

}  // namespace isimdl
