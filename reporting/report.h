#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace isimdl {

// A static HTML report (docs/usage.md "Reports") of everything found under a
// results directory: every campaign results file (*.sqlite) and every sweep
// table (sweep.csv). Each figure is a PNG rendered by gnuplot from a CSV
// written beside it, with a one-line caption; index.html refers only to
// files in the output directory, so the report opens without a network and
// can be copied elsewhere whole.
struct ReportFigure {
  std::string png;      // file name in the output directory
  std::string csv;      // its data
  std::string caption;  // what was measured and how
};

struct ReportResult {
  std::string index_html;  // path
  std::vector<ReportFigure> figures;
  int campaigns = 0, sweeps = 0;
  bool rendered = false;  // gnuplot ran
};

// Throws Error when the directory holds nothing to report.
ReportResult write_report(const std::string& results_dir, const std::string& out_dir, std::ostream& log);

// Writes a gnuplot script as dir/name, with its file paths made relative to
// `dir` (so that `cd dir && gnuplot name` redraws a copied directory too),
// and runs it there, gnuplot's output in dir/gnuplot.log. The report and
// `isimdl compare` draw their figures this way.
enum class GnuplotRun { kRendered, kFailed, kMissing };
GnuplotRun render_gnuplot(const std::string& dir, const std::string& name, std::string script);

// The CSV columns of each figure kind, as the report writes them (the tests
// and docs/usage.md use these).
const std::vector<std::string>& report_csv_columns(const std::string& kind);

}  // namespace isimdl
