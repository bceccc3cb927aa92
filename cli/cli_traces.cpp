// Commands for verification engineers: trace-diff (compare two cycle traces)
// and fold-trace (one random fold on the model, traced, with the stimulus an
// RTL testbench needs to run the same fold: tests/rtl/).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <ostream>

#include "hw/rtl_stimulus.h"
#include "hw/accelerator.h"
#include "hw/fold_schedule.h"
#include "hw/layer_job.h"
#include "hw/tracer.h"
#include "models/atomic_file.h"
#include "models/error.h"
#include "cli/cli.h"
#include "cli/cli_commands.h"
#include "config/config.h"
#include "campaign/fault_list.h"
#include "reporting/trace_diff.h"

namespace isimdl {
namespace po = boost::program_options;
namespace {

int trace_diff_command(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  std::string path_a, path_b, window;
  TraceDiffOptions o;
  po::options_description desc("Options");
  desc.add_options()("a", po::value(&path_a)->required(), "first trace (CSV, or .vcd)")(
      "b", po::value(&path_b)->required(), "second trace (CSV, or .vcd)")(
      "registers", po::value(&o.prefixes)->composing(),
      "compare only registers whose name starts with this (repeatable), e.g. --registers array.")(
      "window", po::value(&window), "compare only cycles START:END")(
      "show", po::value(&o.keep)->default_value(o.keep), "differences to list");
  po::positional_options_description pos;
  pos.add("a", 1).add("b", 1);
  po::variables_map values;
  if (parse_command_line(prog, "A B [--registers PREFIX]... [--window START:END]", desc, pos, args, values, io))
    return kExitOk;
  if (!window.empty()) {
    try {
      const ImageRange w = parse_image_range(window);
      o.window_begin = w.begin;
      o.window_end = w.end;
    } catch (const Error& e) {
      throw UsageError(fmt::format("{}: --window: {}", prog, e.what()));
    }
  }
  auto a = open_trace(path_a);
  auto b = open_trace(path_b);
  const TraceDiffResult r = diff_traces(*a, *b, o);
  if (r.equal()) {
    io.out << fmt::format("identical: {} cycles, {} register values compared\n", r.cycles_compared, r.values_compared);
    return kExitOk;
  }
  const TraceDifference& first = r.first.front();
  io.out << fmt::format("first divergence: cycle {}, register {}: {} in {}, {} in {}\n", first.cycle,
                        first.register_name, first.a, path_a, first.b, path_b);
  io.out << fmt::format("{} differing values in {} registers over {} cycles compared ({} values compared)\n",
                        r.differences, r.per_register.size(), r.cycles_compared, r.values_compared);
  io.out << "first differences (cycle, register, A, B):\n";
  for (const auto& d : r.first) io.out << fmt::format("  {:>8}  {:<32} {:>12} {:>12}\n", d.cycle, d.register_name, d.a, d.b);
  return kExitError;
}

// The longest fold fold-trace streams: its trace and stimulus stay in the
// tens of megabytes on the largest array.
constexpr int kMaxFoldTraceM = 65536;

int fold_trace_command(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  int rows = 4, cols = 4, m = 0, k = 0, n = 0;
  std::uint64_t seed = 1;
  std::string stimulus, csv, vcd, fault_text, dataflow_name = "ws";
  po::options_description desc("Options");
  desc.add_options()("rows", po::value(&rows)->default_value(rows), "PE rows R")(
      "cols", po::value(&cols)->default_value(cols), "PE columns C")(
      "dataflow", po::value(&dataflow_name)->default_value(dataflow_name), "ws, os or is")(
      "m", po::value(&m)->default_value(0),
      "GEMM rows M: vectors streamed (ws, default 2R), columns used (is, <= C, default C) or rows used (os, <= R, default R)")(
      "k", po::value(&k)->default_value(0), "rows of K used, <= R (default R); os: K-steps streamed (default 2R)")(
      "n", po::value(&n)->default_value(0), "GEMM columns N: columns used (ws, <= C, default C) or vectors streamed (is, default 2R)")(
      "seed", po::value(&seed)->default_value(seed), "random int8 weights and activations")(
      "fault", po::value(&fault_text),
      "one fault: \"cycle=T group=G index=I bit=B [kind=bit_flip|adjacent_bits width=W]\" (layer is 0)")(
      "stimulus", po::value(&stimulus), "write the fold for the RTL testbench (tests/rtl/tb_pe_array.v)")(
      "trace-csv", po::value(&csv), "write the model's CSV trace")("trace-vcd", po::value(&vcd), "write a VCD trace");
  po::variables_map values;
  if (parse_command_line(prog, "--rows R --cols C [--m M] [--seed S] [--fault SPEC] --stimulus FILE --trace-csv FILE",
                         desc, {}, args, values, io))
    return kExitOk;
  if (rows < 1 || cols < 1 || rows > 256 || cols > 256) throw UsageError(prog + ": --rows and --cols must be in 1..256");
  const Dataflow dataflow = dataflow_from_string(dataflow_name);
  const bool is = dataflow == Dataflow::kInputStationary;
  if (dataflow == Dataflow::kOutputStationary) {
    // One fold: at most R x C outputs held, K streamed.
    if (m == 0) m = rows;
    if (n == 0) n = cols;
    if (k == 0) k = 2 * rows;
    if (m < 1 || m > rows || n < 1 || n > cols || k < 1)
      throw UsageError(fmt::format("{}: os: need 1 <= m <= rows, 1 <= n <= cols and k >= 1 (one fold)", prog));
    if (k > kMaxFoldTraceM)
      throw UsageError(fmt::format("{}: --k {}: a fold trace streams at most {} vectors", prog, k, kMaxFoldTraceM));
  } else {
    // One fold: the stationary operand fills at most R x C, the other streams.
    int& vectors = is ? n : m;
    int& columns = is ? m : n;
    if (vectors == 0) vectors = 2 * rows;
    if (k == 0) k = rows;
    if (columns == 0) columns = cols;
    if (vectors < 1 || k < 1 || k > rows || columns < 1 || columns > cols)
      throw UsageError(fmt::format("{}: need 1 <= k <= rows, 1 <= {} <= cols and {} >= 1 (one fold)", prog,
                                   is ? "m" : "n", is ? "n" : "m"));
    if (vectors > kMaxFoldTraceM)
      throw UsageError(fmt::format("{}: --{} {}: a fold trace streams at most {} vectors (it is one fold for a waveform "
                                   "viewer and the RTL testbench; `isimdl run` simulates whole networks)",
                                   prog, is ? "n" : "m", vectors, kMaxFoldTraceM));
  }
  const int streamed = dataflow == Dataflow::kOutputStationary ? k : is ? n : m;
  FaultSite fault;
  const bool with_fault = !fault_text.empty();
  if (with_fault) {
    fault = parse_fault_site(fault_text.find("layer=") == std::string::npos ? "layer=0 " + fault_text : fault_text);
    if (fault.kind != FaultKind::kBitFlip && fault.kind != FaultKind::kAdjacentBits)
      throw UsageError(prog + ": --fault: the RTL saboteur flips bits (kind bit_flip or adjacent_bits)");
    rtl_saboteur(fault.group);
  }
  // One fold: a 1x1 convolution over M pixels is the GEMM M x K x N.
  const LayerJob job = random_gemm_job(m, k, n, seed);
  ArrayConfig array;
  array.rows = rows;
  array.cols = cols;
  array.dataflow = dataflow;
  // One tile: the accumulator holds all streamed vectors, so the fold is
  // streamed in one piece as the RTL testbench streams it.
  array.buffers.accumulator_kib = static_cast<int>(std::max<std::int64_t>(
      array.buffers.accumulator_kib, (static_cast<std::int64_t>(streamed) * cols * 4 + 1023) / 1024));
  const LayerSchedule schedule = make_layer_schedule(job.gemm, array);
  Accelerator& accelerator = shared_accelerator();
  accelerator.configure(array);
  TraceOptions trace;
  trace.csv_path = csv;
  trace.vcd_path = vcd;
  trace.layer = 0;
  std::unique_ptr<Tracer> tracer;
  if (!csv.empty() || !vcd.empty()) {
    tracer = std::make_unique<Tracer>("tracer", accelerator, trace);
  }
  accelerator.set_current_layer(0);
  const std::uint64_t flip_mask = fault_bit_mask(fault);
  InjectionRecord record;
  const auto start = std::chrono::steady_clock::now();
  accelerator.run_layer(job, nullptr, with_fault ? &fault : nullptr, &record);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  accelerator.set_current_layer(-1);
  if (!stimulus.empty())
    write_file_atomically(stimulus,
                          rtl_stimulus(job, rows, cols, schedule.edges(), with_fault ? &fault : nullptr, dataflow));
  io.out << fmt::format("fold: {}x{} {} array, M={} K={} N={}, {} cycles{}\n", rows, cols, to_string(dataflow), m, k, n,
                        schedule.edges(),
                        with_fault ? fmt::format("; fault {}[{}] bits 0x{:x} after edge {}: {} -> {}",
                                                 register_info(fault.group).group_name, fault.index, flip_mask,
                                                 fault.cycle, record.before, record.after)
                                   : std::string());
  io.out << fmt::format("simulated {} cycles in {:.3f} s: {:.0f} cycles/s, {:.1f} M PE-cycles/s\n", schedule.edges(),
                        seconds, schedule.edges() / seconds, schedule.edges() * double(rows) * cols / seconds / 1e6);
  if (tracer) io.out << fmt::format("traced {} cycles ({} CSV rows)\n", tracer->cycles_sampled(), tracer->rows_written());
  for (const std::string* file : {&stimulus, &csv, &vcd})
    if (!file->empty()) io.out << "wrote " << *file << "\n";
  return kExitOk;
}

}  // namespace

std::vector<CliCommand> trace_commands() {
  return {
      {"trace-diff", "compare two cycle traces (CSV or VCD): first divergence and a summary; exit 1 when they differ",
       trace_diff_command, {}},
      {"fold-trace", "run one random fold on the model, traced, and write the RTL testbench's stimulus for it",
       fold_trace_command, {}},
  };
}

}  // namespace isimdl
