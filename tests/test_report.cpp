// isimdl sweep and isimdl report, through the binary as a user runs them.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <cctype>
#include <utility>
#include <vector>
#include <sstream>

#include "tests/test_dir.h"
#include "reporting/report.h"

namespace isimdl {
namespace {

namespace fs = std::filesystem;
const std::string kSource = ISIMDL_SOURCE_DIR;

int run(const std::string& args) {
  const std::string command = "cd " + kSource + " && " + std::string(ISIMDL_BINARY) + " " + args + " > /dev/null 2>&1";
  return std::system(command.c_str());
}

// CSV with optional spaces after the commas (layers.csv uses SCALE-Sim's ", ").
std::vector<std::map<std::string, std::string>> read_csv(const std::string& path) {
  auto trim = [](std::string s) {
    while (!s.empty() && s.front() == ' ') s.erase(s.begin());
    return s;
  };
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> names;
  std::stringstream h(line);
  std::string cell;
  while (std::getline(h, cell, ',')) names.push_back(trim(cell));
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    std::map<std::string, std::string> row;
    std::stringstream r(line);
    for (const auto& n : names) {
      std::getline(r, cell, ',');
      row[n] = trim(cell);
    }
    rows.push_back(row);
  }
  return rows;
}

// "key: value" of the `total:` section of run.yaml.
std::string run_total(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  bool total = false;
  while (std::getline(in, line)) {
    if (line == "total:") total = true;
    if (total && line.rfind("  " + key + ": ", 0) == 0) return line.substr(key.size() + 4);
  }
  return "";
}

// The sweep's cycle numbers are those of single `isimdl run` calls on the
// same arrays (square and not) and dataflows, per configuration and per layer.
TEST(Sweep, CyclesEqualSingleRuns) {
  const fs::path dir = isimdl::test_dir() / "isimdl_sweep_test";
  fs::remove_all(dir);
  ASSERT_EQ(run("sweep --model lenet5 --rows 4,8 --cols 8 --dataflows ws,os,is --jobs 2 --out " + (dir / "sweep").string()), 0);
  const auto table = read_csv((dir / "sweep" / "sweep.csv").string());
  const auto layers = read_csv((dir / "sweep" / "sweep_layers.csv").string());
  ASSERT_EQ(table.size(), 6u);
  for (const auto& row : table) {
    const std::string name = row.at("rows") + "x" + row.at("cols") + "_" + row.at("dataflow");
    const std::string out = (dir / ("run_" + name)).string();
    ASSERT_EQ(run("run --images 0:1 -p array.rows=" + row.at("rows") + " -p array.cols=" + row.at("cols") +
                  " -p array.dataflow=" + row.at("dataflow") + " -p output.dir=" + out),
              0);
    EXPECT_EQ(row.at("total_cycles"), run_total(out + "/run.yaml", "total_cycles")) << name;
    EXPECT_EQ(row.at("compute_cycles"), run_total(out + "/run.yaml", "compute_cycles")) << name;
    EXPECT_EQ(row.at("weight_reads"), run_total(out + "/run.yaml", "weight_reads")) << name;
    const auto run_layers = read_csv(out + "/layers.csv");
    std::vector<std::string> sweep_cycles, run_cycles;
    for (const auto& l : layers)
      if (l.at("rows") == row.at("rows") && l.at("cols") == row.at("cols") && l.at("dataflow") == row.at("dataflow"))
        sweep_cycles.push_back(l.at("compute_cycles"));
    for (const auto& l : run_layers) run_cycles.push_back(l.at("Total Cycles"));
    EXPECT_EQ(sweep_cycles, run_cycles) << name;
    std::string with_drain;
    for (const auto& l : run_layers) with_drain += (with_drain.empty() ? "" : ";") + l.at("Cycles With Drain");
    EXPECT_EQ(row.at("layer_cycles"), with_drain) << name;
  }
}

// With --vulnerability, sweep_groups.csv splits each configuration's
// critical-fault rate by register group: the shares cover the space and
// the groups' rates, weighted by their shares, recombine to the overall
// rate (the identity of docs/sampling.md "Estimates"), for every dataflow.
TEST(Sweep, GroupRatesRecombineToTheOverallRate) {
  const fs::path dir = isimdl::test_dir() / "isimdl_sweep_groups";
  fs::remove_all(dir);
  ASSERT_EQ(run("sweep --model lenet5 --rows 4 --cols 8 --dataflows ws,os,is --vulnerability 60 --images 0:8 --out " +
                (dir / "sweep").string()),
            0);
  const auto table = read_csv((dir / "sweep" / "sweep.csv").string());
  const auto groups = read_csv((dir / "sweep" / "sweep_groups.csv").string());
  ASSERT_EQ(table.size(), 3u);
  for (const auto& row : table) {
    double share = 0, rate = 0;
    long long faults = 0;
    for (const auto& g : groups)
      if (g.at("dataflow") == row.at("dataflow")) {
        share += std::stod(g.at("share"));
        rate += std::stod(g.at("share")) * std::stod(g.at("critical_rate"));
        faults += std::stoll(g.at("faults"));
        EXPECT_LE(std::stod(g.at("critical_rate_lo")), std::stod(g.at("critical_rate")));
        EXPECT_GE(std::stod(g.at("critical_rate_hi")), std::stod(g.at("critical_rate")));
      }
    EXPECT_NEAR(share, 1.0, 1e-4) << row.at("dataflow");
    EXPECT_NEAR(rate, std::stod(row.at("critical_rate")), 1e-4 * std::stod(row.at("critical_rate")) + 1e-12)
        << row.at("dataflow");
    EXPECT_EQ(faults, 60) << row.at("dataflow");
  }
}

// The report renders for a small campaign and a small sweep: the page
// exists, refers only to local files that exist, and every figure's CSV has
// the documented columns.
TEST(Report, RendersACampaignAndASweepSelfContained) {
  const fs::path dir = isimdl::test_dir() / "isimdl_report_test";
  fs::remove_all(dir);
  const fs::path results = dir / "results";
  ASSERT_EQ(run("campaign -q -p campaign.faults=40 -p dataset.images=0:8 -p output.dir=" + (results / "isimdl").string()),
            0);
  ASSERT_EQ(run("sweep --model lenet5 --rows 4,8 --cols 8 --vulnerability 10 --images 0:8 --out " +
                (results / "sweep").string()),
            0);
  const fs::path out = dir / "report";
  ASSERT_EQ(run("report " + results.string() + " --out " + out.string()), 0);
  std::ifstream in(out / "index.html");
  ASSERT_TRUE(in);
  std::stringstream html;
  html << in.rdbuf();
  const std::string page = html.str();
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
  // Every src="..." and href="..." of the page (found by hand: libstdc++'s
  // std::regex draws a -Wmaybe-uninitialized warning in the sanitizer build).
  std::vector<std::pair<std::string, std::string>> refs;  // (attribute, target)
  for (const std::string attribute : {"src", "href"})
    for (std::size_t at = page.find(attribute + "=\""); at != std::string::npos; at = page.find(attribute + "=\"", at + 1)) {
      if (at > 0 && std::isalnum(static_cast<unsigned char>(page[at - 1]))) continue;
      const std::size_t begin = at + attribute.size() + 2, end = page.find('"', begin);
      if (end != std::string::npos && end > begin && page[begin] != '#') refs.emplace_back(attribute, page.substr(begin, end - begin));
    }
  int images = 0;
  for (const auto& [attribute, target] : refs) {
    EXPECT_EQ(target.find('/'), std::string::npos) << target;  // beside index.html
    EXPECT_TRUE(fs::exists(out / target)) << target;
    images += attribute == "src";
    if (target.size() > 4 && target.substr(target.size() - 4) == ".csv") {
      std::string kind;
      for (const char* k : {"outcomes_by_layer", "outcomes_by_group", "avf_by_group", "avf_by_layer", "avf_by_bit",
                            "avf_by_pe", "estimate", "sweep_cycles", "sweep_vulnerability", "compare_precision",
                            "find_critical"})
        if (target.rfind(k, 0) == 0) kind = k;
      ASSERT_FALSE(kind.empty()) << target;
      std::ifstream csv(out / target);
      std::string header;
      std::getline(csv, header);
      std::string want;
      for (const auto& c : report_csv_columns(kind)) want += (want.empty() ? "" : ",") + c;
      EXPECT_EQ(header, want) << target;
      std::string first_row;
      EXPECT_TRUE(static_cast<bool>(std::getline(csv, first_row))) << target << " has no data";
    }
  }
  EXPECT_GE(images, 9);  // 5 campaign figures, the estimate, 3 sweep figures
  // The answers lead: the summary table and the contents come before the first section.
  const auto summary = page.find("<caption>Campaigns: rates over the whole fault space");
  const auto contents = page.find("<h2 id=\"contents\">");
  const auto first = page.find("<h2 id=\"campaign-");
  EXPECT_NE(summary, std::string::npos);
  EXPECT_LT(summary, contents);
  EXPECT_LT(contents, first);
  // Per-structure population tables with intervals.
  EXPECT_NE(page.find("Vulnerability (AVF) per register group"), std::string::npos);
  // Every anchor the contents link to exists.
  for (std::size_t at = page.find("href=\"#"); at != std::string::npos; at = page.find("href=\"#", at + 1)) {
    const std::string id = page.substr(at + 7, page.find('"', at + 7) - at - 7);
    EXPECT_NE(page.find("id=\"" + id + "\""), std::string::npos) << id;
  }
}

TEST(Report, AnEmptyDirectoryIsAnError) {
  const fs::path dir = isimdl::test_dir() / "isimdl_report_empty";
  fs::remove_all(dir);
  fs::create_directories(dir);
  EXPECT_NE(run("report " + dir.string() + " --out " + (dir / "r").string()), 0);
}

}  // namespace
}  // namespace isimdl
