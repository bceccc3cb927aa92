// isimdl sweep: every (rows, cols) array for one model, in parallel worker
// processes, into one table.
#include <fmt/format.h>
#include <cerrno>
#include <algorithm>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <ostream>
#include <sstream>

#include "models/error.h"
#include "models/idx_reader.h"
#include "models/model_file.h"
#include "models/zoo.h"
#include "runner/model_source.h"
#include "cli/cli.h"
#include "cli/cli_commands.h"
#include "config/config.h"
#include "campaign/mpi_ranks.h"
#include "campaign/progress.h"
#include "campaign/worker_pool.h"
#include "campaign/sweep.h"

namespace isimdl {
namespace po = boost::program_options;
namespace {

std::vector<int> parse_list(const std::string& text, const std::string& option, const std::string& prog,
                            int largest = 256) {
  std::vector<int> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      std::size_t used = 0;
      const int v = std::stoi(item, &used);
      if (used != item.size() || v < 1 || v > largest) throw std::invalid_argument(item);
      values.push_back(v);
    } catch (const std::exception&) {
      throw UsageError(
          fmt::format("{}: {}: expected comma-separated sizes in 1..{}, got \"{}\"", prog, option, largest, item));
    }
  }
  if (values.empty()) throw UsageError(fmt::format("{}: {}: empty list", prog, option));
  return values;
}

std::vector<std::string> parse_names(const std::string& text, const std::vector<std::string>& allowed,
                                     const std::string& option, const std::string& prog) {
  std::vector<std::string> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (std::find(allowed.begin(), allowed.end(), item) == allowed.end()) {
      std::string expected;
      for (const auto& a : allowed) expected += (expected.empty() ? "" : ", ") + a;
      throw UsageError(fmt::format("{}: {}: \"{}\" is not one of {}", prog, option, item, expected));
    }
    values.push_back(item);
  }
  if (values.empty()) throw UsageError(fmt::format("{}: {}: empty list", prog, option));
  return values;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int sweep_body(const std::vector<std::string>& args, const std::string& prog, CliStreams& io, MpiRanks* mpi) {
  std::string config_path = "configs/default.yaml", model, rows_text = "4,8,16,32", cols_text = "4,8,16,32", timing,
              out_dir = "results/sweep", images, dataflows_text, buffers_text;
  std::vector<std::string> overrides;
  int vulnerability = 0, jobs = 1;
  po::options_description desc("Options");
  bool quiet = false;
  desc.add_options()("config,c", po::value(&config_path)->default_value(config_path), "base configuration (YAML)")(
      "model", po::value(&model), "zoo name or model file (overrides model)")(
      "rows", po::value(&rows_text)->default_value(rows_text), "PE rows to try, comma-separated")(
      "cols", po::value(&cols_text)->default_value(cols_text), "PE columns to try, comma-separated")(
      "timing", po::value(&timing), "timing modes to try, comma-separated: scalesim, double_buffered (default: array.timing)")(
      "dataflows", po::value(&dataflows_text), "dataflows to try, comma-separated: ws, os, is (default: array.dataflow)")(
      "buffers-kib", po::value(&buffers_text),
      "every on-chip buffer's size in KiB, comma-separated sizes to try (default: the config's)")(
      "vulnerability", po::value(&vulnerability)->default_value(0),
      "per configuration, an N-fault ISimDL campaign: critical-fault rate with its 95% interval")(
      "images", po::value(&images), "test images begin:end for the campaigns (overrides dataset.images)")(
      "jobs,j", po::value(&jobs)->default_value(jobs), "configurations run in parallel (worker processes)")(
      "out", po::value(&out_dir)->default_value(out_dir), "directory for sweep.csv and sweep_layers.csv")(
      "quiet,q", po::bool_switch(&quiet), "no progress line (shown only on a terminal anyway)")(
      "param,p", po::value(&overrides)->composing(), "override a configuration key for every configuration (repeatable)");
  po::variables_map values;
  if (parse_command_line(prog,
                         "[--model NAME] [--rows 4,8,16] [--cols 4,8,16] [--dataflows ws,os,is] [--timing scalesim,double_buffered] "
                         "[--buffers-kib 64,256] [--vulnerability N] [--jobs N]",
                         desc, {},
                         args, values, io))
    return kExitOk;
  if (vulnerability < 0) throw UsageError(prog + ": --vulnerability must be >= 0");
  if (jobs < 1) throw UsageError(prog + ": --jobs must be at least 1");
  if (!model.empty()) overrides.push_back("model=" + model);
  if (!images.empty()) overrides.push_back("dataset.images=" + images);
  const std::vector<int> rows = parse_list(rows_text, "--rows", prog), cols = parse_list(cols_text, "--cols", prog);
  // Empty lists: the base configuration's value.
  std::vector<std::string> dataflows{""}, timings{""}, buffers{""};
  if (!dataflows_text.empty()) dataflows = parse_names(dataflows_text, {"ws", "os", "is"}, "--dataflows", prog);
  if (!timing.empty()) timings = parse_names(timing, timing_mode_names(), "--timing", prog);
  if (!buffers_text.empty()) {
    buffers.clear();
    for (int kib : parse_list(buffers_text, "--buffers-kib", prog, 1 << 20)) buffers.push_back(std::to_string(kib));
  }
  // Every configuration is validated before anything runs: dataflow, timing,
  // buffers, then the array shapes (the table's order).
  std::vector<Config> configs;
  for (const std::string& d : dataflows)
    for (const std::string& t : timings)
      for (const std::string& b : buffers)
        for (int r : rows)
          for (int c : cols) {
            std::vector<std::string> o = overrides;
            if (!d.empty()) o.push_back("array.dataflow=" + d);
            if (!t.empty()) o.push_back("array.timing=" + t);
            if (!b.empty())
              for (const char* name : {"ifmap_kib", "weight_kib", "accumulator_kib", "output_kib"})
                o.push_back(fmt::format("array.buffers.{}={}", name, b));
            o.push_back(fmt::format("array.rows={}", r));
            o.push_back(fmt::format("array.cols={}", c));
            configs.push_back(load_config(config_path, o));
          }
  const Config& base = configs.front();
  const QuantizedModel q = open_model(base.model, base.dataset);
  const MnistSplit data = open_test_set(base.dataset, q);
  if (base.images.end > data.images.count)
    throw ConfigError(images_past_end_message(base, data.images.count,
                                              base.dataset.format == "npy" ? base.dataset.inputs : base.dataset.resolved_dir()));
  std::filesystem::create_directories(out_dir);
  io.out << fmt::format("sweep: {} on {} configurations ({} x {}), dataflow {}, timing {}{}, {} job(s)\n", base.model,
                        configs.size(), rows_text, cols_text, dataflows_text.empty() ? to_string(base.array.dataflow) : dataflows_text,
                        timing.empty() ? to_string(base.array.timing) : timing,
                        vulnerability > 0 ? fmt::format(", {}-fault ISimDL campaign each on images {}", vulnerability,
                                                        to_string(base.images))
                                          : std::string(),
                        jobs);
  // Workers write one part file per configuration; the parent merges them
  // in configuration order, so the table does not depend on --jobs.
  const std::string parts = out_dir + "/.sweep-parts";
  std::filesystem::create_directories(parts);
  auto part = [&](std::size_t i) { return fmt::format("{}/{}", parts, i); };
  auto run_point = [&](std::size_t i) {
    const SweepPoint p = run_sweep_point(configs[i], q, data, vulnerability);
    std::ofstream(part(i) + ".groups") << sweep_groups_csv_rows(p);
    std::ofstream(part(i) + ".layers") << sweep_layers_csv_rows(p);
    std::ofstream(part(i) + ".row") << sweep_csv_row(p);  // last: a part is finished when its row exists
  };
  const int workers = mpi ? 1 : std::min<int>(jobs, static_cast<int>(configs.size()));
  Progress progress(std::cerr, "configurations", static_cast<std::int64_t>(configs.size()),
                    Progress::wanted(quiet) && !mpi);
  auto finished = [&] {
    std::int64_t n = 0;
    for (std::size_t i = 0; i < configs.size(); ++i) n += std::filesystem::exists(part(i) + ".row");
    return n;
  };
  if (mpi) {
    // Configurations across the ranks: each result is its table row
    // (length-prefixed) and its layer rows.
    const std::vector<std::string> results = mpi->farm(configs.size(), [&](std::size_t i) {
      const SweepPoint p = run_sweep_point(configs[i], q, data, vulnerability);
      const std::string row = sweep_csv_row(p), layer_rows = sweep_layers_csv_rows(p);
      return fmt::format("{} {}\n", row.size(), layer_rows.size()) + row + layer_rows + sweep_groups_csv_rows(p);
    });
    if (mpi->rank() > 0) return kExitOk;
    for (std::size_t i = 0; i < configs.size(); ++i) {
      const std::string& r = results[i];
      const std::size_t eol = r.find('\n');
      std::stringstream sizes(r.substr(0, eol));
      std::size_t row_size = 0, layers_size = 0;
      sizes >> row_size >> layers_size;
      std::ofstream(part(i) + ".layers") << r.substr(eol + 1 + row_size, layers_size);
      std::ofstream(part(i) + ".groups") << r.substr(eol + 1 + row_size + layers_size);
      std::ofstream(part(i) + ".row") << r.substr(eol + 1, row_size);
    }
  } else if (workers == 1) {
    for (std::size_t i = 0; i < configs.size(); ++i) {
      run_point(i);
      progress.update(static_cast<std::int64_t>(i + 1));
    }
  } else {
    // The campaign's worker pool; a worker's error goes to a file the
    // message below quotes if its configuration has no result.
    WorkerPool pool;
    for (int w = 0; w < workers; ++w)
      pool.launch(w, [&, w] {
        try {
          for (std::size_t i = static_cast<std::size_t>(w); i < configs.size(); i += static_cast<std::size_t>(workers))
            run_point(i);
        } catch (const std::exception& e) {
          std::ofstream(fmt::format("{}/error-{}", parts, w)) << e.what();
          throw;
        }
      });
    while (pool.wait([&] { progress.update(finished()); })) {
    }
    progress.update(finished());
  }
  progress.finish();
  std::string table = sweep_csv_header(), layers = sweep_layers_csv_header(), groups = sweep_groups_csv_header();
  for (std::size_t i = 0; i < configs.size(); ++i) {
    if (!std::filesystem::exists(part(i) + ".row")) {
      std::string why;
      for (int w = 0; w < workers; ++w)
        if (std::filesystem::exists(fmt::format("{}/error-{}", parts, w)))
          why += " " + read_text(fmt::format("{}/error-{}", parts, w));
      throw Error(fmt::format("sweep: configuration {}x{} {} {} produced no result:{}", configs[i].array.rows,
                              configs[i].array.cols, to_string(configs[i].array.dataflow), to_string(configs[i].array.timing),
                              why.empty() ? " its worker died" : why));
    }
    table += read_text(part(i) + ".row");
    layers += read_text(part(i) + ".layers");
    groups += read_text(part(i) + ".groups");
  }
  std::filesystem::remove_all(parts);
  write_file_atomically(out_dir + "/sweep.csv", table);
  write_file_atomically(out_dir + "/sweep_layers.csv", layers);
  if (vulnerability > 0) write_file_atomically(out_dir + "/sweep_groups.csv", groups);
  write_resolved_config(base, out_dir);
  // The printed summary, from the table just written.
  io.out << fmt::format("{:>4} {:>15} {:>7} {:>5} {:>5} {:>12} {:>12} {:>7} {:>8} {:>12} {:>14}{}\n", "flow", "timing",
                        "buf KiB", "rows", "cols", "cycles", "stalls", "util%", "mapping%", "DRAM bytes", "fault sites",
                        vulnerability > 0 ? fmt::format(" {:>24}", "critical rate [95% CI]") : std::string());
  std::stringstream rows_in(table);
  std::string line;
  std::getline(rows_in, line);
  while (std::getline(rows_in, line)) {
    const auto f = sweep_csv_fields(line);
    const long long dram =
        std::stoll(f.at("dram_ifmap_bytes")) + std::stoll(f.at("dram_weight_bytes")) + std::stoll(f.at("dram_output_bytes"));
    io.out << fmt::format("{:>4} {:>15} {:>7} {:>5} {:>5} {:>12} {:>12} {:>7.1f} {:>8.1f} {:>12} {:>14}{}\n",
                          f.at("dataflow"), f.at("timing"), f.at("buffers_kib"), f.at("rows"), f.at("cols"),
                          f.at("total_cycles"), f.at("stall_cycles"), 100 * std::stod(f.at("utilization")),
                          100 * std::stod(f.at("mapping_efficiency")), dram, f.at("fault_sites"),
                          vulnerability > 0 ? fmt::format(" {:>9.3g} [{:.3g}, {:.3g}]", std::stod(f.at("critical_rate")),
                                                          std::stod(f.at("critical_rate_lo")),
                                                          std::stod(f.at("critical_rate_hi")))
                                            : std::string());
  }
  io.out << fmt::format("wrote {0}/sweep.csv, {0}/sweep_layers.csv{1}\n", out_dir,
                        vulnerability > 0 ? fmt::format(", {}/sweep_groups.csv", out_dir) : std::string());
  return kExitOk;
}

}  // namespace

// Under mpirun (several ranks) the configurations are shared among the
// ranks; rank 0 prints and writes the tables, and an error on any rank ends
// the job.
int sweep_command(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  return with_mpi_ranks(prog, io, false, [&](CliStreams& rank_io, MpiRanks* mpi) { return sweep_body(args, prog, rank_io, mpi); });
}

CliCommand sweep_command_entry() {
  return {"sweep", "architects' design-space sweep over PE-array sizes: cycles, traffic, fault sites, vulnerability",
          sweep_command, {}};
}

}  // namespace isimdl
