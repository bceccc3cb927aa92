#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <ostream>

#include "models/error.h"
#include "models/idx_reader.h"
#include "models/model_file.h"
#include "models/reference_engine.h"
#include "models/zoo.h"
#include "sim/cli.h"
#include "sim/cli_commands.h"
#include "sim/config.h"

namespace isimdl {
namespace po = boost::program_options;
namespace {

const char* kDefaultConfig = "configs/default.yaml";

void add_config_options(po::options_description& options, std::string& config_path,
                        std::vector<std::string>& overrides) {
  options.add_options()("config,c", po::value(&config_path)->default_value(kDefaultConfig), "configuration file (YAML)")(
      "param,p", po::value(&overrides)->composing(), "override a configuration key: -p key.path=value (repeatable)");
}

void print_summary(const Config& c, std::ostream& out) {
  out << fmt::format("  model          {}\n", c.model);
  out << fmt::format("  images         {} of {} ({} images)\n", to_string(c.images), c.dataset_dir, c.images.size());
  out << fmt::format("  array          {}x{} PEs, timing {}, DRAM {}\n", c.array.rows, c.array.cols,
                     to_string(c.array.timing),
                     c.array.dram_bytes_per_cycle > 0 ? fmt::format("{} B/cycle", c.array.dram_bytes_per_cycle)
                                                      : std::string("unlimited"));
  out << fmt::format("  buffers        ifmap {} KiB, weight {} KiB, accumulator {} KiB, output {} KiB, {} banks\n",
                     c.array.buffers.ifmap_kib, c.array.buffers.weight_kib, c.array.buffers.accumulator_kib,
                     c.array.buffers.output_kib, c.array.buffers.banks);
  out << fmt::format("  PE registers   {} bits in {} PEs\n", c.array.pe_register_bits(), c.array.pe_count());
  std::string groups;
  for (const auto& g : c.campaign.groups) groups += (groups.empty() ? "" : " ") + g;
  out << fmt::format("  campaign       {} {} faults ({}), seed {}, epsilon {}, critical drop {}, {} job(s)\n",
                     c.campaign.faults, to_string(c.campaign.sampler), to_string(c.campaign.kind), c.campaign.seed,
                     c.campaign.epsilon, c.campaign.critical_drop, c.campaign.jobs);
  out << fmt::format("  fault groups   {}\n", groups);
  out << fmt::format("  output         {}\n", c.output_dir);
}

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
    print_summary(config, io.out);
  }
  return kExitOk;
}

int run_main_job(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  std::string config_path;
  std::vector<std::string> overrides;
  po::options_description options("Options");
  add_config_options(options, config_path, overrides);
  po::variables_map values;
  if (parse_command_line(prog, "[--config FILE] [-p key.path=value]...", options, {}, args, values, io))
    return kExitOk;
  const Config config = load_config(config_path, overrides);
  io.out << "isimdl run: " << config_path << "\n";
  print_summary(config, io.out);
  const MnistSplit test = load_mnist(config.dataset_dir, "t10k");
  if (config.images.end > test.images.count)
    throw ConfigError(fmt::format("{}: dataset.images: range {} exceeds the {} test images in {}", config_path,
                                  to_string(config.images), test.images.count, config.dataset_dir));
  io.out << fmt::format("  dataset        {} MNIST test images of {}x{} found\n", test.images.count, test.images.rows,
                        test.images.cols);
  const std::string model_path = resolve_model_path(config.model, default_zoo_dir());
  const QuantizedModel model = load_model(model_path);
  io.out << fmt::format("  model file     {}: {} layers, {} parameters\n", model_path, model.arch.size(),
                        model.arch.parameter_count());
  for (int i = 0; i < model.arch.size(); ++i) {
    if (!model.arch.has_weights(i)) continue;
    const GemmShape g = model.arch.gemm(i);
    const int folds = ((g.k + config.array.rows - 1) / config.array.rows) * ((g.n + config.array.cols - 1) / config.array.cols);
    io.out << fmt::format("    layer {:>2} {:<7} GEMM M={} K={} N={}: {} folds on the {}x{} array\n", i,
                          to_string(model.arch.layer(i).kind), g.m, g.k, g.n, folds, config.array.rows,
                          config.array.cols);
  }
  const std::string resolved = write_resolved_config(config, config.output_dir);
  // Golden run on the int8 reference engine: the values every later
  // cycle-level and faulty run is compared against.
  ReferenceEngine engine(model);
  InferenceTrace trace;
  const std::string golden_path = config.output_dir + "/golden.csv";
  std::ofstream golden(golden_path + ".tmp");
  golden << "image,label,golden_top1\n";
  int correct = 0;
  for (int i = config.images.begin; i < config.images.end; ++i) {
    engine.run(test.images.image(i), trace);
    const int top1 = ReferenceEngine::top1(trace.logits());
    correct += top1 == test.labels[static_cast<std::size_t>(i)];
    golden << i << "," << int{test.labels[static_cast<std::size_t>(i)]} << "," << top1 << "\n";
  }
  golden.close();
  if (!golden) throw Error(golden_path + ".tmp: write failed");
  std::filesystem::rename(golden_path + ".tmp", golden_path);
  io.out << fmt::format("golden int8 inference: {} / {} correct ({:.2f}%)\n", correct, config.images.size(),
                        100.0 * correct / config.images.size());
  io.out << "  resolved config written to " << resolved << "\n";
  io.out << "  golden predictions written to " << golden_path << "\n";
  io.out << "The cycle-level array model is not built yet: this run stops after the golden inference.\n";
  return kExitOk;
}

}  // namespace

std::vector<CliCommand> cli_commands() {
  std::vector<CliCommand> commands{
      {"run", "run the main job on a configuration (default " + std::string(kDefaultConfig) + ")", run_main_job, {}},
      {"config",
       "work with configuration files",
       nullptr,
       {{"check", "validate a configuration file and summarise it", config_check, {}}}},
  };
  for (auto& c : model_commands()) commands.push_back(std::move(c));
  return commands;
}

}  // namespace isimdl
