#include "reporting/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <tuple>
#include <ostream>
#include <sstream>

#include "hw/register_map.h"
#include "models/atomic_file.h"
#include "models/error.h"
#include "sampler/estimators.h"
#include "config/config.h"
#include "campaign/population_estimates.h"
#include "campaign/results_store.h"
#include "campaign/sweep.h"

namespace fs = std::filesystem;

namespace isimdl {
namespace {

// A per-structure population table (campaign/population_estimates.h:
// structure_csv); the PE table also has the PE's row and column.
std::vector<std::string> avf_columns(const std::string& breakdown) {
  std::vector<std::string> c{"breakdown", "structure"};
  if (breakdown == "pe") c = {"breakdown", "structure", "row", "col"};
  for (const char* x : {"share", "faults"}) c.push_back(x);
  for (int k = 0; k < kRateKinds; ++k) {
    const std::string name = to_string(static_cast<RateKind>(k));
    for (const std::string suffix : {"", "_lo", "_hi"}) c.push_back(name + suffix);
  }
  return c;
}

const std::map<std::string, std::vector<std::string>>& columns() {
  static const std::map<std::string, std::vector<std::string>> c{
      {"outcomes_by_layer", {"layer", "faults", "evaluations", "masked", "sdc_benign", "sdc_top1", "sdc_top5", "due", "critical"}},
      {"outcomes_by_group", {"group", "faults", "evaluations", "masked", "sdc_benign", "sdc_top1", "sdc_top5", "due", "critical"}},
      {"avf_by_group", avf_columns("group")},
      {"avf_by_layer", avf_columns("layer")},
      {"avf_by_bit", avf_columns("bit")},
      {"avf_by_pe", avf_columns("pe")},
      {"estimate", {"campaign", "sampler", "faults", "estimate", "lo", "hi"}},
      {"sweep_cycles", {"config", "rows", "cols", "pes", "total_cycles", "utilization", "fault_sites", "dataflow"}},
      {"sweep_vulnerability", {"config", "rows", "cols", "pes", "critical_rate", "lo", "hi", "dataflow"}},
      {"compare_precision", {"model", "threshold", "sampler", "budget", "seeds", "precision_mean", "precision_lo", "precision_hi"}},
      {"find_critical", {"model", "sampler", "drop", "runs", "simulations_mean", "simulations_min", "simulations_max"}},
  };
  return c;
}

std::string header(const std::string& kind) {
  std::string h;
  for (const auto& c : columns().at(kind)) h += (h.empty() ? "" : ",") + c;
  return h + "\n";
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '<') out += "&lt;";
    else if (ch == '>') out += "&gt;";
    else if (ch == '&') out += "&amp;";
    else if (ch == '"') out += "&quot;";
    else out += ch;
  }
  return out;
}

std::string tag_of(const fs::path& results_dir, const fs::path& file) {
  std::string tag = fs::relative(file, results_dir).replace_extension().string();
  for (char& ch : tag)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-') ch = '_';
  return tag;
}

struct Section {
  std::string id;  // anchor
  std::string title;
  std::string intro_html;
  std::vector<ReportFigure> figures;
};

// Budgets at which the running estimate is shown.
std::vector<std::size_t> budgets(std::size_t n) {
  std::vector<std::size_t> b;
  for (std::size_t base = 10; base <= n; base *= 10)
    for (std::size_t m : {1, 2, 5})
      if (base * m <= n) b.push_back(base * m);
  if (b.empty() || b.back() != n) b.push_back(n);
  return b;
}

struct CampaignData {
  std::string tag, title, sampler;
  Config config;
  CampaignInfo info;
  std::vector<FaultRecord> records;  // measured faults only
  int sim_errors = 0;                 // faults the simulator crashed on (left out)
  PopulationEstimates estimates;
};

std::string rate_html(const Estimate& e) {
  if (e.exact) return fmt::format("{:.3g}% (exact)", 100 * e.value);
  return fmt::format("{:.3g}% [{:.3g}%, {:.3g}%]", 100 * e.value, 100 * e.lo, 100 * e.hi);
}

// The population table of one breakdown as HTML.
std::string structure_table_html(const PopulationEstimates& p, const std::string& breakdown, const std::string& what) {
  std::string html = fmt::format(
      "<table><caption>{}: population rates over every site of the {} (95% intervals)</caption>"
      "<tr><th>{}</th><th>share of the space</th><th>faults simulated</th><th>critical</th><th>top-1 SDC</th>"
      "<th>any SDC</th></tr>\n",
      what, breakdown == "group" ? "register group" : breakdown, breakdown);
  for (const StructureEstimate& s : p.structures) {
    if (s.breakdown != breakdown) continue;
    html += fmt::format("<tr><td>{}</td><td>{:.3g}%</td><td>{}</td>", html_escape(s.structure), 100 * s.share, s.faults);
    for (int k = 0; k < kRateKinds; ++k) html += "<td>" + rate_html(s.rate[k]) + "</td>";
    html += "</tr>\n";
  }
  return html + "</table>\n";
}

// A per-structure CSV (avf_columns), the PE table with row and column.
std::string avf_csv(const PopulationEstimates& p, const std::string& breakdown) {
  std::string csv = header("avf_by_" + breakdown);
  for (const StructureEstimate& s : p.structures) {
    if (s.breakdown != breakdown) continue;
    csv += s.breakdown + "," + s.structure;
    if (breakdown == "pe") {
      const auto at = s.structure.find('_');
      const int r = std::stoi(s.structure.substr(0, at)), c = std::stoi(s.structure.substr(at + 1));
      csv += fmt::format(",{},{}", r, c);
    }
    csv += fmt::format(",{:.8g},{}", s.share, s.faults);
    for (int k = 0; k < kRateKinds; ++k) csv += fmt::format(",{:.8g},{:.8g},{:.8g}", s.rate[k].value, s.rate[k].lo, s.rate[k].hi);
    csv += "\n";
  }
  return csv;
}

// gnuplot: a log-scale axis in percent whose zero values are drawn at the floor.
constexpr const char* kPercentLogAxis = "set logscale y\nset yrange [1e-4:100]\nset format y '%g%%'\n";
constexpr const char* kResetAxes =
    "set xlabel ''\nunset logscale y\nset autoscale x\nset yrange [*:*]\nset xrange [*:*]\nset format y '%g'\nset xtics norotate\nset key default\n"
    "set offsets 0, 0, 0, 0\nset style data points\n";

Section campaign_section(const CampaignData& c, const std::string& out, std::string& script) {
  Section s;
  s.id = "campaign-" + c.tag;
  const auto& records = c.records;
  const PopulationEstimates& p = c.estimates;
  const Estimate& e = p.rate[static_cast<int>(RateKind::kCritical)];
  s.title = c.title;
  s.intro_html = fmt::format(
      "<p>{} on {}x{} ({}), {} sampling, {} faults on test images {}; critical when the relative accuracy drop is "
      "&ge; {}: {} critical faults found. Over the whole fault space{}: critical-fault rate <b>{}</b>, top-1 SDC "
      "rate {}, any-SDC rate {} (per (fault, image) evaluation).{}</p>\n",
      html_escape(c.config.model), c.config.array.rows, c.config.array.cols, to_string(c.config.array.timing), c.sampler,
      records.size(), to_string(c.config.images), c.config.campaign.critical_drop, e.nonzero,
      c.sampler == "importance" ? " (importance-weighted)" : "", rate_html(e),
      rate_html(p.rate[static_cast<int>(RateKind::kTop1Sdc)]), rate_html(p.rate[static_cast<int>(RateKind::kAnySdc)]),
      c.sim_errors ? fmt::format(" {} more faults are simulator errors (the simulator crashed on them) and are left "
                                 "out of everything here.",
                                 c.sim_errors)
                   : std::string());
  if (p.have_space) {
    s.intro_html += structure_table_html(p, "group", "Vulnerability (AVF) per register group");
    s.intro_html += structure_table_html(p, "layer", "Per layer");
  } else {
    s.intro_html += "<p>This results file does not record its fault space (written before isimdl kept it): no "
                    "per-structure population rates; rerun the campaign for them.</p>\n";
  }
  const std::string bias_note =
      c.sampler == "importance"
          ? " Importance sampling over-samples likely-harmful sites: these are shares among the faults simulated, not "
            "population rates (the tables above are)."
          : "";
  // Per-structure population rates with their intervals.
  if (p.have_space) {
    for (const std::string& by : breakdown_names())
      write_file_atomically(fmt::format("{}/avf_by_{}_{}.csv", out, by, c.tag), avf_csv(p, by));
    for (const std::string by : {"group", "bit"}) {
      const std::string base = fmt::format("avf_by_{}_{}", by, c.tag);
      // Columns: 5 critical, 6-7 its interval; 8-10 top-1 SDC; 11-13 any SDC. Zeros sit on the floor.
      if (by == "group") {
        script += fmt::format(
            "set output '{0}/{1}.png'\nset title 'Vulnerability per register group (population rates, 95% intervals): "
            "{2}'\n{3}set style data histograms\nset style histogram errorbars gap 2 lw 1\n"
            "set style fill solid 0.8 border -1\nset ylabel 'rate over the group''s sites'\nunset xlabel\n"
            "set xtics rotate by 30 right\nset key outside top center horizontal\n"
            "plot '{0}/{1}.csv' using ($5*100):($6>0?$6*100:1e-4):($7*100):xtic(2) title 'critical', "
            "'' using ($8*100):($9>0?$9*100:1e-4):($10*100) title 'top-1 SDC', "
            "'' using ($11*100):($12>0?$12*100:1e-4):($13*100) title 'any SDC'\n{4}",
            out, base, c.title, kPercentLogAxis, kResetAxes);
        s.figures.push_back({base + ".png", base + ".csv",
                             "Critical, top-1 SDC and any-SDC rates over every site of each register group (its "
                             "architectural vulnerability factor), with 95% intervals; log scale, zero at the floor."});
      } else {
        script += fmt::format(
            "set output '{0}/{1}.png'\nset title 'Vulnerability per bit position (population rates, 95% intervals): "
            "{2}'\n{3}set xlabel 'bit position'\nset ylabel 'rate over the sites of the bit'\nset key outside top center horizontal\n"
            "set autoscale xfix\nset offsets 0.7, 0.7, 0, 0\n"
            "plot '{0}/{1}.csv' using ($2-0.15):($5*100):($6>0?$6*100:1e-4):($7*100) with yerrorbars pt 7 title "
            "'critical', '' using ($2+0.15):($11*100):($12>0?$12*100:1e-4):($13*100) with yerrorbars pt 5 title "
            "'any SDC'\n{4}",
            out, base, c.title, kPercentLogAxis, kResetAxes);
        s.figures.push_back({base + ".png", base + ".csv",
                             "Critical and any-SDC rates over every site at each bit position (all register groups "
                             "together), with 95% intervals; log scale, zero at the floor."});
      }
    }
    const int R = c.config.array.rows, C = c.config.array.cols;
    const std::string base = "avf_by_pe_" + c.tag;
    double most = 0;
    for (const StructureEstimate& st : p.structures)
      if (st.breakdown == "pe") most = std::max(most, st.rate[0].value);
    script += fmt::format(
        "set output '{0}/{1}.png'\nset title 'Critical-fault rate per PE (population rate over its registers): {2}'\n"
        "set xlabel 'PE column'\nset ylabel 'PE row'\nset yrange [{3}:-0.5] reverse\nset xrange [-0.5:{4}]\n"
        "set palette defined (0 'white', 1 '#fdae61', 2 '#d7191c')\nset cbrange [0:{5}]\nset format cb '%g%%'\n"
        "unset cblabel\nset view map\nplot '{0}/{1}.csv' using 4:3:($7*100) with image notitle\n"
        "set yrange [*:*] noreverse\nset cbrange [*:*]\nset format cb '%g'\n{6}",
        out, base, c.title, R - 0.5, C - 0.5, std::max(100 * most, 1e-6), kResetAxes);
    s.figures.push_back({base + ".png", base + ".csv",
                         "Estimated critical-fault rate over every site of each PE's registers (pe_* groups), row 0 at "
                         "the top (the skew input and the weight feed enter at PE (0, 0)); the CSV has every PE's "
                         "interval."});
  }
  // Outcomes per layer and per group (among the faults simulated).
  for (const std::string by : {"layer", "group"}) {
    std::map<std::string, std::array<double, kOutcomeCount + 3>> agg;  // faults, evaluations, outcomes..., critical
    for (const auto& r : records) {
      const std::string key = by == "layer" ? fmt::format("{:03d}", r.site.layer) : register_info(r.site.group).group_name;
      auto& a = agg[key];
      a[0] += 1;
      for (int o = 0; o < kOutcomeCount; ++o) a[1] += r.outcomes[static_cast<std::size_t>(o)],
                                              a[2 + static_cast<std::size_t>(o)] += r.outcomes[static_cast<std::size_t>(o)];
      a[2 + kOutcomeCount] += r.critical;
    }
    const std::string kind = "outcomes_by_" + by;
    std::string csv = header(kind);
    for (const auto& [key, a] : agg) {
      const std::string name = by == "layer" ? std::to_string(std::stoi(key)) : key;
      csv += fmt::format("{},{:.0f},{:.0f}", name, a[0], a[1]);
      for (int o = 0; o < kOutcomeCount; ++o) csv += fmt::format(",{:.6f}", a[2 + static_cast<std::size_t>(o)] / a[1]);
      csv += fmt::format(",{:.6f}\n", a[2 + kOutcomeCount] / a[0]);
    }
    const std::string base = fmt::format("{}_{}", kind, c.tag);
    write_file_atomically(out + "/" + base + ".csv", csv);
    script += fmt::format(
        "set output '{0}/{1}.png'\nset style data histograms\nset style histogram clustered gap 1\n"
        "set style fill solid 0.8 border -1\n{4}set ylabel 'share of the faults simulated'\n"
        "unset xlabel\nset xtics rotate by 30 right\nset key outside top center horizontal\nset title 'Outcomes per {2}: {3}'\n"
        "plot '{0}/{1}.csv' using ($5*100):xtic(1) title 'SDC benign', '' using ($6*100) title 'SDC top-1', "
        "'' using ($7*100) title 'SDC top-5', '' using ($8*100) title 'DUE', '' using ($9*100) title 'critical (per fault)'\n"
        "{5}",
        out, base, by == "layer" ? "layer" : "register group", c.title, kPercentLogAxis, kResetAxes);
    s.figures.push_back({base + ".png", base + ".csv",
                         fmt::format("Share of (fault, image) evaluations per outcome, and of faults that are critical, "
                                     "per {}, among the faults simulated (log scale; masked is the rest).{}",
                                     by == "layer" ? "model layer" : "register group", bias_note)});
  }
  return s;
}

}  // namespace

GnuplotRun render_gnuplot(const std::string& dir, const std::string& name, std::string script) {
  for (std::string::size_type at; (at = script.find("'" + dir + "/")) != std::string::npos;)
    script.replace(at, dir.size() + 2, "'");
  write_file_atomically(dir + "/" + name, script);
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) return GnuplotRun::kMissing;
  const std::string command = "cd '" + dir + "' && gnuplot '" + name + "' > gnuplot.log 2>&1";
  return std::system(command.c_str()) == 0 ? GnuplotRun::kRendered : GnuplotRun::kFailed;
}

const std::vector<std::string>& report_csv_columns(const std::string& kind) {
  auto it = columns().find(kind);
  if (it == columns().end()) throw Error("no report figure kind " + kind);
  return it->second;
}

namespace {

// A `isimdl compare` output directory: precision.csv (one row per model,
// threshold, sampler, seed and budget).
bool is_compare_table(const fs::path& file) {
  if (file.filename() != "precision.csv") return false;
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line == "model,threshold,sampler,seed,budget,critical_found,precision,estimate,lo,hi";
}

// A find-critical experiment CSV (isimdl find-critical --csv).
bool is_find_critical_table(const fs::path& file) {
  if (file.extension() != ".csv") return false;
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line.rfind("model,array,sampler,seed,drop,count,found,simulations,", 0) == 0;
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) cells.push_back(cell);
  return cells;
}

// The data rows of a CSV table with at least `cells` cells (the header skipped).
std::vector<std::vector<std::string>> data_rows(const fs::path& file, std::size_t cells) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    auto c = split_csv(line);
    if (c.size() >= cells) rows.push_back(std::move(c));
  }
  return rows;
}

Section compare_section(const fs::path& file, const std::string& tag, const std::string& title, const std::string& out,
                        std::string& script) {
  // (model, threshold, sampler, budget) -> precisions over seeds
  std::map<std::tuple<std::string, std::string, std::string, int>, std::vector<double>> runs;
  for (const auto& c : data_rows(file, 7)) runs[{c[0], c[1], c[2], std::stoi(c[4])}].push_back(std::stod(c[6]));
  std::string csv = header("compare_precision");
  std::map<std::string, std::string> series;  // model/threshold/sampler -> rows
  for (const auto& [key, v] : runs) {
    double mean = 0, var = 0;
    for (double x : v) mean += x / static_cast<double>(v.size());
    for (double x : v) var += (x - mean) * (x - mean) / std::max(1.0, static_cast<double>(v.size()) - 1);
    const double sd = std::sqrt(var);
    // The spread of a share stays within [0, 1].
    csv += fmt::format("{},{},{},{},{},{:.6f},{:.6f},{:.6f}\n", std::get<0>(key), std::get<1>(key), std::get<2>(key),
                       std::get<3>(key), v.size(), mean, std::max(0.0, mean - sd), std::min(1.0, mean + sd));
  }
  const std::string base = "compare_precision_" + tag;
  write_file_atomically(out + "/" + base + ".csv", csv);
  std::string plot;
  int n = 0;
  std::set<std::tuple<std::string, std::string, std::string>> keys;
  for (const auto& [key, v] : runs) keys.insert({std::get<0>(key), std::get<1>(key), std::get<2>(key)});
  for (const auto& [model, threshold, sampler] : keys)
    plot += fmt::format("{}'{}/{}.csv' using ((strcol(1) eq '{}' && strcol(2) eq '{}' && strcol(3) eq '{}') ? $4 : NaN):"
                        "($6*100):($7*100):($8*100) with yerrorlines title '{} {} drop >= {}'",
                        n++ ? ", " : "", out, base, model, threshold, sampler, sampler, model, threshold);
  script += fmt::format(
      "set output '{0}/{1}.png'\nset title 'Precision (critical among simulated) against faults simulated: {2}'\n"
      "set xlabel 'faults simulated'\nset ylabel 'precision (mean, +-1 sd over seeds, within 0..100%)'\nset format y '%g%%'\n"
      "set logscale x\nset autoscale xfix\nset key outside top center horizontal\nset offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05\nplot {3}\nunset logscale x\n{4}",
      out, base, title, plot, kResetAxes);
  Section s;
  s.id = "compare-" + tag;
  s.title = "Sampler comparison " + title;
  s.intro_html = fmt::format("<p>From <code>{}</code> (<code>isimdl compare</code>): the share of simulated faults that "
                             "are critical, importance against uniform sampling, over seeds.</p>\n",
                             html_escape(title));
  s.figures.push_back({base + ".png", base + ".csv",
                       "Precision against the number of faults simulated, mean and one standard deviation over seeds "
                       "(clipped to 0..100%), per model, threshold and sampler."});
  return s;
}

Section find_critical_section(const fs::path& file, const std::string& tag, const std::string& title,
                              const std::string& out, std::string& script) {
  std::map<std::tuple<std::string, std::string, double>, std::vector<double>> runs;  // (model, sampler, drop) -> simulations
  for (const auto& c : data_rows(file, 8)) runs[{c[0], c[2], std::stod(c[4])}].push_back(std::stod(c[7]));
  std::string csv = header("find_critical");
  std::set<std::pair<std::string, std::string>> keys;
  for (const auto& [key, v] : runs) {
    double mean = 0;
    for (double x : v) mean += x / static_cast<double>(v.size());
    csv += fmt::format("{},{},{},{},{:.1f},{:.0f},{:.0f}\n", std::get<0>(key), std::get<1>(key), std::get<2>(key), v.size(),
                       mean, *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()));
    keys.insert({std::get<0>(key), std::get<1>(key)});
  }
  const std::string base = "find_critical_" + tag;
  write_file_atomically(out + "/" + base + ".csv", csv);
  std::string plot;
  int n = 0;
  for (const auto& [model, sampler] : keys)
    plot += fmt::format("{}'{}/{}.csv' using ((strcol(1) eq '{}' && strcol(2) eq '{}') ? $3 : NaN):5:6:7 with "
                        "yerrorlines title '{} {}'",
                        n++ ? ", " : "", out, base, model, sampler, model, sampler);
  script += fmt::format(
      "set output '{0}/{1}.png'\nset title 'Fault simulations to find the critical faults asked for: {2}'\n"
      "set xlabel 'relative accuracy drop that makes a fault critical'\nset ylabel 'fault simulations (mean, min..max)'\n"
      "set logscale xy\nset autoscale xfix\nset key outside top center horizontal\nset offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05\nplot {3}\n"
      "unset logscale xy\n{4}",
      out, base, title, plot, kResetAxes);
  Section s;
  s.id = "find-critical-" + tag;
  s.title = "Finding critical faults " + title;
  s.intro_html = fmt::format("<p>From <code>{}</code> (<code>isimdl find-critical --csv</code>): fault simulations "
                             "needed to find the critical faults asked for, per drop threshold and sampler.</p>\n",
                             html_escape(title));
  s.figures.push_back({base + ".png", base + ".csv",
                       "Fault simulations until the requested number of distinct critical faults was found: mean over "
                       "runs, bars from the fewest to the most."});
  return s;
}

}  // namespace

ReportResult write_report(const std::string& results_dir, const std::string& out_dir, std::ostream& log) {
  if (!fs::is_directory(results_dir)) throw Error(results_dir + ": no such results directory");
  fs::create_directories(out_dir);
  std::vector<fs::path> databases, sweeps, compares, searches;
  for (const auto& entry : fs::recursive_directory_iterator(results_dir)) {
    if (!entry.is_regular_file()) continue;
    if (fs::equivalent(entry.path().parent_path(), out_dir)) continue;
    if (entry.path().extension() == ".sqlite") databases.push_back(entry.path());
    else if (entry.path().filename() == "sweep.csv") sweeps.push_back(entry.path());
    else if (is_compare_table(entry.path())) compares.push_back(entry.path());
    else if (is_find_critical_table(entry.path())) searches.push_back(entry.path());
  }
  for (auto* list : {&databases, &sweeps, &compares, &searches}) std::sort(list->begin(), list->end());
  if (databases.empty() && sweeps.empty() && compares.empty() && searches.empty())
    throw Error(results_dir + ": no campaign results (*.sqlite), sweep tables (sweep.csv), compare outputs "
                              "(precision.csv) or find-critical CSVs to report");
  ReportResult result;
  std::vector<Section> sections;
  // Every CSV has a header line: gnuplot reads it as column names, not data.
  std::string script = "set datafile separator ','\nset datafile columnheaders\n"
                       "set terminal pngcairo size 900,560 font ',10' noenhanced\n";
  std::vector<CampaignData> campaigns;
  for (const fs::path& db : databases) {
    CampaignData c;
    std::vector<FaultRecord> all;
    try {
      ResultsStore store(db.string(), ResultsStore::Mode::kReadOnly);
      c.info = store.info();
      c.config = parse_config(c.info.config_yaml, db.string() + " (stored configuration)");
      all = store.read_all();
      // Simulator errors are not outcomes: the report's rates leave them out.
      for (const FaultRecord& r : all)
        if (r.measured()) c.records.push_back(r);
        else ++c.sim_errors;
    } catch (const Error& e) {
      log << "report: skipping " << db.string() << ": " << e.what() << "\n";
      continue;
    }
    if (c.records.empty()) {
      log << "report: skipping " << db.string() << ": no finished faults\n";
      continue;
    }
    std::sort(c.records.begin(), c.records.end(),
              [](const FaultRecord& a, const FaultRecord& b) { return a.fault_index < b.fault_index; });
    c.estimates = population_estimates(c.info, all);
    c.tag = tag_of(results_dir, db);
    c.sampler = to_string(c.config.campaign.sampler);
    c.title = fmt::format("{} ({})", fs::relative(db, results_dir).string(), c.sampler);
    sections.push_back(campaign_section(c, out_dir, script));
    campaigns.push_back(std::move(c));
    ++result.campaigns;
  }
  // The estimate against faults simulated, every campaign in one figure
  // (importance next to uniform when the directory has both).
  if (!campaigns.empty()) {
    std::string csv = header("estimate");
    std::string plot;
    int series = 0;
    for (const CampaignData& c : campaigns) {
      std::vector<double> x, w;
      std::string rows;
      for (const auto& r : c.records) x.push_back(r.critical), w.push_back(r.weight);
      EstimateOptions o;
      o.max_weight = 0;
      for (const SpaceBlockRecord& b : c.info.blocks) o.max_weight = std::max(o.max_weight, b.max_weight);
      for (std::size_t n : budgets(x.size())) {
        o.exhaustive = c.estimates.exact && n == x.size();
        const Estimate e = weighted_estimate(std::vector<double>(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(n)),
                                             std::vector<double>(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(n)), o);
        rows += fmt::format("{},{},{},{:.8g},{:.8g},{:.8g}\n", c.tag, c.sampler, n, e.value, e.lo, e.hi);
      }
      csv += rows;
      const std::string part = fmt::format("{}/estimate_{}.csv", out_dir, c.tag);
      write_file_atomically(part, header("estimate") + rows);
      plot += fmt::format("{}'{}' using 3:($4>0?$4*100:1e-4):($5>0?$5*100:1e-4):($6*100) with yerrorlines title '{}'",
                          series++ ? ", " : "", part, c.title);
    }
    write_file_atomically(out_dir + "/estimate.csv", csv);
    // Offsets keep the first and last points and a zero estimate off the frame.
    script += fmt::format(
        "set output '{0}/estimate.png'\nset title 'Estimated critical-fault rate with 95% interval'\n"
        "set xlabel 'faults simulated'\nset ylabel 'critical-fault rate (zero at the floor)'\nset logscale xy\n"
        "set autoscale xfix\nset format y '%g%%'\nset key outside top center horizontal\n"
        "set offsets graph 0.03, graph 0.03, 0, 0\nplot {1}\nunset logscale x\n{2}",
        out_dir, plot, kResetAxes);
    Section s;
    s.id = "estimates";
    s.title = "Critical-fault rate against faults simulated";
    s.intro_html = "<p>Every campaign's estimate of the fraction of the whole fault space that is critical, after the "
                   "first N faults (importance campaigns weight each fault by p/q and stay unbiased; uniform ones are "
                   "plain proportions).</p>";
    s.figures.push_back({"estimate.png", "estimate.csv",
                         "Running estimate of the critical-fault rate and its 95% interval (docs/sampling.md, "
                         "\"Intervals\") against the number of faults simulated, per campaign."});
    sections.push_back(s);
  }
  struct SweepRow {
    std::string name;
    int configurations = 0;
    std::string fastest;
  };
  std::vector<std::pair<std::string, SweepRow>> sweep_rows;  // (anchor, row)
  for (const fs::path& sweep : sweeps) {
    const std::string tag = tag_of(results_dir, sweep);
    std::ifstream in(sweep);
    std::string line;
    std::getline(in, line);
    // Columns are only ever appended: an older table (a prefix of today's header) reads too.
    if (sweep_csv_header().rfind(line, 0) != 0 || line.rfind("rows,cols,", 0) != 0) {
      log << "report: skipping " << sweep.string() << ": not an isimdl sweep table\n";
      continue;
    }
    struct Config_ {
      int r, c;
      std::string cycles, utilization, sites, rate, lo, hi;
      std::string dataflow, timing, buffers, label;
    };
    std::vector<Config_> configs;
    while (std::getline(in, line)) {
      const auto f = sweep_csv_fields(line);
      configs.push_back({std::stoi(f.at("rows")), std::stoi(f.at("cols")), f.at("total_cycles"), f.at("utilization"),
                         f.at("fault_sites"), f.at("critical_rate"), f.at("critical_rate_lo"), f.at("critical_rate_hi"),
                         f.at("dataflow"), f.at("timing"), f.at("buffers_kib"), ""});
    }
    if (configs.empty()) continue;
    // A configuration's label: its array, and its dataflow, timing and
    // buffer size where the sweep tried more than one.
    {
      std::set<std::string> dataflows, timings, buffers;
      for (const Config_& k : configs) dataflows.insert(k.dataflow), timings.insert(k.timing), buffers.insert(k.buffers);
      for (Config_& k : configs)
        k.label = fmt::format("{}x{}{}{}{}", k.r, k.c, dataflows.size() > 1 ? " " + k.dataflow : "",
                              timings.size() > 1 ? " " + k.timing : "", buffers.size() > 1 ? " " + k.buffers + "KiB" : "");
    }
    // One point per configuration, in order of PE count (8x16 and 16x8 side by side, not on top of each other).
    std::stable_sort(configs.begin(), configs.end(), [](const Config_& a, const Config_& b) { return a.r * a.c < b.r * b.c; });
    std::string cycles_csv = header("sweep_cycles"), vuln_csv = header("sweep_vulnerability");
    bool vulnerable = false;
    SweepRow summary;
    summary.name = fs::relative(sweep, results_dir).string();
    summary.configurations = static_cast<int>(configs.size());
    double fastest = 0;
    for (const Config_& k : configs) {
      cycles_csv += fmt::format("{},{},{},{},{},{},{},{}\n", k.label, k.r, k.c, k.r * k.c, k.cycles, k.utilization,
                                k.sites, k.dataflow);
      if (!k.rate.empty()) {
        vulnerable = true;
        vuln_csv += fmt::format("{},{},{},{},{},{},{},{}\n", k.label, k.r, k.c, k.r * k.c, k.rate, k.lo, k.hi, k.dataflow);
      }
      const double cycles = std::stod(k.cycles);
      if (fastest == 0 || cycles < fastest) {
        fastest = cycles;
        summary.fastest = fmt::format("{} ({} cycles)", k.label, k.cycles);
      }
    }
    // One series (colour, key entry) per dataflow when the sweep tried more
    // than one; the x positions stay the table's order.
    std::vector<std::string> series;
    for (const Config_& k : configs)
      if (std::find(series.begin(), series.end(), k.dataflow) == series.end()) series.push_back(k.dataflow);
    const bool several = series.size() > 1;
    auto clauses = [&](const std::string& file, const std::vector<std::string>& ys, const std::string& style) {
      auto using_of = [&](const std::string& d) {
        std::string u = "0";
        for (const std::string& y : ys) u += ":" + (d.empty() ? y : fmt::format("(strcol(8) eq '{}' ? {} : 1/0)", d, y));
        return u + ":xtic(1)";
      };
      if (!several) return fmt::format("'{}' using {} {}", file, using_of(""), style);
      std::string text;
      for (const std::string& d : series)
        text += fmt::format("{}'{}' using {} {} title '{}'", text.empty() ? "" : ", ", file, using_of(d), style, d);
      return text;
    };
    const std::string key = several ? "set key top right" : "set key off";
    Section s;
    s.id = "sweep-" + tag;
    s.title = "Sweep " + summary.name;
    s.intro_html = fmt::format("<p>{} array configurations from <code>{}</code> (one inference each, cycle by "
                               "cycle), in order of PE count.</p>",
                               configs.size(), html_escape(summary.name));
    const std::string base = "sweep_cycles_" + tag;
    write_file_atomically(out_dir + "/" + base + ".csv", cycles_csv);
    script += fmt::format(
        "set output '{0}/{1}.png'\nset title 'Cycles per inference per array configuration'\n"
        "set xlabel 'array (rows x cols), in order of PE count'\nset ylabel 'cycles per inference'\nset logscale y\n"
        "{3}\nset xtics rotate by 30 right\nset offsets 0.5, 0.5, graph 0.05, graph 0.05\n"
        "plot {4}\n{2}",
        out_dir, base, kResetAxes, key, clauses(out_dir + "/" + base + ".csv", {"($5)"}, "with points pt 7 ps 1.5"));
    s.figures.push_back({base + ".png", base + ".csv",
                         "Total cycles per inference (with drain) of each array configuration, in order of PE count."});
    const std::string ubase = "sweep_utilization_" + tag;
    script += fmt::format(
        "set output '{0}/{1}.png'\nset title 'PE utilization per array configuration'\n"
        "set xlabel 'array (rows x cols), in order of PE count'\nset ylabel 'utilization (useful MACs / PE-cycles)'\n"
        "set format y '%g%%'\nset yrange [0:*]\n{4}\nset xtics rotate by 30 right\n"
        "set offsets 0.5, 0.5, graph 0.05, 0\nset style fill solid 0.8 border -1\nset boxwidth 0.6\n"
        "plot {5}\n{3}",
        out_dir, ubase, base, kResetAxes, key, clauses(out_dir + "/" + base + ".csv", {"($6*100)"}, "with boxes"));
    s.figures.push_back({ubase + ".png", base + ".csv",
                         "PE utilization over the whole inference (useful MACs per PE-cycle) of each configuration."});
    if (vulnerable) {
      const std::string vbase = "sweep_vulnerability_" + tag;
      write_file_atomically(out_dir + "/" + vbase + ".csv", vuln_csv);
      script += fmt::format(
          "set output '{0}/{1}.png'\nset title 'Critical-fault rate per array configuration'\n"
          "set xlabel 'array (rows x cols), in order of PE count'\nset ylabel 'critical-fault rate (95% interval)'\n"
          "set logscale y\nset format y '%g%%'\n{3}\nset xtics rotate by 30 right\nset offsets 0.5, 0.5, 0, 0\n"
          "plot {4}\n{2}",
          out_dir, vbase, kResetAxes, key,
          clauses(out_dir + "/" + vbase + ".csv", {"($5>0?$5*100:1e-4)", "($6>0?$6*100:1e-4)", "($7*100)"},
                  "with yerrorbars pt 7 ps 1.5"));
      s.figures.push_back({vbase + ".png", vbase + ".csv",
                           "ISimDL importance-weighted estimate of the critical-fault rate (share of the configuration's "
                           "fault space) with its 95% interval, from one campaign per configuration."});
    }
    sweep_rows.push_back({s.id, summary});
    sections.push_back(s);
    ++result.sweeps;
  }
  // A malformed table is skipped with a message naming it; the rest of the report goes on.
  auto add_table_section = [&](const fs::path& file, const std::function<Section()>& make) {
    try {
      sections.push_back(make());
    } catch (const std::exception& e) {
      log << "report: skipping " << file.string() << ": not a readable table (" << e.what() << ")\n";
    }
  };
  for (const fs::path& file : compares) {
    const std::string title = fs::relative(file.parent_path(), results_dir).string();
    add_table_section(file, [&] {
      return compare_section(file, tag_of(results_dir, file), title.empty() ? "." : title, out_dir, script);
    });
  }
  for (const fs::path& file : searches)
    add_table_section(file, [&] {
      return find_critical_section(file, tag_of(results_dir, file), fs::relative(file, results_dir).string(), out_dir,
                                   script);
    });
  if (sections.empty()) throw Error(results_dir + ": nothing readable to report (see the messages above)");
  switch (render_gnuplot(out_dir, "report.gnuplot", script)) {
    case GnuplotRun::kRendered: result.rendered = true; break;
    case GnuplotRun::kFailed: log << "report: gnuplot failed (see " << out_dir << "/gnuplot.log); CSVs and page written\n"; break;
    case GnuplotRun::kMissing:
      log << "report: gnuplot not found (scripts/setup installs gnuplot-nox): CSVs and page without figures\n";
      break;
  }
  // The page checks itself once loaded (scripts/check-report reads the
  // result in a headless browser): how many images loaded, and how many
  // pairs of figures, tables and headings overlap on the page.
  const char* self_check =
      "<script>window.addEventListener('load',function(){var im=document.images,ok=0;for(var i=0;i<im.length;i++)"
      "if(im[i].complete&&im[i].naturalWidth>0)ok++;var b=document.querySelectorAll('figure,table,h2,p'),o=0;"
      "for(var i=0;i<b.length;i++){var r=b[i].getBoundingClientRect();for(var j=i+1;j<b.length;j++){"
      "if(b[i].contains(b[j])||b[j].contains(b[i]))continue;var q=b[j].getBoundingClientRect();"
      "if(r.left<q.right-1&&q.left<r.right-1&&r.top<q.bottom-1&&q.top<r.bottom-1)o++;}}"
      "document.body.setAttribute('data-check','images '+ok+'/'+im.length+' overlaps '+o);});</script>\n";
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>isimdl report</title>\n"
      "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
      "figure{margin:1.5em 0}img{max-width:100%;border:1px solid #ddd}figcaption{font-size:0.9em;color:#444}"
      "code{background:#f4f4f4}table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
      "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}caption{text-align:left;font-weight:bold;"
      "padding:4px 0}nav li{margin:2px 0}</style>\n";
  html += self_check;
  html += "</head><body>\n";
  html += fmt::format("<h1>isimdl report</h1>\n<p>From <code>{}</code>: {} campaign(s), {} sweep(s), {} comparison(s), "
                      "{} find-critical table(s). Every figure's data is the CSV linked under it; "
                      "<code>gnuplot report.gnuplot</code> in this directory redraws them.</p>\n",
                      html_escape(results_dir), result.campaigns, result.sweeps, compares.size(), searches.size());
  // The answers first: every campaign's headline estimates, every sweep.
  if (!campaigns.empty()) {
    html += "<table><caption>Campaigns: rates over the whole fault space (95% intervals; importance campaigns "
            "weighted)</caption><tr><th>campaign</th><th>model</th><th>array</th><th>sampler</th><th>faults</th>"
            "<th>critical-fault rate</th><th>top-1 SDC rate</th><th>any-SDC rate</th></tr>\n";
    for (const CampaignData& c : campaigns)
      html += fmt::format("<tr><td><a href=\"#campaign-{}\">{}</a></td><td>{}</td><td>{}x{}</td><td>{}</td><td>{}</td>"
                          "<td>{}</td><td>{}</td><td>{}</td></tr>\n",
                          html_escape(c.tag), html_escape(c.title), html_escape(c.config.model), c.config.array.rows,
                          c.config.array.cols, c.sampler, c.records.size(), rate_html(c.estimates.rate[0]),
                          rate_html(c.estimates.rate[1]), rate_html(c.estimates.rate[2]));
    html += "</table>\n";
  }
  if (!sweep_rows.empty()) {
    html += "<table><caption>Sweeps</caption><tr><th>sweep</th><th>configurations</th><th>fewest cycles</th></tr>\n";
    for (const auto& [id, row] : sweep_rows)
      html += fmt::format("<tr><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td></tr>\n", html_escape(id),
                          html_escape(row.name), row.configurations, html_escape(row.fastest));
    html += "</table>\n";
  }
  html += "<nav><h2 id=\"contents\">Contents</h2><ul>\n";
  for (const Section& s : sections)
    html += fmt::format("<li><a href=\"#{}\">{}</a></li>\n", html_escape(s.id), html_escape(s.title));
  html += "</ul></nav>\n";
  for (const Section& s : sections) {
    html += fmt::format("<h2 id=\"{}\">{}</h2>\n{}\n", html_escape(s.id), html_escape(s.title), s.intro_html);
    for (const ReportFigure& f : s.figures) {
      html += fmt::format("<figure><img src=\"{0}\" alt=\"{1}\"><figcaption>{1} Data: <a href=\"{2}\">{2}</a>."
                          "</figcaption></figure>\n",
                          html_escape(f.png), html_escape(f.caption), html_escape(f.csv));
      result.figures.push_back(f);
    }
  }
  html += "</body></html>\n";
  result.index_html = out_dir + "/index.html";
  write_file_atomically(result.index_html, html);
  return result;
}

}  // namespace isimdl
