#include "hw/tracer.h"

#include <fmt/format.h>

#include "hw/accelerator.h"
#include "models/error.h"

namespace isimdl {

Tracer::Tracer(const sc_core::sc_module_name& name, Accelerator& accelerator, TraceOptions options)
    : sc_core::sc_module(name), accelerator_(accelerator), options_(std::move(options)) {
  SC_METHOD(sample);
  sensitive << clk.neg();
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
  PeArray& array = accelerator_.array();
  const int R = array.rows(), C = array.cols();
  // The vectors are swapped at every edge, so probes look the register up
  // by index each time rather than holding a pointer.
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      const std::size_t i = array.pe(r, c);
      const std::string pe = fmt::format("array.pe_{}_{}.", r, c);
      probes_.push_back({pe + "a", [&array, i] { return std::int32_t{array.a[i]}; }});
      probes_.push_back({pe + "psum", [&array, i] { return array.psum[i]; }});
      probes_.push_back({pe + "w0", [&array, i] { return std::int32_t{array.w0[i]}; }});
      probes_.push_back({pe + "w1", [&array, i] { return std::int32_t{array.w1[i]}; }});
      probes_.push_back({pe + "d", [&array, i] { return std::int32_t{array.d[i]}; }});
      probes_.push_back({pe + "propagate", [&array, i] { return std::int32_t{array.propagate[i]}; }});
      probes_.push_back({pe + "valid", [&array, i] { return std::int32_t{array.valid[i]}; }});
    }
  for (int r = 1; r < R; ++r)
    for (int s = 0; s < r; ++s) {
      const std::size_t i = SkewBuffer::index(r, s);
      const std::string name = fmt::format("array.skew_{}_{}.", r, s);
      probes_.push_back({name + "a", [&array, i] { return std::int32_t{array.skew.a[i]}; }});
      probes_.push_back({name + "valid", [&array, i] { return std::int32_t{array.skew.valid[i]}; }});
      probes_.push_back({name + "propagate", [&array, i] { return std::int32_t{array.skew.propagate[i]}; }});
    }
  for (int c = 0; c + 1 < C; ++c)
    for (int s = 0; s < array.deskew.stages(c); ++s) {
      const std::size_t i = array.deskew.index(c, s);
      probes_.push_back({fmt::format("array.deskew_{}_{}.psum", c, s), [&array, i] { return array.deskew.psum[i]; }});
    }
  OutputStage& stage = accelerator_.output_stage();
  for (int c = 0; c < C; ++c) {
    const auto i = static_cast<std::size_t>(c);
    probes_.push_back({fmt::format("output_stage.acc_{}", c), [&stage, i] { return stage.acc[i]; }});
  }
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
