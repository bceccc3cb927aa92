#include "reporting/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>

#include "hw/register_map.h"
#include "models/atomic_file.h"
#include "models/error.h"
#include "sampler/estimators.h"
#include "config/config.h"
#include "campaign/results_store.h"
#include "campaign/sweep.h"

namespace fs = std::filesystem;

namespace isimdl {
namespace {

const std::map<std::string, std::vector<std::string>>& columns() {
  static const std::map<std::string, std::vector<std::string>> c{
      {"outcomes_by_layer", {"layer", "faults", "evaluations", "masked", "sdc_benign", "sdc_top1", "sdc_top5", "due", "critical"}},
      {"outcomes_by_group", {"group", "faults", "evaluations", "masked", "sdc_benign", "sdc_top1", "sdc_top5", "due", "critical"}},
      {"critical_heatmap", {"row", "col", "faults", "critical"}},
      {"criticality_by_bit", {"bit", "faults", "critical", "critical_share", "sdc_share"}},
      {"estimate", {"campaign", "sampler", "faults", "estimate", "lo", "hi"}},
      {"sweep_cycles", {"rows", "cols", "pes", "total_cycles", "utilization", "fault_sites"}},
      {"sweep_vulnerability", {"rows", "cols", "pes", "critical_rate", "lo", "hi"}},
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
  std::vector<FaultRecord> records;  // measured faults only
  int sim_errors = 0;                 // faults the simulator crashed on (left out)
};

Section campaign_section(const CampaignData& c, const std::string& out, std::string& script) {
  Section s;
  const auto& records = c.records;
  std::int64_t critical = 0;
  for (const auto& r : records) critical += r.critical;
  std::vector<double> x, w;
  for (const auto& r : records) x.push_back(r.critical), w.push_back(r.weight);
  const Estimate e = weighted_estimate(x, w);
  s.title = c.title;
  s.intro_html = fmt::format(
      "<p>{} on {}x{} ({}), {} sampling, {} faults on test images {}, critical when the relative accuracy drop is "
      "&ge; {}: {} critical faults; estimated critical-fault rate over the whole fault space {:.3g} (95% interval "
      "[{:.3g}, {:.3g}]{}).{}</p>",
      html_escape(c.config.model), c.config.array.rows, c.config.array.cols, to_string(c.config.array.timing),
      c.sampler, records.size(), to_string(c.config.images), c.config.campaign.critical_drop, critical, e.value,
      std::max(0.0, e.lo), e.hi,
      c.sampler == "importance" ? ", importance-weighted" : "",
      c.sim_errors ? fmt::format(" {} more faults are simulator errors (the simulator crashed on them) and are left "
                                 "out of everything here.",
                                 c.sim_errors)
                   : std::string());
  const std::string bias_note =
      c.sampler == "importance"
          ? " Importance sampling over-samples likely-harmful sites: shares among the faults simulated, not population "
            "rates."
          : "";
  // Outcomes per layer and per group.
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
        "set style fill solid 0.8 border -1\nset logscale y\nset yrange [1e-5:1]\nset ylabel 'share'\n"
        "set xlabel '{2}'\nset xtics rotate by -30\nset key outside right\nset title 'Outcomes per {2}: {3}'\n"
        "plot '{0}/{1}.csv' using 5:xtic(1) title 'SDC benign', '' using 6 title 'SDC top-1', "
        "'' using 7 title 'SDC top-5', '' using 8 title 'DUE', '' using 9 title 'critical (per fault)'\n"
        "unset logscale y\nset yrange [*:*]\nset xtics norotate\nset key default\n",
        out, base, by == "layer" ? "layer" : "register group", c.title);
    s.figures.push_back({base + ".png", base + ".csv",
                         fmt::format("Share of (fault, image) evaluations per outcome, and of faults that are critical, "
                                     "per {} (log scale; masked is the rest).{}",
                                     by == "layer" ? "model layer" : "register group", bias_note)});
  }
  // Critical faults over the PE array.
  {
    const int R = c.config.array.rows, C = c.config.array.cols;
    std::vector<std::array<std::int64_t, 2>> cells(static_cast<std::size_t>(R) * C);
    for (const auto& r : records) {
      const std::string g = register_info(r.site.group).group_name;
      if (g.rfind("pe_", 0) != 0) continue;
      auto& cell = cells[static_cast<std::size_t>(r.site.index)];
      cell[0] += 1;
      cell[1] += r.critical;
    }
    std::string csv = header("critical_heatmap");
    std::int64_t most = 1;
    for (const auto& cell : cells) most = std::max(most, cell[1]);
    for (int row = 0; row < R; ++row)
      for (int col = 0; col < C; ++col) {
        const auto& cell = cells[static_cast<std::size_t>(row) * C + col];
        csv += fmt::format("{},{},{},{}\n", row, col, cell[0], cell[1]);
      }
    const std::string base = "critical_heatmap_" + c.tag;
    write_file_atomically(out + "/" + base + ".csv", csv);
    script += fmt::format(
        "set output '{0}/{1}.png'\nset title 'Critical faults per PE: {2}'\nset xlabel 'PE column'\n"
        "set ylabel 'PE row'\nset yrange [{3}:-0.5] reverse\nset xrange [-0.5:{4}]\nset palette defined (0 'white', 1 "
        "'#fdae61', 2 '#d7191c')\nset cbrange [0:{5}]\nset cblabel 'critical faults'\nset view map\n"
        "plot '{0}/{1}.csv' using 2:1:4 with image notitle\nset yrange [*:*] noreverse\nset xrange [*:*]\n"
        "set cbrange [*:*]\n",
        out, base, c.title, R - 0.5, C - 0.5, most);
    s.figures.push_back({base + ".png", base + ".csv",
                         "Critical faults among the faults simulated in each PE's registers (pe_* groups), row 0 at the "
                         "top (the skew input and the weight feed enter at PE (0, 0))." + bias_note});
  }
  // Criticality per bit position.
  {
    std::map<int, std::array<std::int64_t, 3>> bits;  // faults, critical, faults with any SDC
    for (const auto& r : records) {
      auto& b = bits[r.site.bit];
      b[0] += 1;
      b[1] += r.critical;
      b[2] += (r.outcomes[1] + r.outcomes[2] + r.outcomes[3]) > 0;
    }
    std::string csv = header("criticality_by_bit");
    for (const auto& [bit, b] : bits)
      csv += fmt::format("{},{},{},{:.6f},{:.6f}\n", bit, b[0], b[1], static_cast<double>(b[1]) / b[0],
                         static_cast<double>(b[2]) / b[0]);
    const std::string base = "criticality_by_bit_" + c.tag;
    write_file_atomically(out + "/" + base + ".csv", csv);
    script += fmt::format(
        "set output '{0}/{1}.png'\nset title 'Criticality per bit position: {2}'\nset xlabel 'bit position'\n"
        "set ylabel 'share of faults'\nset key left top\nset style data linespoints\n"
        "plot '{0}/{1}.csv' using 1:4 title 'critical', '' using 1:5 title 'any SDC'\n",
        out, base, c.title);
    s.figures.push_back({base + ".png", base + ".csv",
                         "Share of the faults at each bit position (all register groups together) that are critical, "
                         "and that caused any silent data corruption." + bias_note});
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

ReportResult write_report(const std::string& results_dir, const std::string& out_dir, std::ostream& log) {
  if (!fs::is_directory(results_dir)) throw Error(results_dir + ": no such results directory");
  fs::create_directories(out_dir);
  std::vector<fs::path> databases, sweeps;
  for (const auto& entry : fs::recursive_directory_iterator(results_dir)) {
    if (!entry.is_regular_file()) continue;
    if (fs::equivalent(entry.path().parent_path(), out_dir)) continue;
    if (entry.path().extension() == ".sqlite") databases.push_back(entry.path());
    if (entry.path().filename() == "sweep.csv") sweeps.push_back(entry.path());
  }
  std::sort(databases.begin(), databases.end());
  std::sort(sweeps.begin(), sweeps.end());
  if (databases.empty() && sweeps.empty())
    throw Error(results_dir + ": no campaign results (*.sqlite) or sweep tables (sweep.csv) to report");
  ReportResult result;
  std::vector<Section> sections;
  std::string script = "set datafile separator ','\nset terminal pngcairo size 900,560 font ',10' noenhanced\n";
  std::vector<CampaignData> campaigns;
  for (const fs::path& db : databases) {
    CampaignData c;
    try {
      ResultsStore store(db.string(), ResultsStore::Mode::kReadOnly);
      const CampaignInfo info = store.info();
      c.config = parse_config(info.config_yaml, db.string() + " (stored configuration)");
      // Simulator errors are not outcomes: the report's rates leave them out.
      for (FaultRecord& r : store.read_all())
        if (r.measured()) c.records.push_back(std::move(r));
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
      for (std::size_t n : budgets(x.size())) {
        const Estimate e = weighted_estimate(std::vector<double>(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(n)),
                                             std::vector<double>(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(n)));
        rows += fmt::format("{},{},{},{:.8g},{:.8g},{:.8g}\n", c.tag, c.sampler, n, e.value, std::max(0.0, e.lo), e.hi);
      }
      csv += rows;
      const std::string part = fmt::format("{}/estimate_{}.csv", out_dir, c.tag);
      write_file_atomically(part, header("estimate") + rows);
      plot += fmt::format("{}'{}' using 3:4:5:6 with yerrorlines title '{}'", series++ ? ", " : "", part, c.title);
    }
    write_file_atomically(out_dir + "/estimate.csv", csv);
    script += fmt::format(
        "set output '{0}/estimate.png'\nset title 'Estimated critical-fault rate with 95% interval'\n"
        "set xlabel 'faults simulated'\nset ylabel 'critical-fault rate'\nset logscale x\nset key left top\n"
        "plot {1}\nunset logscale x\n",
        out_dir, plot);
    Section s;
    s.title = "Critical-fault rate against faults simulated";
    s.intro_html = "<p>Every campaign's estimate of the fraction of the whole fault space that is critical, after the "
                   "first N faults (importance campaigns weight each fault by p/q and stay unbiased; uniform ones are "
                   "plain proportions).</p>";
    s.figures.push_back({"estimate.png", "estimate.csv",
                         "Running estimate of the critical-fault rate and its normal 95% interval against the number of "
                         "faults simulated, per campaign (docs/sampling.md)."});
    sections.push_back(s);
  }
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
    std::string cycles_csv = header("sweep_cycles"), vuln_csv = header("sweep_vulnerability");
    bool vulnerable = false;
    int rows_seen = 0;
    while (std::getline(in, line)) {
      const auto f = sweep_csv_fields(line);
      const int r = std::stoi(f.at("rows")), c = std::stoi(f.at("cols"));
      cycles_csv += fmt::format("{},{},{},{},{},{}\n", r, c, r * c, f.at("total_cycles"), f.at("utilization"),
                                f.at("fault_sites"));
      if (!f.at("critical_rate").empty()) {
        vulnerable = true;
        vuln_csv += fmt::format("{},{},{},{},{},{}\n", r, c, r * c, f.at("critical_rate"), f.at("critical_rate_lo"),
                                f.at("critical_rate_hi"));
      }
      ++rows_seen;
    }
    if (rows_seen == 0) continue;
    Section s;
    s.title = "Sweep " + fs::relative(sweep, results_dir).string();
    s.intro_html = fmt::format("<p>{} array configurations from <code>{}</code> (one inference each, cycle by "
                               "cycle).</p>",
                               rows_seen, html_escape(fs::relative(sweep, results_dir).string()));
    const std::string base = "sweep_cycles_" + tag;
    write_file_atomically(out_dir + "/" + base + ".csv", cycles_csv);
    script += fmt::format(
        "set output '{0}/{1}.png'\nset title 'Cycles per inference against PE count'\nset xlabel 'PEs (rows x cols)'\n"
        "set ylabel 'cycles per inference'\nset logscale xy\nset key off\n"
        "plot '{0}/{1}.csv' using 3:4 with points pt 7, '' using 3:4:(sprintf('%dx%d', $1, $2)) with labels offset "
        "0,1 font ',8'\nunset logscale xy\n",
        out_dir, base);
    s.figures.push_back({base + ".png", base + ".csv",
                         "Total cycles per inference (with drain) of each array configuration, against its number of "
                         "PEs; labels are rows x cols."});
    if (vulnerable) {
      const std::string vbase = "sweep_vulnerability_" + tag;
      write_file_atomically(out_dir + "/" + vbase + ".csv", vuln_csv);
      script += fmt::format(
          "set output '{0}/{1}.png'\nset title 'Critical-fault rate against PE count'\nset xlabel 'PEs (rows x cols)'\n"
          "set ylabel 'critical-fault rate (95% interval)'\nset logscale x\nset key off\n"
          "plot '{0}/{1}.csv' using 3:4:5:6 with yerrorbars pt 7, '' using 3:4:(sprintf('%dx%d', $1, $2)) with labels "
          "offset 0,1 font ',8'\nunset logscale x\n",
          out_dir, vbase);
      s.figures.push_back({vbase + ".png", vbase + ".csv",
                           "ISimDL importance-weighted estimate of the critical-fault rate (share of the configuration's "
                           "fault space) with its 95% interval, from one campaign per configuration."});
    }
    sections.push_back(s);
    ++result.sweeps;
  }
  if (sections.empty()) throw Error(results_dir + ": nothing readable to report (see the messages above)");
  switch (render_gnuplot(out_dir, "report.gnuplot", script)) {
    case GnuplotRun::kRendered: result.rendered = true; break;
    case GnuplotRun::kFailed: log << "report: gnuplot failed (see " << out_dir << "/gnuplot.log); CSVs and page written\n"; break;
    case GnuplotRun::kMissing:
      log << "report: gnuplot not found (scripts/setup installs gnuplot-nox): CSVs and page without figures\n";
      break;
  }
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>isimdl report</title>\n"
      "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}"
      "figure{margin:1.5em 0}img{max-width:100%;border:1px solid #ddd}figcaption{font-size:0.9em;color:#444}"
      "code{background:#f4f4f4}</style></head><body>\n";
  html += fmt::format("<h1>isimdl report</h1>\n<p>From <code>{}</code>: {} campaign(s), {} sweep(s). Every figure's "
                      "data is the CSV linked under it; <code>gnuplot report.gnuplot</code> in this directory redraws them.</p>\n",
                      html_escape(results_dir), result.campaigns, result.sweeps);
  for (const Section& s : sections) {
    html += fmt::format("<h2>{}</h2>\n{}\n", html_escape(s.title), s.intro_html);
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
