#include "hw/accelerator.h"

#include <fmt/format.h>

#include <cmath>

#include "models/quantized_model.h"

namespace isimdl {

Accelerator::Accelerator(const sc_core::sc_module_name& name)
    : sc_core::sc_module(name),
      falling_("falling_edge"),
      controller_("controller", ifmap_, weights_),
      array_("array"),
      accumulator_("accumulator", array_),
      output_stage_("output_stage", output_) {
  SC_METHOD(on_clock);  // first run at time 0 (initialization), then every period
  array_.bind_registers(registers_);
  accumulator_.bind_registers(registers_);
  output_stage_.bind_registers(registers_);
  registers_.bind(RegisterGroup::kIfmapBuffer, {FieldStorage::of(ifmap_.words())});
  registers_.bind(RegisterGroup::kWeightBuffer, {FieldStorage::of(weights_.words())});
  registers_.bind(RegisterGroup::kOutputBuffer, {FieldStorage::of(output_.words())});
}

void Accelerator::configure(const ArrayConfig& config) {
  if (config.rows < 1 || config.rows > 256 || config.cols < 1 || config.cols > 256)
    throw ConfigError(fmt::format("array: {}x{} PEs is outside 1..256 x 1..256", config.rows, config.cols));
  if (config.buffers.banks < 1) throw ConfigError("array.buffers.banks: must be at least 1");
  if (static_cast<std::int64_t>(config.buffers.weight_kib) * 1024 < static_cast<std::int64_t>(config.rows) * config.cols)
    throw ConfigError(fmt::format("array.buffers.weight_kib: {} KiB cannot hold one fold of {}x{} int8 weights",
                                  config.buffers.weight_kib, config.rows, config.cols));
  if (static_cast<std::int64_t>(config.buffers.accumulator_kib) * 1024 < 4LL * config.cols)
    throw ConfigError(fmt::format("array.buffers.accumulator_kib: {} KiB cannot hold one row of {} int32 results",
                                  config.buffers.accumulator_kib, config.cols));
  config_ = config;
  configured_ = true;
  const int banks = config.buffers.banks;
  ifmap_.configure("ifmap", static_cast<std::int64_t>(config.buffers.ifmap_kib) * 1024, banks);
  weights_.configure("weight", static_cast<std::int64_t>(config.buffers.weight_kib) * 1024, banks);
  output_.configure("output", static_cast<std::int64_t>(config.buffers.output_kib) * 1024, banks);
  controller_.configure(config.rows, config.cols);
  array_.configure(config.rows, config.cols, config.dataflow);
  accumulator_.configure(config.cols, static_cast<std::int64_t>(config.buffers.accumulator_kib) * 1024 / 4, banks);
  output_stage_.configure(config.cols);
}

void Accelerator::reset() {
  controller_.reset();
  array_.reset();
  accumulator_.reset();
  output_stage_.reset();
  // The boundary registers reset to idle, sized for the configured array.
  const auto rows = static_cast<std::size_t>(config_.rows), cols = static_cast<std::size_t>(config_.cols);
  for (ArrayFeed* f : {&feed_.current, &feed_.next}) {
    *f = ArrayFeed{};
    f->a.assign(rows, 0);
    f->valid.assign(rows, 0);
    f->propagate.assign(rows, 0);
    f->weight.assign(cols, 0);
  }
  command_.current = command_.next = AccumulateCommand{};
  for (RequantRequest* r : {&requant_.current, &requant_.next}) {
    *r = RequantRequest{};
    r->acc.assign(cols, 0);
  }
}

void Accelerator::on_clock() {
  next_trigger(period_);
  if (falling_wanted_) falling_.notify(half_period_);
  if (!configured_) return;
  output_stage_.tick(requant_.current);
  accumulator_.tick(command_.current, requant_.next);
  array_.tick(feed_.current);
  controller_.tick(feed_.next, command_.next);
  feed_.clock_edge();
  command_.clock_edge();
  requant_.clock_edge();
}

std::int64_t Accelerator::layer_edges(const GemmShape& gemm) const {
  return make_layer_schedule(gemm, config_).edges();
}

void Accelerator::advance_to(std::int64_t edges, std::int64_t budget) {
  while (accumulator_.edges() < edges) {
    if (accumulator_.edges() >= budget) {
      running_ = false;
      throw WatchdogError(fmt::format("watchdog: layer did not finish within {} cycles ({} output rows written)",
                                      budget, output_stage_.rows_written()));
    }
    sc_core::sc_start(period() * static_cast<double>(edges - accumulator_.edges()));
  }
  if (accumulator_.edges() != edges)
    throw Error(fmt::format("internal: simulated to edge {} instead of {}", accumulator_.edges(), edges));
}

LayerResult Accelerator::run_layer(const LayerJob& job, LayerStats* stats, const FaultSite* fault,
                                   InjectionRecord* record) {
  if (!configured_) throw Error("Accelerator::run_layer: configure() first");
  const LayerSchedule schedule = make_layer_schedule(job.gemm, config_);
  reset();
  ifmap_.load(job.input);
  weights_.load(weight_buffer_words(job));
  output_.resize(static_cast<std::size_t>(job.gemm.m) * job.gemm.n);
  ifmap_.reset_counters();
  weights_.reset_counters();
  output_.reset_counters();
  accumulator_.start(schedule, job.bias);
  output_stage_.start(job, schedule);
  controller_.start(job, schedule);
  const std::int64_t array_macs_before = array_.mac_count();

  const std::int64_t expected_edges = schedule.edges();
  const std::int64_t expected_rows = schedule.output_rows();
  const std::int64_t budget = expected_edges + 64;
  running_ = true;
  if (fault) {
    if (fault->cycle < 0 || fault->cycle >= expected_edges) {
      running_ = false;
      throw Error(fmt::format("fault cycle {} is outside the layer's run of {} cycles", fault->cycle, expected_edges));
    }
    const bool stuck = fault->kind == FaultKind::kStuckAt0 || fault->kind == FaultKind::kStuckAt1;
    const std::int64_t last = stuck ? std::min(expected_edges, fault->cycle + std::max<std::int64_t>(1, fault->duration))
                                    : fault->cycle + 1;
    for (std::int64_t cycle = fault->cycle; cycle < last; ++cycle) {
      // Stop in the first half of the cycle, after rising edge `cycle` and
      // before the falling edge: the fault acts on the state after that
      // edge, and a trace (sampled on the falling edge) shows the faulty
      // value in that cycle's row, as an RTL saboteur forcing the register
      // at that edge would. sc_start(n periods) stops just before a rising
      // edge; once a quarter period is added, it stops a quarter after one.
      if (!mid_cycle_) {
        advance_to(cycle, budget);
        sc_core::sc_start(period() / 4);
        mid_cycle_ = true;
      } else {
        advance_to(cycle + 1, budget);
      }
      if (accumulator_.edges() != cycle + 1)
        throw Error(fmt::format("internal: injection at edge {} instead of {}", accumulator_.edges() - 1, cycle));
      try {
        const InjectionRecord r = apply_fault(*this, *fault);
        if (record && cycle == fault->cycle) *record = r;
      } catch (...) {
        running_ = false;
        throw;
      }
    }
  }
  advance_to(expected_edges, budget);
  while (output_stage_.rows_written() < expected_rows || !controller_.idle())
    advance_to(accumulator_.edges() + 1, budget);
  if (mid_cycle_) {
    // Back onto the period grid: through the falling edge (the trace samples
    // the last cycle there) to just before the next rising edge.
    sc_core::sc_start(period() * 3 / 4);
    mid_cycle_ = false;
  }
  running_ = false;

  LayerResult result;
  result.acc = output_stage_.observed_acc();
  result.out = output_.words();
  if (stats) {
    LayerStats& s = *stats;
    // The last accumulator write is R + C edges after the last result row's
    // time; the last MAC (SCALE-Sim's total) R + C - 2 after the last feed.
    s.compute_cycles = accumulator_.last_write_edge() - 2 - schedule.drain_tail();
    s.total_cycles = accumulator_.last_write_edge() + 3;  // through the output write
    s.folds = static_cast<std::int64_t>(schedule.folds.size());
    s.m_tiles = schedule.m_tiles();
    s.macs = array_.mac_count() - array_macs_before;
    s.useful_macs = job.gemm.useful_macs();
    s.pe_cycles = static_cast<std::int64_t>(config_.rows) * config_.cols * (s.compute_cycles + 1);
    s.mapped_macs = schedule.mapped_macs();
    s.ifmap_reads = ifmap_.reads();
    s.ifmap_writes = static_cast<std::int64_t>(job.input.size());
    s.weight_reads = weights_.reads();
    s.weight_writes = job.gemm.weights();  // structural zeros of a grouped GEMM are never loaded
    s.accumulator_reads = accumulator_.words.reads();
    s.accumulator_writes = accumulator_.words.writes();
    s.output_reads = output_.reads();
    s.output_writes = output_.writes();
    // DRAM traffic: an operand that fits its buffer is fetched once; one
    // that does not is re-fetched for every pass that needs it: the streamed
    // operand per column slice of a group (each group reads only its own
    // channels), the stationary one per tile of streamed vectors
    // (weight-stationary: ifmap per N-slice, weights per M-tile;
    // input-stationary: weights per M-slice, ifmap per tile of filters).
    // Outputs are written back once.
    const auto in_bytes = static_cast<std::int64_t>(job.input.size());
    const std::int64_t w_bytes = job.gemm.weights();
    const bool is = schedule.input_stationary();
    const std::int64_t ifmap_passes = is ? schedule.m_tiles() / job.gemm.groups : schedule.n_folds();
    const std::int64_t weight_passes = is ? schedule.n_folds() : schedule.m_tiles();
    s.dram_ifmap_bytes = in_bytes <= ifmap_.capacity_words() ? in_bytes : in_bytes * ifmap_passes;
    s.dram_weight_bytes = w_bytes <= weights_.capacity_words() ? w_bytes : w_bytes * weight_passes;
    s.dram_output_bytes = static_cast<std::int64_t>(job.gemm.m) * job.gemm.n;
    if (config_.dram_bytes_per_cycle > 0) {
      const double transfer =
          std::ceil(static_cast<double>(s.dram_ifmap_bytes + s.dram_weight_bytes + s.dram_output_bytes) /
                    config_.dram_bytes_per_cycle);
      s.stall_cycles = std::max<std::int64_t>(0, static_cast<std::int64_t>(transfer) - (s.compute_cycles + 1));
    }
  }
  return result;
}

std::string systemc_version() { return sc_core::sc_release(); }

Accelerator& shared_accelerator() {
  static Accelerator* instance = new Accelerator("accelerator");  // lives as long as the simulation
  return *instance;
}

}  // namespace isimdl
