#include "hw/fault_equivalent.h"

#include "hw/register_kind.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "models/error.h"
#include "models/quantization.h"

namespace isimdl {
namespace {

// The register's raw value `before` with the fault's bits changed, as the
// register reads it back (sign-extended for signed registers).
std::int64_t faulty_value(const FaultSite& fault, std::int64_t before) {
  const int bits = fault.kind == FaultKind::kAdjacentBits ? fault.width : 1;
  const std::uint64_t mask = ((std::uint64_t{1} << bits) - 1) << fault.bit;
  auto raw = static_cast<std::uint64_t>(before);
  if (fault.kind == FaultKind::kStuckAt0) raw &= ~mask;
  else if (fault.kind == FaultKind::kStuckAt1) raw |= mask;
  else raw ^= mask;
  return register_info(fault.group).normalize(raw);
}

std::string hex(std::int64_t value, int width) {
  if (width == 1) return std::to_string(value);
  if (width == 8) return fmt::format("{:#04x}", static_cast<std::uint8_t>(value));
  if (width <= 16) return fmt::format("{:#05x}", static_cast<std::uint64_t>(value) & ((1u << width) - 1));
  return fmt::format("{:#010x}", static_cast<std::uint32_t>(value));
}

// "3..7, 9, 12..15"
std::string ranges(const std::set<int>& values) {
  std::string text;
  auto it = values.begin();
  while (it != values.end()) {
    int first = *it, last = *it;
    for (++it; it != values.end() && *it == last + 1; ++it) last = *it;
    if (!text.empty()) text += ", ";
    text += first == last ? std::to_string(first) : fmt::format("{}..{}", first, last);
  }
  return text;
}

struct Namer {
  const LayerJob& job;
  bool conv() const { return job.spec.kind == LayerKind::kConv2d; }
  std::string k_index(int k) const {
    if (!conv()) return std::to_string(k);
    return fmt::format("{}][{}][{}", job.im2col.k_channel(k), job.im2col.k_row(k), job.im2col.k_col(k));
  }
  std::string weight(int n, int k) const { return fmt::format("weight w[{}][{}]", n, k_index(k)); }
  std::string input_element(std::int64_t e) const {
    if (!conv()) return fmt::format("input x[{}]", e);
    const Shape& s = job.input_shape;
    return fmt::format("input x[{}][{}][{}]", e / (static_cast<std::int64_t>(s.h) * s.w), e / s.w % s.h, e % s.w);
  }
  std::string activation(int m, int k) const {
    if (!conv()) return fmt::format("activation x[{}]", k);
    const std::int64_t e = job.im2col.input_element(m, k);
    if (e < 0) return fmt::format("padding activation (output pixel {}, k {})", m, k);
    const Shape& s = job.input_shape;
    return fmt::format("activation x[{}][{}][{}] (for output pixel {})", e / (static_cast<std::int64_t>(s.h) * s.w),
                       e / s.w % s.h, e % s.w, m);
  }
  std::string output(int m, int n) const {
    if (!conv()) return fmt::format("output {}", n);
    return fmt::format("output pixel {} (y {}, x {}) of channel {}", m, m / job.output_shape.w, m % job.output_shape.w, n);
  }
  // "output pixels 17..63 of channel 3; pixels 0..5 of channel 4"
  std::string outputs(const std::map<int, std::set<int>>& by_channel) const {
    std::string text;
    for (const auto& [n, ms] : by_channel) {
      if (!text.empty()) text += "; ";
      if (!conv()) text += fmt::format("output {}", n);
      else text += fmt::format("output pixel{} {} of channel {}", ms.size() > 1 ? "s" : "", ranges(ms), n);
    }
    if (!conv() && by_channel.size() > 1) {
      std::set<int> ns;
      for (const auto& kv : by_channel) ns.insert(kv.first);
      return fmt::format("outputs {}", ranges(ns));
    }
    return text;
  }
};

}  // namespace

FaultEquivalent fault_equivalent(const LayerOracle& layer, const FaultSite& fault) {
  const RegisterInfo& info = register_info(fault.group);
  const std::int64_t edges = layer.schedule.edges();
  check_register_site(fault.group, fault.index, fault.bit, fault.kind == FaultKind::kAdjacentBits ? fault.width : 1,
                      fault.cycle,
                      RegisterCounts::of_layer(layer.schedule, static_cast<std::int64_t>(layer.job.input.size()))
                          .instances(fault.group),
                      edges);

  FaultEquivalent eq;
  const RegisterOracle& oracle = *layer.oracle;
  const bool stuck = fault.kind == FaultKind::kStuckAt0 || fault.kind == FaultKind::kStuckAt1;
  const std::int64_t before = oracle.value(fault.group, fault.index, fault.cycle);
  const std::int64_t after = faulty_value(fault, before);
  eq.injection = InjectionRecord{true, before, after};
  eq.held = oracle.holds(fault.group, fault.index, fault.cycle);
  if (stuck && fault.duration > 1 && std::min(edges, fault.cycle + fault.duration) - fault.cycle > 1) {
    eq.expressible = false;
    eq.not_expressible = fmt::format(
        "a stuck-at fault held for {} edges acts again on a state its earlier edges already changed; only "
        "single-edge faults have a software-level equivalent (simulate it instead)",
        fault.duration);
    return eq;
  }
  if (before == after) return eq;
  if (info.holds_output) {
    const int m = static_cast<int>(fault.index % layer.job.gemm.m), n = static_cast<int>(fault.index / layer.job.gemm.m);
    // Written before the fault: the wrong value is the layer's output.
    // Written after it: overwritten, dead.
    if (oracle.output_write_edge(m, n) <= fault.cycle)
      eq.outputs.push_back(FaultEquivalent::OutputWrite{m, n, static_cast<std::int8_t>(after)});
    return eq;
  }
  eq.accumulators = oracle.effect(fault.group, fault.index, fault.cycle, after);
  return eq;
}

LayerChange equivalent_change(const FaultEquivalent& eq, const LayerJob& job, const std::vector<std::int32_t>& acc,
                              const std::vector<std::int8_t>& out) {
  if (!eq.expressible) throw Error("equivalent_change: the fault has no software-level equivalent: " + eq.not_expressible);
  const auto M = static_cast<std::int64_t>(job.gemm.m);
  // Net change per accumulator (int32, wrapping), in first-touch order.
  std::map<std::int64_t, std::uint32_t> net;
  std::vector<std::int64_t> order;
  for (const RegisterOracle::Change& change : eq.accumulators) {
    const std::int64_t e = static_cast<std::int64_t>(change.n) * M + change.m;
    auto [it, fresh] = net.emplace(e, 0u);
    if (fresh) order.push_back(e);
    it->second += static_cast<std::uint32_t>(change.delta);
  }
  LayerChange c;
  std::map<std::int64_t, std::int8_t> written;
  for (const std::int64_t e : order) {
    const std::uint32_t d = net[e];
    if (d == 0) continue;
    const auto a = static_cast<std::int32_t>(static_cast<std::uint32_t>(acc[static_cast<std::size_t>(e)]) + d);
    c.acc.emplace_back(e, a);
    written[e] = requantize(a, job.multiplier[static_cast<std::size_t>(e / M)], job.output_zero_point, job.relu);
  }
  for (const FaultEquivalent::OutputWrite& w : eq.outputs) written[static_cast<std::int64_t>(w.n) * M + w.m] = w.value;
  for (const auto& [e, v] : written)
    if (v != out[static_cast<std::size_t>(e)]) c.out.emplace_back(e, v);
  return c;
}

void apply_equivalent(const FaultEquivalent& eq, const LayerJob& job, std::vector<std::int32_t>& acc,
                      std::vector<std::int8_t>& out) {
  const LayerChange c = equivalent_change(eq, job, acc, out);
  for (const auto& [e, a] : c.acc) acc[static_cast<std::size_t>(e)] = a;
  for (const auto& [e, v] : c.out) out[static_cast<std::size_t>(e)] = v;
}

std::string explain_equivalent(const FaultEquivalent& eq, const FaultSite& fault, const LayerOracle& layer,
                               const std::vector<std::int32_t>& acc, const std::vector<std::int8_t>& out) {
  // The register as this dataflow's cell uses it (output-stationary's
  // propagate register is the drain tag).
  const RegisterInfo& info = register_kind(fault.group, layer.schedule.dataflow).info();
  const LayerJob& job = layer.job;
  const Namer name{job};
  const RegisterOracle::Holding& h = eq.held;
  using Kind = RegisterOracle::Holding::Kind;
  std::string held;
  switch (h.kind) {
    case Kind::kNothing:
      held = h.drain ? "a set drain tag and no operand (the PEs on its right move their sums into the out chain)"
                     : "no tensor element (idle or dead)";
      break;
    case Kind::kActivation:
      held = info.role + name.activation(h.m, h.k);
      break;
    case Kind::kWeight: held = name.weight(h.n, h.k); break;
    case Kind::kPartialSum:
      held = fmt::format("the partial sum over k {}..{} of {}", h.k, h.k + h.terms - 1, name.output(h.m, h.n));
      break;
    case Kind::kAccumulator:
      held = fmt::format("the accumulator (bias + {} of {} terms) of {}", h.terms, job.gemm.k_per_group(), name.output(h.m, h.n));
      break;
    case Kind::kInputWord: held = name.input_element(h.element); break;
    case Kind::kOutputWord: held = "the int8 " + name.output(h.m, h.n); break;
  }
  std::string text = fmt::format("{} of {}[{}] after edge {} of the layer: the register holds {}; {} instead of {}.\n",
                                 fault.kind == FaultKind::kAdjacentBits
                                     ? fmt::format("bits {}..{} ({})", fault.bit, fault.bit + fault.width - 1,
                                                   to_string(fault.kind))
                                     : fmt::format("bit {} ({})", fault.bit, to_string(fault.kind)),
                                 info.group_name, fault.index, fault.cycle, held, hex(eq.injection.after, info.width),
                                 hex(eq.injection.before, info.width));
  if (!eq.expressible) return text + "No software-level equivalent: " + eq.not_expressible + ".\n";
  if (eq.injection.before == eq.injection.after) return text + "The bits already had that value: no effect.\n";
  if (eq.dead())
    return text + "Equivalent: nothing. The value is never read again before it is overwritten (masked in the " +
           (is_sram_buffer(fault.group) ? std::string("buffer") : std::string("array")) + ").\n";
  if (!eq.outputs.empty()) {
    const auto& w = eq.outputs.front();
    const std::size_t e = static_cast<std::size_t>(w.n) * static_cast<std::size_t>(job.gemm.m) + static_cast<std::size_t>(w.m);
    return text + fmt::format("Equivalent: {} is {} ({}) instead of {} ({}).\n", name.output(w.m, w.n),
                              hex(w.value, 8), w.value, hex(out[e], 8), out[e]);
  }
  // Accumulator changes, summed per output.
  std::map<std::pair<int, int>, std::int64_t> per_output;
  for (const auto& c : eq.accumulators) per_output[{c.n, c.m}] += c.delta;
  std::map<int, std::set<int>> changed_acc;
  std::int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (const auto& [nm, d] : per_output) {
    if (static_cast<std::int32_t>(d) == 0) continue;
    changed_acc[nm.first].insert(nm.second);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  std::vector<std::int32_t> acc2 = acc;
  std::vector<std::int8_t> out2 = out;
  apply_equivalent(eq, job, acc2, out2);
  std::map<int, std::set<int>> changed_out;
  std::size_t n_out = 0;
  for (std::size_t e = 0; e < out.size(); ++e)
    if (out2[e] != out[e]) {
      changed_out[static_cast<int>(e / static_cast<std::size_t>(job.gemm.m))].insert(
          static_cast<int>(e % static_cast<std::size_t>(job.gemm.m)));
      ++n_out;
    }
  const bool operand = h.kind == Kind::kActivation || h.kind == Kind::kWeight || h.kind == Kind::kInputWord;
  std::string what;
  if (operand && info.holds_operand_value)
    what = fmt::format("{} reads {} instead of {} for {}", h.kind == Kind::kWeight ? name.weight(h.n, h.k) : held,
                       hex(eq.injection.after, 8), hex(eq.injection.before, 8), name.outputs(changed_acc));
  else
    what = fmt::format("the final accumulator of {} changes", name.outputs(changed_acc));
  text += fmt::format("Equivalent: {}", what);
  if (per_output.size() == 1 || lo == hi) text += fmt::format(" (accumulator {:+d})", lo);
  else text += fmt::format(" (accumulators change by {:+d} .. {:+d})", lo, hi);
  text += ".\n";
  if (changed_acc.empty()) return text + "The changes cancel: no accumulator changes.\n";
  std::size_t n_acc = 0;
  for (const auto& kv : changed_acc) n_acc += kv.second.size();
  if (n_out == 0)
    text += fmt::format("After requantization: no int8 output changes ({} accumulator{} masked by rounding, the "
                        "int8 clamp{}).\n",
                        n_acc, n_acc > 1 ? "s" : "", job.relu ? " or the fused ReLU" : "");
  else
    text += fmt::format("After requantization: {} of {} changed accumulators change the int8 output ({}).\n", n_out,
                        n_acc, name.outputs(changed_out));
  return text;
}

}  // namespace isimdl
