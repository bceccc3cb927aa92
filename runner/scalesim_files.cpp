#include "runner/scalesim_files.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "models/atomic_file.h"
#include "models/error.h"

namespace isimdl {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct Entry {
  std::string value;
  int line = 0;
};

// section -> key (lower case) -> value, as configparser reads them.
using Ini = std::map<std::string, std::map<std::string, Entry>>;

Ini parse_ini(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot open the SCALE-Sim configuration file");
  Ini ini;
  std::string raw, section;
  int line = 0;
  while (std::getline(in, raw)) {
    ++line;
    const std::string text = trim(raw);
    if (text.empty() || text[0] == '#' || text[0] == ';') continue;
    if (text.front() == '[') {
      if (text.back() != ']' || text.size() < 3)
        throw ConfigError(fmt::format("{}:{}: a section header must read [name], got \"{}\"", path, line, text));
      section = lower(trim(text.substr(1, text.size() - 2)));
      ini[section];
      continue;
    }
    const auto sep = text.find_first_of("=:");
    if (sep == std::string::npos || sep == 0)
      throw ConfigError(fmt::format("{}:{}: expected \"key = value\" or \"key: value\", got \"{}\"", path, line, text));
    if (section.empty())
      throw ConfigError(fmt::format("{}:{}: \"{}\" comes before any [section]", path, line, text));
    ini[section][lower(trim(text.substr(0, sep)))] = Entry{trim(text.substr(sep + 1)), line};
  }
  return ini;
}

const Entry& get(const Ini& ini, const std::string& path, const std::string& section, const std::string& key) {
  const auto s = ini.find(section);
  if (s == ini.end()) throw ConfigError(fmt::format("{}: the section [{}] is missing (it must give {})", path, section, key));
  const auto k = s->second.find(lower(key));
  if (k == s->second.end()) throw ConfigError(fmt::format("{}: [{}] has no {}", path, section, key));
  return k->second;
}

int positive_int(const Entry& e, const std::string& path, const std::string& key, int max) {
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(e.value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != e.value.size() || v < 1 || v > max)
    throw ConfigError(fmt::format("{}:{}: {} must be a whole number in 1..{}, got \"{}\"", path, e.line, key, max, e.value));
  return static_cast<int>(v);
}

}  // namespace

ScaleSimConfig read_scalesim_config(const std::string& path) {
  const Ini ini = parse_ini(path);
  ScaleSimConfig c;
  c.run_name = get(ini, path, "general", "run_name").value;
  const Entry& mode = get(ini, path, "run_presets", "InterfaceBandwidth");
  if (mode.value == "USER")
    c.user_bandwidth = true;
  else if (mode.value != "CALC")
    throw ConfigError(fmt::format("{}:{}: InterfaceBandwidth must be USER or CALC, got \"{}\"", path, mode.line, mode.value));
  const std::string arch = "architecture_presets";
  c.array_height = positive_int(get(ini, path, arch, "ArrayHeight"), path, "ArrayHeight", 1024);
  c.array_width = positive_int(get(ini, path, arch, "ArrayWidth"), path, "ArrayWidth", 1024);
  c.ifmap_sram_kb = positive_int(get(ini, path, arch, "IfmapSramSzkB"), path, "IfmapSramSzkB", 1 << 22);
  c.filter_sram_kb = positive_int(get(ini, path, arch, "FilterSramSzkB"), path, "FilterSramSzkB", 1 << 22);
  c.ofmap_sram_kb = positive_int(get(ini, path, arch, "OfmapSramSzkB"), path, "OfmapSramSzkB", 1 << 22);
  const Entry& df = get(ini, path, arch, "Dataflow");
  c.dataflow = lower(df.value);
  if (c.dataflow != "ws" && c.dataflow != "os" && c.dataflow != "is")
    throw ConfigError(fmt::format("{}:{}: Dataflow must be ws, os or is, got \"{}\"", path, df.line, df.value));
  if (c.user_bandwidth) {
    const Entry& bw = get(ini, path, arch, "Bandwidth");
    std::stringstream list(bw.value);
    std::string item;
    while (std::getline(list, item, ','))
      c.bandwidths.push_back(positive_int(Entry{trim(item), bw.line}, path, "Bandwidth", 1 << 20));
    if (c.bandwidths.empty())
      throw ConfigError(fmt::format("{}:{}: InterfaceBandwidth USER needs a Bandwidth", path, bw.line));
  }
  return c;
}

void apply_scalesim_config(const ScaleSimConfig& cfg, ArrayConfig& array) {
  array.dataflow = dataflow_from_string(cfg.dataflow);
  array.rows = cfg.array_height;
  array.cols = cfg.array_width;
  array.timing = TimingMode::kScaleSim;
  array.m_tiling = MTiling::kScaleSim;
  array.buffers.ifmap_kib = cfg.ifmap_sram_kb;
  array.buffers.weight_kib = cfg.filter_sram_kb;
  array.buffers.output_kib = cfg.ofmap_sram_kb;
  array.dram_bytes_per_cycle = cfg.user_bandwidth ? static_cast<double>(cfg.bandwidths.front()) : 0.0;
}

ScaleSimFoldMeans scalesim_fold_means(const GemmShape& g, int rows, int cols, Dataflow dataflow) {
  if (dataflow == Dataflow::kOutputStationary) {
    // systolic_compute_os: Sr = M over the rows, Sc = N over the columns,
    // T = K; a fold's ofmap demand is T - 1 + R rows skewed by C - 1.
    const std::int64_t r = rows, c = cols, t = g.k;
    const std::int64_t row_folds = (g.m + r - 1) / r, col_folds = (g.n + c - 1) / c;
    const std::int64_t fold_cycles = t + r + c - 2;
    ScaleSimFoldMeans m;
    double mapping = 0, compute = 0;
    for (std::int64_t fc = 0; fc < col_folds; ++fc)
      for (std::int64_t fr = 0; fr < row_folds; ++fr) {
        const std::int64_t row_used = std::min(r, g.m - fr * r), col_used = std::min(c, g.n - fc * c);
        const std::int64_t used = row_used * col_used;
        mapping += static_cast<double>(used) / static_cast<double>(r * c);
        compute += static_cast<double>(used * t) / static_cast<double>(r * c * fold_cycles);
        // Both operands stream, T per row (column) used. SCALE-Sim counts the
        // fold's outputs and then, once more, R + C (the padded block's
        // height plus width): reproduced, so that its report is.
        m.ifmap_reads += t * row_used;
        m.filter_reads += t * col_used;
        m.ofmap_writes += used + r + c;
      }
    const auto folds = static_cast<double>(row_folds * col_folds);
    m.mapping_efficiency = mapping / folds;
    m.compute_utilization = compute / folds;
    return m;
  }
  // Weight-stationary: Sr = K (the ifmap operand's columns), Sc = N
  // (filters), T = M. Input-stationary: Sr = K, Sc = M, T = N.
  const bool is = dataflow == Dataflow::kInputStationary;
  const std::int64_t sr = g.k, sc = is ? g.m : g.n, t = is ? g.n : g.m, r = rows, c = cols;
  const std::int64_t row_folds = (sr + r - 1) / r, col_folds = (sc + c - 1) / c;
  const std::int64_t fold_cycles = 2 * r + 2 * c + t - 3;
  ScaleSimFoldMeans m;
  double mapping = 0, compute = 0;
  for (std::int64_t fc = 0; fc < col_folds; ++fc)
    for (std::int64_t fr = 0; fr < row_folds; ++fr) {
      const std::int64_t row_used = std::min(r, sr - fr * r), col_used = std::min(c, sc - fc * c);
      const std::int64_t used = row_used * col_used;
      mapping += static_cast<double>(used) / static_cast<double>(r * c);
      compute += static_cast<double>(used * t) / static_cast<double>(r * c * fold_cycles);
      // The streamed operand is read T times per row used, the stationary one
      // once per PE used, the outputs once per vector and column used.
      (is ? m.filter_reads : m.ifmap_reads) += t * row_used;
      (is ? m.ifmap_reads : m.filter_reads) += used;
      m.ofmap_writes += t * col_used;
    }
  const auto folds = static_cast<double>(row_folds * col_folds);
  m.mapping_efficiency = mapping / folds;
  m.compute_utilization = compute / folds;
  return m;
}

ScaleSimSramSpans scalesim_sram_spans(const GemmShape& g, int rows, int cols, Dataflow dataflow) {
  if (dataflow == Dataflow::kOutputStationary) {
    // Per fold (T + R + C - 2 rows, column fold major): ifmap T rows skewed
    // one row per array row, filter T rows skewed one row per column, both
    // from the fold's first row; outputs after T - 1 rows, flipped so that
    // unused rows come first, skewed one row per column.
    const std::int64_t r = rows, c = cols, t = g.k;
    const std::int64_t row_folds = (g.m + r - 1) / r, col_folds = (g.n + c - 1) / c;
    const std::int64_t last = (row_folds * col_folds - 1) * (t + r + c - 2);
    const std::int64_t rows_first = std::min(r, static_cast<std::int64_t>(g.m)), rows_last = g.m - (row_folds - 1) * r;
    const std::int64_t cols_last = g.n - (col_folds - 1) * c;
    ScaleSimSramSpans s;
    s.ifmap_start = 1;
    s.ifmap_stop = last + t - 1 + rows_last - 1 + 1;
    s.filter_start = 1;
    s.filter_stop = last + t - 1 + cols_last - 1 + 1;
    s.ofmap_start = t - 1 + r - rows_first;
    s.ofmap_stop = last + t - 1 + r - 1 + cols_last - 1;
    return s;
  }
  const bool is = dataflow == Dataflow::kInputStationary;
  const std::int64_t r = rows, c = cols, k = g.k, sc = is ? g.m : g.n, t = is ? g.n : g.m;
  const std::int64_t row_folds = (k + r - 1) / r, col_folds = (sc + c - 1) / c;
  const std::int64_t fold_rows = 2 * r + c + t - 2, last = (row_folds * col_folds - 1) * fold_rows;
  const std::int64_t used_k_first = std::min(r, k), used_k_last = k - (row_folds - 1) * r;
  const std::int64_t used_c_last = sc - (col_folds - 1) * c;
  // Per fold (fold_rows rows each, column fold major): the streamed operand
  // (ws ifmap, is filter) after R rows of preload, skewed one row per array
  // row; the stationary one (ws filter, is ifmap) in the fold's first R
  // rows, flipped so that its unused rows come first; the outputs after
  // 2R - 1 rows, skewed one row per column.
  const std::int64_t stream_start = r + 1, stream_stop = last + r + t - 2 + used_k_last + 1;
  const std::int64_t station_start = r - used_k_first + 1, station_stop = last + r;
  ScaleSimSramSpans s;
  (is ? s.filter_start : s.ifmap_start) = stream_start;
  (is ? s.filter_stop : s.ifmap_stop) = stream_stop;
  (is ? s.ifmap_start : s.filter_start) = station_start;
  (is ? s.ifmap_stop : s.filter_stop) = station_stop;
  s.ofmap_start = 2 * r - 1;
  s.ofmap_stop = last + 2 * r + t - 3 + used_c_last;
  return s;
}

std::vector<std::string> write_scalesim_reports(const std::string& dir, const ArrayConfig& array,
                                                const std::vector<LayerReport>& layers) {
  std::filesystem::create_directories(dir);
  // Rows as SCALE-Sim writes them: str(layer id), then ", ".join(str(item)),
  // then ",": integers plainly, doubles in the shortest form that reads back
  // the same (Python's repr, fmt's default).
  std::string compute = "LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,\n";
  std::string bandwidth =
      "LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, Avg IFMAP DRAM BW, Avg FILTER DRAM BW, "
      "Avg OFMAP DRAM BW,\n";
  std::string detail =
      "LayerID, SRAM IFMAP Start Cycle, SRAM IFMAP Stop Cycle, SRAM IFMAP Reads, SRAM Filter Start Cycle, "
      "SRAM Filter Stop Cycle, SRAM Filter Reads, SRAM OFMAP Start Cycle, SRAM OFMAP Stop Cycle, SRAM OFMAP Writes, "
      "DRAM IFMAP Start Cycle, DRAM IFMAP Stop Cycle, DRAM IFMAP Reads, DRAM Filter Start Cycle, DRAM Filter Stop Cycle, "
      "DRAM Filter Reads, DRAM OFMAP Start Cycle, DRAM OFMAP Stop Cycle, DRAM OFMAP Writes,\n";
  const auto pes = static_cast<std::int64_t>(array.rows) * array.cols;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerReport& l = layers[i];
    if (l.gemm.groups != 1)
      throw Error(fmt::format("SCALE-Sim reports: layer {} ({}) is a grouped convolution, which SCALE-Sim's "
                              "weight-stationary reports do not describe",
                              l.id, l.name));
    const LayerStats& s = l.stats;
    // SCALE-Sim's total cycles include its stall cycles.
    const std::int64_t total = s.compute_cycles + s.stall_cycles;
    const ScaleSimFoldMeans f = scalesim_fold_means(l.gemm, array.rows, array.cols, array.dataflow);
    const double overall = static_cast<double>(s.useful_macs * 100) / static_cast<double>(total * pes);
    compute += fmt::format("{}, {}, {}, {}, {}, {},\n", i, total, s.stall_cycles, overall, f.mapping_efficiency * 100,
                           f.compute_utilization * 100);
    const auto per_cycle = [&](std::int64_t count) { return static_cast<double>(count) / static_cast<double>(total); };
    bandwidth += fmt::format("{}, {}, {}, {}, {}, {}, {},\n", i, per_cycle(f.ifmap_reads), per_cycle(f.filter_reads),
                             per_cycle(f.ofmap_writes), per_cycle(s.dram_ifmap_bytes), per_cycle(s.dram_weight_bytes),
                             per_cycle(s.dram_output_bytes));
    // Cycles as SCALE-Sim prints them (numpy floats: "9.0"), counts as integers.
    // DRAM: isimdl's traffic over the layer's span (its DRAM model has no
    // per-access timing; docs/hardware.md).
    const ScaleSimSramSpans sp = scalesim_sram_spans(l.gemm, array.rows, array.cols, array.dataflow);
    detail += fmt::format(
        "{}, {}.0, {}.0, {}, {}.0, {}.0, {}, {}.0, {}.0, {}, 0.0, {}.0, {}, 0.0, {}.0, {}, 0.0, {}.0, {},\n", i,
        sp.ifmap_start, sp.ifmap_stop, f.ifmap_reads, sp.filter_start, sp.filter_stop, f.filter_reads, sp.ofmap_start,
        sp.ofmap_stop, f.ofmap_writes, total, s.dram_ifmap_bytes, total, s.dram_weight_bytes, total, s.dram_output_bytes);
  }
  const std::string compute_path = dir + "/COMPUTE_REPORT.csv", bandwidth_path = dir + "/BANDWIDTH_REPORT.csv",
                    detail_path = dir + "/DETAILED_ACCESS_REPORT.csv";
  write_file_atomically(compute_path, compute);
  write_file_atomically(bandwidth_path, bandwidth);
  write_file_atomically(detail_path, detail);
  return {compute_path, bandwidth_path, detail_path};
}

}  // namespace isimdl
