// Commands around single faults and the faults that matter: explain-fault,
// find-critical, fault-accuracy and fat (fault-aware training).
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <ostream>

#include "hw/accelerator.h"
#include "hw/fault_equivalent.h"
#include "models/error.h"
#include "models/idx_reader.h"
#include "models/model_file.h"
#include "models/zoo.h"
#include "sampler/fault_space.h"
#include "runner/model_source.h"
#include "campaign/campaign.h"
#include "cli/cli.h"
#include "cli/cli_commands.h"
#include "config/config.h"
#include "campaign/critical_search.h"
#include "campaign/fault_aware_training.h"
#include "campaign/fault_list.h"
#include "runner/fault_simulator.h"
#include "campaign/progress.h"
#include "runner/network_runner.h"

namespace isimdl {
namespace po = boost::program_options;
namespace {

const char* kDefaultConfig = "configs/default.yaml";

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The options every command here shares: a configuration with the array,
// model, images and campaign settings, and the usual overrides.
struct CommonOptions {
  std::string config_path = kDefaultConfig;
  std::string array_path, model, images, inputs, labels;
  std::vector<std::string> overrides;
  bool quiet = false;

  void add_to(po::options_description& desc) {
    desc.add_options()("quiet,q", po::bool_switch(&quiet), "no progress line (shown only on a terminal anyway)");
    desc.add_options()("config,c", po::value(&config_path)->default_value(config_path), "configuration (YAML)")(
        "array", po::value(&array_path), "array configuration file (its array: section replaces the config's)")(
        "model", po::value(&model), "zoo name or model file (overrides model)")(
        "images", po::value(&images), "test images begin:end (overrides dataset.images)")(
        "inputs", po::value(&inputs), "images from a .npy file (dataset.format npy, dataset.inputs)")(
        "labels", po::value(&labels), "labels from a .npy file (dataset.labels)")(
        "param,p", po::value(&overrides)->composing(), "override a configuration key: -p key.path=value (repeatable)");
  }
  Config load(const std::string& prog) const {
    // --model is an override like -p model=..., so that dataset.format auto follows it.
    std::vector<std::string> all = overrides;
    if (!model.empty()) all.push_back("model=" + model);
    if (!inputs.empty()) all.insert(all.end(), {"dataset.format=npy", "dataset.inputs=" + inputs});
    if (!labels.empty()) all.push_back("dataset.labels=" + labels);
    Config config = load_config(config_path, all);
    if (!array_path.empty()) config.array = load_config(array_path, overrides).array;
    if (!images.empty()) {
      try {
        config.images = parse_image_range(images);
        config.images_origin = "the command line";
      } catch (const Error& e) {
        throw UsageError(fmt::format("{}: --images: {}", prog, e.what()));
      }
    }
    return config;
  }
};

QuantizedModel load_config_model(const Config& config) {
  return open_model(config.model, config.dataset);
}

MnistSplit load_test_set(const Config& config, const QuantizedModel& model) {
  MnistSplit data = open_test_set(config.dataset, model);
  if (config.images.end > data.images.count)
    throw ConfigError(images_past_end_message(config, data.images.count, config.dataset.format == "npy" ? config.dataset.inputs : config.dataset.resolved_dir()));
  return data;
}

std::string describe_site(const FaultSite& f) {
  std::string text = fmt::format("layer {} {}[{}] bit {} cycle {} {}", f.layer, register_info(f.group).group_name,
                                 f.index, f.bit, f.cycle, to_string(f.kind));
  if (f.kind == FaultKind::kAdjacentBits) text += fmt::format(" width {}", f.width);
  if (f.kind == FaultKind::kStuckAt0 || f.kind == FaultKind::kStuckAt1) text += fmt::format(" duration {}", f.duration);
  return text;
}

int explain_fault_command(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  CommonOptions common;
  std::string fault_text, fault_list;
  int row = 1, image = -1;
  po::options_description desc("Options");
  common.add_to(desc);
  desc.add_options()("fault", po::value(&fault_text),
                     "the fault: \"layer=L cycle=T group=G index=I bit=B [kind=K width=W duration=D]\"")(
      "fault-list", po::value(&fault_list), "take the fault from this TSV fault list")(
      "row", po::value(&row)->default_value(row), "with --fault-list: which fault (1 = the first)")(
      "image", po::value(&image), "test image the equivalent is derived for (default: the first of dataset.images)");
  po::variables_map values;
  if (parse_command_line(prog, "--fault \"layer=L cycle=T group=G index=I bit=B\" | --fault-list FILE [--row N]", desc,
                         {}, args, values, io))
    return kExitOk;
  if (fault_text.empty() == fault_list.empty()) throw UsageError(prog + ": give exactly one of --fault and --fault-list");
  const Config config = common.load(prog);
  const QuantizedModel model = load_config_model(config);
  const MnistSplit data = load_test_set(config, model);
  if (image < 0) image = config.images.begin;
  if (image >= data.images.count) throw UsageError(fmt::format("{}: --image {}: there are {} test images", prog, image, data.images.count));
  FaultSite site;
  if (!fault_list.empty()) {
    const FaultSpace space(model, config.array, all_register_groups(), FaultKind::kBitFlip);
    const FaultList list = read_fault_list(fault_list, space);
    if (row < 1 || row > static_cast<int>(list.faults.size()))
      throw UsageError(fmt::format("{}: --row {}: {} has {} faults", prog, row, fault_list, list.faults.size()));
    site = list.faults[static_cast<std::size_t>(row - 1)];
  } else {
    site = parse_fault_site(fault_text);
  }
  if (site.layer < 0 || site.layer >= model.arch.size() || !model.arch.has_weights(site.layer))
    throw Error(fmt::format("fault layer {} is not a layer that runs on the array (array layers: {})", site.layer,
                            [&] {
                              std::string s;
                              for (int l = 0; l < model.arch.size(); ++l)
                                if (model.arch.has_weights(l)) s += (s.empty() ? "" : ", ") + std::to_string(l);
                              return s;
                            }()));
  Accelerator& accelerator = shared_accelerator();
  accelerator.configure(config.array);
  FaultSimulator simulator(accelerator, model, data);
  const InferenceTrace& golden = simulator.golden(image);
  const auto ctx = make_layer_oracle(model, site.layer, golden, config.array);
  const auto l = static_cast<std::size_t>(site.layer);
  const LayerSpec& spec = model.arch.layer(site.layer);
  const GemmShape g = ctx->job.gemm;
  const FaultEquivalent eq = fault_equivalent(*ctx, site);  // checks the fault first
  io.out << fmt::format("fault: {}\n", describe_site(site));
  io.out << fmt::format("layer {}: {} (GEMM M={} K={} N={}), {} folds on the {}x{} array, {} cycles; test image {}\n",
                        site.layer, spec.kind == LayerKind::kConv2d ? "Conv2d" : "Linear", g.m, g.k, g.n,
                        ctx->schedule.folds.size(), config.array.rows, config.array.cols, ctx->schedule.edges(), image);
  io.out << explain_equivalent(eq, site, *ctx, golden.acc[l], golden.out[l]);
  // The cycle-level model, for the record: the same fault injected.
  NetworkRunner runner(accelerator, model);
  InferenceTrace simulated = golden;
  InjectionRecord record;
  runner.run_array_layer(site.layer, simulated, nullptr, &site, &record);
  if (eq.expressible) {
    std::vector<std::int32_t> acc = golden.acc[l];
    std::vector<std::int8_t> out = golden.out[l];
    apply_equivalent(eq, ctx->job, acc, out);
    const bool same = acc == simulated.acc[l] && out == simulated.out[l];
    io.out << fmt::format("cycle-level model with the fault injected: layer output {} the equivalent's\n",
                          same ? "identical to" : "DIFFERS FROM");
    if (!same) throw Error("the software-level equivalent disagrees with the cycle-level model (a bug: please report)");
  }
  const FaultResult r = simulator.run_fast(site, image);
  io.out << fmt::format("on image {} (label {}): {}, top-1 {} (golden {}), error died at: {}\n", image,
                        data.labels[static_cast<std::size_t>(image)], to_string(r.outcome), r.top1,
                        ReferenceEngine::top1(golden.logits()), to_string(r.died));
  return kExitOk;
}

int find_critical_command(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  CommonOptions common;
  CriticalSearchOptions o;
  std::string sampler, out_path, csv_path;
  long long seed = -1;
  po::options_description desc("Options");
  common.add_to(desc);
  desc.add_options()("drop", po::value(&o.drop)->default_value(o.drop, fmt::format("{}", o.drop)),
                     "relative accuracy drop on the images that makes a fault critical")(
      "count", po::value(&o.count)->default_value(o.count), "distinct critical faults to find")(
      "sampler", po::value(&sampler), "importance or uniform (overrides campaign.sampler)")(
      "seed", po::value(&seed), "overrides campaign.seed")(
      "max-simulations", po::value(&o.max_simulations)->default_value(o.max_simulations),
      "give up after this many faults simulated")("out", po::value(&out_path),
                                                    "write the faults found as a fault list (TSV)")(
      "csv", po::value(&csv_path), "append one result row to this CSV (for experiments; header written when new)");
  po::variables_map values;
  if (parse_command_line(prog, "[--model NAME] [--drop D] [--count N] [--sampler importance|uniform] [--seed S]", desc,
                         {}, args, values, io))
    return kExitOk;
  std::vector<std::string> overrides = common.overrides;
  if (!sampler.empty()) overrides.push_back("campaign.sampler=" + sampler);
  if (seed >= 0) overrides.push_back("campaign.seed=" + std::to_string(seed));
  CommonOptions with = common;
  with.overrides = overrides;
  const Config config = with.load(prog);
  const QuantizedModel model = load_config_model(config);
  const MnistSplit data = load_test_set(config, model);
  io.out << fmt::format("find-critical: {} on {}x{}, {} sampling (seed {}), faults until {} reach a {:.0f}% drop on "
                        "images {}\n",
                        config.model, config.array.rows, config.array.cols, to_string(config.campaign.sampler),
                        config.campaign.seed, o.count, 100 * o.drop, to_string(config.images));
  o.show_progress = Progress::wanted(common.quiet);
  const CriticalSearchResult r = find_critical(config, model, data, o, io.out);
  io.out << fmt::format("golden accuracy {:.2f}%; {} of {} found with {} fault simulations ({} draws, {} (fault, image) "
                        "evaluations) in {:.1f} s ({:.1f} s building the sampler){}\n",
                        100 * r.golden_accuracy, r.found.size(), o.count, r.simulations, r.draws, r.evaluations,
                        r.seconds, r.setup_seconds, r.budget_exhausted ? "; budget exhausted" : "");
  if (!out_path.empty()) {
    FaultList list;
    for (const auto& f : r.found) list.faults.push_back(f.site);
    list.weights.assign(list.faults.size(), 1.0);
    write_fault_list(out_path, list);
    io.out << "wrote " << out_path << "\n";
  }
  if (!csv_path.empty()) {
    const bool fresh = !std::filesystem::exists(csv_path);
    std::ofstream csv(csv_path, std::ios::app);
    if (!csv) throw Error(csv_path + ": cannot open for appending");
    if (fresh)
      csv << "model,array,sampler,seed,drop,count,found,simulations,draws,evaluations,seconds,setup_seconds,"
             "budget_exhausted\n";
    csv << fmt::format("{},{}x{},{},{},{},{},{},{},{},{},{:.3f},{:.3f},{}\n", config.model, config.array.rows,
                       config.array.cols, to_string(config.campaign.sampler), config.campaign.seed, o.drop, o.count,
                       r.found.size(), r.simulations, r.draws, r.evaluations, r.seconds, r.setup_seconds,
                       r.budget_exhausted ? 1 : 0);
  }
  return kExitOk;
}

// Clean accuracy and accuracy under each fault of a list, on the config's images.
// --fault-list FILE, as campaign and explain-fault call it; --faults, its
// older name here, is still read.
void add_fault_list_option(po::options_description& desc, std::string& path, std::string& old_name) {
  desc.add_options()("fault-list", po::value(&path), "fault list (TSV, docs/campaigns.md)")(
      "faults", po::value(&old_name), "the same (older name)");
}
std::string fault_list_path(const std::string& prog, const std::string& path, const std::string& old_name) {
  if (!path.empty() && !old_name.empty()) throw UsageError(prog + ": give --fault-list once (--faults is its older name)");
  if (path.empty() && old_name.empty()) throw UsageError(prog + ": --fault-list FILE is required");
  return path.empty() ? old_name : path;
}

std::vector<FaultSite> read_faults(const std::string& path, const Config& config, const QuantizedModel& model) {
  const FaultSpace space(model, config.array, all_register_groups(), FaultKind::kBitFlip);
  return read_fault_list(path, space).faults;
}

void print_fault_accuracy(const std::string& title, const FaultAccuracy& a, const std::vector<FaultSite>& faults,
                          bool each, std::ostream& out) {
  out << fmt::format("{}: clean {:.2f}%; under {} faults mean {:.2f}%, min {:.2f}%\n", title, 100 * a.clean,
                     faults.size(), 100 * a.mean(), 100 * a.min());
  if (each)
    for (std::size_t i = 0; i < faults.size(); ++i)
      out << fmt::format("  {:>6.2f}%  {}\n", 100 * a.under[i], describe_site(faults[i]));
}

int fault_accuracy_command(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  CommonOptions common;
  std::string faults_path, old_name;
  po::options_description desc("Options");
  common.add_to(desc);
  add_fault_list_option(desc, faults_path, old_name);
  po::variables_map values;
  if (parse_command_line(prog, "--fault-list FILE [--model NAME|FILE] [--images A:B]", desc, {}, args, values, io))
    return kExitOk;
  faults_path = fault_list_path(prog, faults_path, old_name);
  const Config config = common.load(prog);
  const QuantizedModel model = load_config_model(config);
  const MnistSplit data = load_test_set(config, model);
  const std::vector<FaultSite> faults = read_faults(faults_path, config, model);
  print_fault_accuracy(fmt::format("{} on images {}", config.model, to_string(config.images)),
                       measure_fault_accuracy(config, model, data, faults, Progress::wanted(common.quiet)), faults, true,
                       io.out);
  return kExitOk;
}

int fat_command(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  CommonOptions common;
  std::string faults_path, old_name, held_out_path, out_path;
  FatOptions o;
  o.train.epochs = 1;
  o.train.learning_rate = 1e-4;
  o.train.batch = 64;
  po::options_description desc("Options");
  common.add_to(desc);
  add_fault_list_option(desc, faults_path, old_name);
  desc.add_options()("out", po::value(&out_path)->required(), "hardened model file to write")(
      "epochs", po::value(&o.train.epochs)->default_value(o.train.epochs), "fine-tuning epochs")(
      "lr", po::value(&o.train.learning_rate)->default_value(o.train.learning_rate, fmt::format("{}", o.train.learning_rate)), "Adam learning rate")(
      "batch", po::value(&o.train.batch)->default_value(o.train.batch), "batch size")(
      "seed", po::value(&o.train.seed)->default_value(o.train.seed), "shuffling and fault draws")(
      "train-images", po::value(&o.train.train_images)->default_value(0), "use the first N training images (0: all)")(
      "fault-probability", po::value(&o.fault_probability)->default_value(o.fault_probability),
      "share of training steps that carry a fault")(
      "held-out", po::value(&held_out_path), "a second fault list, not trained on, evaluated before and after");
  po::variables_map values;
  if (parse_command_line(prog, "--model NAME|FILE --fault-list FILE --out FILE [--epochs N] [--held-out FILE]", desc, {},
                         args, values, io))
    return kExitOk;
  faults_path = fault_list_path(prog, faults_path, old_name);
  const bool show = Progress::wanted(common.quiet);
  if (o.train.epochs < 1 || o.train.batch < 1 || !(o.train.learning_rate > 0))
    throw UsageError(prog + ": --epochs and --batch must be at least 1 and --lr positive");
  if (!(o.fault_probability >= 0 && o.fault_probability <= 1))
    throw UsageError(prog + ": --fault-probability must be in [0, 1]");
  const auto start = std::chrono::steady_clock::now();
  Config config = common.load(prog);
  const QuantizedModel model = load_config_model(config);
  if (model.float_params.empty())
    throw Error(config.model + ": the model file carries no float weights; fault-aware training needs them");
  // Without --images, accuracy is measured on the whole test set.
  if (common.images.empty()) config.images = ImageRange{0, open_test_set(config.dataset, model).images.count};
  const MnistSplit test_set = load_test_set(config, model);
  const MnistSplit train_set = open_train_set(config.dataset, model);
  const std::vector<FaultSite> faults = read_faults(faults_path, config, model);
  std::vector<FaultSite> held_out;
  if (!held_out_path.empty()) held_out = read_faults(held_out_path, config, model);
  io.out << fmt::format("fat: {} on {}x{}, {} training faults from {}, {} epoch(s), lr {}, batch {}\n", config.model,
                        config.array.rows, config.array.cols, faults.size(), faults_path, o.train.epochs,
                        o.train.learning_rate, o.train.batch);
  const FaultAccuracy train_before = measure_fault_accuracy(config, model, test_set, faults, show);
  print_fault_accuracy(fmt::format("before, training faults, images {}", to_string(config.images)), train_before,
                       faults, false, io.out);
  FaultAccuracy held_before;
  if (!held_out.empty()) {
    held_before = measure_fault_accuracy(config, model, test_set, held_out, show);
    print_fault_accuracy("before, held-out faults", held_before, held_out, false, io.out);
  }
  // A progress line per reported batch, with the epoch's ETA.
  double epoch_start = 0;
  auto progress = [&](int done, int total, double loss) {
    const double elapsed = seconds_since(start);
    if (done <= 1) epoch_start = elapsed;
    const double per_batch = (elapsed - epoch_start) / std::max(1, done);
    io.out << fmt::format("  batch {}/{}  loss {:.4f}  ({:.0f} s, epoch ETA {:.0f} s)\n", done, total, loss, elapsed,
                          per_batch * (total - done))
           << std::flush;
  };
  auto on_epoch = [&](const EpochReport& r) {
    io.out << fmt::format("epoch {}: loss {:.4f}, train accuracy under faults {:.2f}%\n", r.epoch, r.mean_loss,
                          100 * r.train_accuracy)
           << std::flush;
  };
  FatStepStats stats;
  const QuantizedModel hardened =
      fault_aware_training(model, config.array, faults, train_set, o, on_epoch, progress, &stats);
  io.out << fmt::format("{} steps, {} with a fault; the fault changed the layer output of {} training images\n",
                        stats.steps, stats.faulty_steps, stats.images_changed);
  save_model(hardened, out_path);
  io.out << "wrote " << out_path << "\n";
  const FaultAccuracy train_after = measure_fault_accuracy(config, hardened, test_set, faults, show);
  print_fault_accuracy("after, training faults", train_after, faults, false, io.out);
  if (!held_out.empty()) print_fault_accuracy("after, held-out faults", measure_fault_accuracy(config, hardened, test_set, held_out, show), held_out, false, io.out);
  io.out << fmt::format("done in {:.0f} s\n", seconds_since(start));
  return kExitOk;
}

}  // namespace

std::vector<CliCommand> fault_commands() {
  return {
      {"explain-fault", "a register fault's software-level equivalent in words, checked against the cycle-level model",
       explain_fault_command, {}},
      {"find-critical", "simulate faults until N distinct ones reach an accuracy drop; report the cost",
       find_critical_command, {}},
      {"fault-accuracy", "clean accuracy and accuracy under each fault of a fault list", fault_accuracy_command, {}},
      {"fat", "fault-aware training: fine-tune a model with faults applied through their equivalents", fat_command, {}},
  };
}

}  // namespace isimdl
