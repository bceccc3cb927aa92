#include "hw/tracer.h"

#include <fmt/format.h>

#include "hw/accelerator.h"
#include "models/error.h"

namespace isimdl {

Tracer::Tracer(const sc_core::sc_module_name& name, Accelerator& accelerator, TraceOptions options)
    : sc_core::sc_module(name), accelerator_(accelerator), options_(std::move(options)) {
  SC_METHOD(sample);
  sensitive << accelerator.falling_edge();
  dont_initialize();
  build_probes();
  mirror_.assign(probes_.size(), 0);
  if (!options_.vcd_path.empty()) {
    std::string base = options_.vcd_path;
    if (base.size() > 4 && base.substr(base.size() - 4) == ".vcd") base.resize(base.size() - 4);
    vcd_ = sc_core::sc_create_vcd_trace_file(base.c_str());
    if (!vcd_) throw Error(fmt::format("{}: cannot create VCD file", options_.vcd_path));
    vcd_->set_time_unit(1, sc_core::SC_PS);  // samples fall on half and quarter periods
    // The layer-relative cycle of every sample, so that a reader of the VCD
    // can number cycles as the CSV does (isimdl trace-diff uses it).
    sc_core::sc_trace(vcd_, cycle_mirror_, "cycle");
    for (std::size_t i = 0; i < probes_.size(); ++i) sc_core::sc_trace(vcd_, mirror_[i], probes_[i].name);
  }
  if (!options_.csv_path.empty()) {
    csv_.open(options_.csv_path);
    if (!csv_) throw Error(fmt::format("{}: cannot write trace", options_.csv_path));
    csv_ << "cycle,register,value\n";
  }
}

Tracer::~Tracer() {
  if (vcd_) sc_core::sc_close_vcd_trace_file(vcd_);
}

void Tracer::build_probes() {
  // Every traced register kind (hw/register_map.h), each field a probe named
  // as RegisterInfo::trace_name says: the PE registers PE by PE, then the
  // other kinds instance by instance. Probes read through the register
  // storage each time (the PE array swaps its vectors' contents at every edge).
  const RegisterStorage& storage = accelerator_.registers();
  const int cols = accelerator_.array().cols();
  auto add = [&](const RegisterInfo& info, std::int64_t index) {
    for (std::size_t f = 0; f < info.fields.size(); ++f)
      probes_.push_back({info.trace_name(index, f, cols), [&storage, group = info.group, f, index] {
                           return static_cast<std::int32_t>(storage.read_field(group, f, index));
                         }});
  };
  const std::int64_t pes = static_cast<std::int64_t>(accelerator_.array().rows()) * cols;
  for (std::int64_t pe = 0; pe < pes; ++pe)
    for (const RegisterInfo& info : register_map())
      if (info.placement == Placement::kPe && storage.instances(info.group) > 0) add(info, pe);  // the dataflow's cell
  for (const RegisterInfo& info : register_map())
    if (info.traced() && info.placement != Placement::kPe)
      for (std::int64_t i = 0; i < storage.instances(info.group); ++i) add(info, i);
}

void Tracer::sample() {
  const int layer = accelerator_.current_layer();
  if (options_.layer >= 0 ? layer != options_.layer : (traced_layer_ != -2 && layer != traced_layer_)) return;
  if (traced_layer_ == -2) traced_layer_ = layer;
  if (!accelerator_.running()) return;
  const std::int64_t cycle = accelerator_.accumulator().edges() - 1;  // the edge just taken, layer-relative
  if (cycle < options_.window_begin || cycle >= options_.window_end) return;
  ++cycles_;
  cycle_mirror_ = static_cast<int>(cycle);
  for (std::size_t i = 0; i < probes_.size(); ++i) {
    const std::int32_t v = probes_[i].read();
    mirror_[i] = v;
    if (csv_.is_open()) {
      csv_ << cycle << ',' << probes_[i].name << ',' << v << '\n';
      ++csv_rows_;
    }
  }
}

}  // namespace isimdl
