#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <filesystem>
#include <map>
#include <ostream>

#include "hw/accelerator.h"
#include "hw/fold_schedule.h"
#include "hw/tracer.h"
#include "models/error.h"
#include "models/idx_reader.h"
#include "models/model_file.h"
#include "models/random.h"
#include "models/reference_engine.h"
#include "models/zoo.h"
#include "runner/model_source.h"
#include "cli/cli.h"
#include "cli/cli_commands.h"
#include "config/config.h"
#include "runner/network_runner.h"
#include "runner/run_report.h"
#include "runner/scalesim_files.h"
#include "runner/topology.h"

namespace isimdl {
namespace po = boost::program_options;
namespace {

const char* kDefaultConfig = "configs/default.yaml";

struct RunOptions {
  std::string config_path = kDefaultConfig;
  std::string array_path, model, images, topology, inputs, labels, out_dir, scalesim_config;
  std::vector<std::string> overrides;
  TraceOptions trace;
  std::string trace_window;
};

// Sets up cycle tracing when asked; must run before the first simulated cycle.
std::unique_ptr<Tracer> make_tracer(Accelerator& accelerator, RunOptions& o, const std::string& prog) {
  if (o.trace.vcd_path.empty() && o.trace.csv_path.empty()) return nullptr;
  if (!o.trace_window.empty()) {
    try {
      const ImageRange w = parse_image_range(o.trace_window);  // same begin:end syntax
      o.trace.window_begin = w.begin;
      o.trace.window_end = w.end;
    } catch (const Error& e) {
      throw UsageError(fmt::format("{}: --trace-window: {}", prog, e.what()));
    }
  }
  auto tracer = std::make_unique<Tracer>("tracer", accelerator, o.trace);
  return tracer;
}

// Before any cycle runs: --trace-layer names a layer that runs on the array
// (`gemms`: array layer id -> its GEMM; `layers`: how many the model has),
// and --trace-window starts inside that layer's run.
void check_trace_target(const RunOptions& o, const std::map<int, GemmShape>& gemms, int layers, const ArrayConfig& array,
                        const std::string& prog, const std::string& what) {
  if (o.trace.vcd_path.empty() && o.trace.csv_path.empty()) return;
  std::string ids;
  for (const auto& [id, g] : gemms) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
  const int layer = o.trace.layer < 0 && !gemms.empty() ? gemms.begin()->first : o.trace.layer;
  if (layer < 0 || layer >= layers)
    throw UsageError(fmt::format("{}: --trace-layer {}: the {} has layers 0..{}; those on the array: {}", prog, layer, what,
                                 layers - 1, ids));
  const auto it = gemms.find(layer);
  if (it == gemms.end())
    throw UsageError(fmt::format("{}: --trace-layer {}: layer {} does not run on the array; those that do: {}", prog, layer,
                                 layer, ids));
  const std::int64_t edges = make_layer_schedule(it->second, array).edges();
  if (o.trace.window_begin >= edges)
    throw UsageError(fmt::format("{}: --trace-window {}: layer {} runs {} cycles (0:{})", prog, o.trace_window, layer, edges,
                                 edges));
}

void write_reports(const Config& config, const RunOptions& o, const std::vector<LayerReport>& layers,
                   const std::string& extra_yaml, CliStreams& io) {
  std::filesystem::create_directories(config.output_dir);
  const std::string resolved = write_resolved_config(config, config.output_dir);
  const std::string csv = config.output_dir + "/layers.csv";
  write_layer_csv(csv, layers);
  std::string yaml = fmt::format("array: {{rows: {}, cols: {}, timing: {}}}\n", config.array.rows, config.array.cols,
                                 to_string(config.array.timing));
  yaml += extra_yaml;
  yaml += "layers:\n";
  for (const auto& l : layers)
    yaml += fmt::format("  - id: {}\n    name: {}\n    gemm: {{m: {}, k: {}, n: {}}}\n", l.id, l.name, l.gemm.m,
                        l.gemm.k, l.gemm.n) +
            layer_stats_yaml(l.stats, "    ");
  yaml += "total:\n" + layer_stats_yaml(total_stats(layers), "  ");
  const std::string yaml_path = config.output_dir + "/run.yaml";
  write_file_atomically(yaml_path, yaml);
  io.out << fmt::format("wrote {}, {}, {}\n", csv, yaml_path, resolved);
  if (!o.scalesim_config.empty()) {
    const std::vector<std::string> written = write_scalesim_reports(config.output_dir, config.array, layers);
    io.out << fmt::format("wrote SCALE-Sim's reports {}\n", fmt::join(written, ", "));
  }
}

int run_topology(const Config& config, RunOptions& o, const std::string& prog, CliStreams& io) {
  const std::string& path = o.topology;
  const std::vector<TopologyLayer> topology = read_topology(path);
  Accelerator& accelerator = shared_accelerator();
  accelerator.configure(config.array);
  const std::unique_ptr<Tracer> tracer = make_tracer(accelerator, o, prog);
  io.out << fmt::format("topology {}: {} layers on the {}x{} array ({}), random int8 operands (seed {})\n", path,
                        topology.size(), config.array.rows, config.array.cols, to_string(config.array.timing),
                        config.campaign.seed);
  {
    std::map<int, GemmShape> gemms;
    for (std::size_t i = 0; i < topology.size(); ++i) gemms[static_cast<int>(i)] = topology[i].gemm();
    check_trace_target(o, gemms, static_cast<int>(topology.size()), config.array, prog, "topology");
  }
  Random random(config.campaign.seed);
  std::vector<LayerReport> reports;
  for (std::size_t i = 0; i < topology.size(); ++i) {
    const TopologyLayer& t = topology[i];
    const GemmShape g = t.gemm();
    // The layer's GEMM as a 1x1 convolution over a 1 x M image: the cycle
    // count depends only on M, K and N.
    LayerJob job;
    job.spec.kind = LayerKind::kConv2d;
    job.spec.in_channels = g.k, job.spec.out_channels = g.n;
    job.input_shape = Shape{g.k, 1, g.m};
    job.output_shape = Shape{g.n, 1, g.m};
    job.gemm = g;
    job.im2col = Im2col(job.spec, job.input_shape, job.output_shape);
    job.input.resize(static_cast<std::size_t>(g.m) * g.k);
    for (auto& v : job.input) v = static_cast<std::int8_t>(static_cast<int>(random.uniform_below(256)) - 128);
    std::vector<std::int8_t> weight(static_cast<std::size_t>(g.n) * g.k);
    for (auto& v : weight) v = static_cast<std::int8_t>(static_cast<int>(random.uniform_below(255)) - 127);
    job.weight = std::move(weight);
    job.bias.assign(static_cast<std::size_t>(g.n), 0);
    job.multiplier.assign(static_cast<std::size_t>(g.n), quantize_multiplier(1.0 / 1024));
    LayerReport r;
    r.id = static_cast<int>(i);
    r.name = t.name;
    r.gemm = g;
    accelerator.set_current_layer(static_cast<int>(i));
    const LayerResult result = accelerator.run_layer(job, &r.stats);
    // Check against the reference GEMM core (contract 1).
    std::vector<std::int8_t> a(static_cast<std::size_t>(g.m) * g.k);
    for (int m = 0; m < g.m; ++m)
      for (int k = 0; k < g.k; ++k) a[static_cast<std::size_t>(m) * g.k + k] = job.input[static_cast<std::size_t>(k) * g.m + m];
    std::vector<std::int32_t> acc(static_cast<std::size_t>(g.m) * g.n);
    gemm_s8s8s32(g.m, g.n, g.k, a.data(), job.weight.data(), job.bias.data(), acc.data());
    if (acc != result.acc) throw Error(fmt::format("layer {}: cycle-level accumulators differ from the reference GEMM", t.name));
    reports.push_back(r);
  }
  print_layer_table(io.out, reports);
  const LayerStats total = total_stats(reports);
  io.out << fmt::format("total: {} compute cycles, {} with drain, {} stall cycles; accumulators bit-exact with the "
                        "reference GEMM on every layer\n",
                        total.compute_cycles, total.total_cycles, total.stall_cycles);
  write_reports(config, o, reports, fmt::format("topology: {}\n", path), io);
  return kExitOk;
}

int run_main_job(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  RunOptions o;
  po::options_description desc("Options");
  desc.add_options()("config,c", po::value(&o.config_path)->default_value(o.config_path), "configuration file (YAML)")(
      "array", po::value(&o.array_path), "array configuration file (its array: section replaces the config's)")(
      "model", po::value(&o.model), "model: zoo name or model file (overrides the config's model)")(
      "images", po::value(&o.images), "test images begin:end (overrides dataset.images)")(
      "out", po::value(&o.out_dir), "directory for layers.csv, run.yaml, predictions.csv (overrides output.dir)")(
      "topology", po::value(&o.topology), "run a SCALE-Sim topology CSV with random int8 data instead of a model")(
      "scalesim-config", po::value(&o.scalesim_config),
      "take the array from a SCALE-Sim .cfg file (in SCALE-Sim's conventions) and also write its COMPUTE_REPORT.csv, "
      "BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv")(
      "param,p", po::value(&o.overrides)->composing(), "override a configuration key: -p key.path=value (repeatable)")(
      "inputs", po::value(&o.inputs), "images from a .npy file (dataset.format npy, dataset.inputs)")(
      "labels", po::value(&o.labels), "labels from a .npy file (dataset.labels)")(
      "trace-vcd", po::value(&o.trace.vcd_path), "write a VCD trace of the array registers (docs/traces.md)")(
      "trace-csv", po::value(&o.trace.csv_path), "write a CSV trace: one row per cycle and register")(
      "trace-layer", po::value(&o.trace.layer), "model layer (or topology row) to trace; default: the first array layer")(
      "trace-window", po::value(&o.trace_window), "layer-relative cycles START:END to trace (default: all)");
  po::variables_map values;
  if (parse_command_line(prog, "[--config FILE] [--array FILE] [--model NAME] [--images A:B] [-p key=value]...", desc,
                         {}, args, values, io))
    return kExitOk;
  // --model is an override like -p model=..., so that dataset.format auto follows it.
  std::vector<std::string> overrides = o.overrides;
  if (!o.model.empty()) overrides.push_back("model=" + o.model);
  if (!o.inputs.empty()) overrides.insert(overrides.end(), {"dataset.format=npy", "dataset.inputs=" + o.inputs});
  if (!o.labels.empty()) overrides.push_back("dataset.labels=" + o.labels);
  if (!o.out_dir.empty()) overrides.push_back("output.dir=" + o.out_dir);
  Config config = load_config(o.config_path, overrides);
  if (!o.array_path.empty()) config.array = load_config(o.array_path, o.overrides).array;
  if (!o.scalesim_config.empty()) {
    if (!o.array_path.empty())
      throw UsageError(fmt::format("{}: --array and --scalesim-config both give the array; use one", prog));
    apply_scalesim_config(read_scalesim_config(o.scalesim_config), config.array);
  }
  if (!o.images.empty()) {
    try {
      config.images = parse_image_range(o.images);
      config.images_origin = "the command line";
    } catch (const Error& e) {
      throw UsageError(fmt::format("{}: --images: {}", prog, e.what()));
    }
  }
  io.out << "isimdl run: " << o.config_path << (o.array_path.empty() ? "" : " with " + o.array_path)
         << (o.scalesim_config.empty() ? "" : " with SCALE-Sim's " + o.scalesim_config) << "\n";
  print_config_summary(config, io.out, /*campaign=*/false);
  if (!o.topology.empty()) return run_topology(config, o, prog, io);

  const auto start = std::chrono::steady_clock::now();
  Accelerator& accelerator = shared_accelerator();
  accelerator.configure(config.array);  // a bad array is an error before anything runs
  const std::unique_ptr<Tracer> tracer = make_tracer(accelerator, o, prog);
  const std::string model_path = resolve_model_path(config.model, default_zoo_dir());
  const QuantizedModel model = open_model(config.model, config.dataset);
  const MnistSplit test = open_test_set(config.dataset, model);
  if (config.images.end > test.images.count)
    throw ConfigError(images_past_end_message(config, test.images.count, config.dataset.format == "npy" ? config.dataset.inputs : config.dataset.resolved_dir()));
  io.out << fmt::format("{} on the {}x{} array ({}): {} images, layers without weights on the reference engine\n",
                        model_path, config.array.rows, config.array.cols, to_string(config.array.timing),
                        config.images.size());
  {
    std::map<int, GemmShape> gemms;
    for (int l = 0; l < model.arch.size(); ++l)
      if (model.arch.has_weights(l)) gemms[l] = model.arch.gemm(l);
    check_trace_target(o, gemms, model.arch.size(), config.array, prog, "model");
  }
  NetworkRunner runner(accelerator, model);
  std::vector<LayerStats> stats;
  InferenceTrace hw, golden;
  int hw_correct = 0, golden_correct = 0, mismatched_images = 0;
  std::string predictions = "image,label,golden_top1,hw_top1,bit_exact\n";
  for (int i = config.images.begin; i < config.images.end; ++i) {
    runner.run(test.images, i, hw, i == config.images.begin ? &stats : nullptr);
    runner.engine().run(test.images, i, golden);
    const bool exact = hw.acc == golden.acc && hw.out == golden.out;
    mismatched_images += !exact;
    const int label = test.labels[static_cast<std::size_t>(i)];
    const int hw_top1 = ReferenceEngine::top1(hw.logits()), golden_top1 = ReferenceEngine::top1(golden.logits());
    hw_correct += hw_top1 == label;
    golden_correct += golden_top1 == label;
    predictions += fmt::format("{},{},{},{},{}\n", i, label, golden_top1, hw_top1, exact ? 1 : 0);
    const int done = i - config.images.begin + 1;
    if (done % 50 == 0 && done < config.images.size())
      io.out << fmt::format("  {} / {} images ({:.1f} s)\n", done, config.images.size(),
                            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count())
             << std::flush;
  }
  std::vector<LayerReport> reports;
  for (int l = 0; l < model.arch.size(); ++l)
    if (model.arch.has_weights(l))
      reports.push_back(LayerReport{l, to_string(model.arch.layer(l).kind), model.arch.gemm(l), stats[static_cast<std::size_t>(l)]});
  print_layer_table(io.out, reports);
  const LayerStats total = total_stats(reports);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  io.out << fmt::format("per inference: {} compute cycles, {} with drain, {} stall cycles, {:.1f}% utilization\n",
                        total.compute_cycles, total.total_cycles, total.stall_cycles, 100 * total.utilization());
  io.out << fmt::format("accuracy on the cycle-level model: {} / {} ({:.2f}%); reference engine: {} / {}\n", hw_correct,
                        config.images.size(), 100.0 * hw_correct / config.images.size(), golden_correct,
                        config.images.size());
  io.out << fmt::format("bit-exact with the reference engine (every accumulator and output): {} of {} images\n",
                        config.images.size() - mismatched_images, config.images.size());
  io.out << fmt::format("{:.1f} s, {:.1f} inferences/s\n", seconds, config.images.size() / seconds);
  std::filesystem::create_directories(config.output_dir);
  write_file_atomically(config.output_dir + "/predictions.csv", predictions);
  write_reports(config, o,
                reports,
                fmt::format("model: {}\nimages: \"{}\"\naccuracy: {:.6f}\ngolden_accuracy: {:.6f}\nbit_exact_images: {}\n",
                            model_path, to_string(config.images), static_cast<double>(hw_correct) / config.images.size(),
                            static_cast<double>(golden_correct) / config.images.size(),
                            config.images.size() - mismatched_images),
                io);
  if (tracer)
    io.out << fmt::format("traced {} cycles{}{}\n", tracer->cycles_sampled(),
                          o.trace.vcd_path.empty() ? "" : " to " + o.trace.vcd_path,
                          o.trace.csv_path.empty() ? "" : fmt::format(" ({} CSV rows in {})", tracer->rows_written(), o.trace.csv_path));
  if (mismatched_images > 0)
    throw Error(fmt::format("{} images differ from the reference engine: contract 1 is broken", mismatched_images));
  return kExitOk;
}

}  // namespace

CliCommand run_command() {
  return {"run", "run a model (or a SCALE-Sim topology) on the cycle-level accelerator", run_main_job, {}};
}

}  // namespace isimdl
