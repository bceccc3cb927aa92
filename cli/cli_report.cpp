// isimdl report: a static HTML page of a results directory's campaigns and sweeps.
#include <fmt/format.h>

#include <ostream>

#include "cli/cli.h"
#include "cli/cli_commands.h"
#include "reporting/report.h"

namespace isimdl {
namespace po = boost::program_options;
namespace {

int report_command(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  std::string results, out = "report";
  po::options_description desc("Options");
  desc.add_options()("results", po::value(&results)->required(), "results directory (campaign *.sqlite, sweep.csv)")(
      "out,o", po::value(&out)->default_value(out), "directory for index.html, its figures and their CSVs");
  po::positional_options_description pos;
  pos.add("results", 1);
  po::variables_map values;
  if (parse_command_line(prog, "RESULTS_DIR [--out DIR]", desc, pos, args, values, io)) return kExitOk;
  const ReportResult r = write_report(results, out, io.err);
  io.out << fmt::format("report: {} campaign(s), {} sweep(s), {} figures{} -> {}\n", r.campaigns, r.sweeps,
                        r.figures.size(), r.rendered ? "" : " (not rendered)", r.index_html);
  return kExitOk;
}

}  // namespace

CliCommand report_command_entry() {
  return {"report", "a self-contained HTML report (gnuplot figures + CSVs) of a results directory", report_command, {}};
}

}  // namespace isimdl
