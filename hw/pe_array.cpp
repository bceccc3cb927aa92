#include "hw/pe_array.h"

#include <algorithm>
#include <cstring>

#include "models/error.h"

namespace isimdl {

PeArray::PeArray(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {}

void PeArray::bind_registers(RegisterStorage& storage) {
  storage.bind(RegisterGroup::kPeA, {FieldStorage::of(a)});
  storage.bind(RegisterGroup::kPePsum, {FieldStorage::of(psum)});
  storage.bind(RegisterGroup::kPeW0, {FieldStorage::of(w0)});
  storage.bind(RegisterGroup::kPeW1, {FieldStorage::of(w1)});
  storage.bind(RegisterGroup::kPeD, {FieldStorage::of(d)});
  storage.bind(RegisterGroup::kPePropagate, {FieldStorage::of(propagate)});
  storage.bind(RegisterGroup::kPeValid, {FieldStorage::of(valid)});
  storage.bind(RegisterGroup::kSkew, {FieldStorage::of(skew.a), FieldStorage::of(skew.valid), FieldStorage::of(skew.propagate)});
  storage.bind(RegisterGroup::kDeskew, {FieldStorage::of(deskew.psum)});
  storage.bind(RegisterGroup::kPeOut, {FieldStorage::of(out)});
}

void PeArray::configure(int rows, int cols, Dataflow dataflow) {
  if (rows == rows_ && cols == cols_ && dataflow == dataflow_) return;  // keeps addresses stable for tracing
  rows_ = rows;
  cols_ = cols;
  dataflow_ = dataflow;
  const std::size_t n = static_cast<std::size_t>(rows) * cols;
  // The cells' registers: the weight registers only where a stationary
  // operand is held, the out chain only output-stationary.
  const bool os = dataflow == Dataflow::kOutputStationary;
  a.assign(n, 0);
  psum.assign(n, 0);
  w0.assign(os ? 0 : n, 0);
  w1.assign(os ? 0 : n, 0);
  out.assign(os ? n : 0, 0);
  next_out_.assign(os ? n : 0, 0);
  d.assign(n, 0);
  propagate.assign(n, 0);
  valid.assign(n, 0);
  skew.configure(rows);
  deskew.configure(cols);
  next_a_.assign(n, 0);
  next_psum_.assign(n, 0);
  next_d_.assign(n, 0);
  next_propagate_.assign(n, 0);
  next_valid_.assign(n, 0);
  bottom_before_.assign(static_cast<std::size_t>(cols), 0);
}

void PeArray::reset() {
  std::fill(a.begin(), a.end(), 0);
  std::fill(psum.begin(), psum.end(), 0);
  std::fill(w0.begin(), w0.end(), 0);
  std::fill(w1.begin(), w1.end(), 0);
  std::fill(d.begin(), d.end(), 0);
  std::fill(propagate.begin(), propagate.end(), 0);
  std::fill(valid.begin(), valid.end(), 0);
  std::fill(out.begin(), out.end(), 0);
  skew.reset();
  deskew.reset();
  macs_ = 0;
}

void PeArray::output_row(std::vector<std::int32_t>& row) const {
  row.resize(static_cast<std::size_t>(cols_));
  deskew.last_stages(row);
  const std::vector<std::int32_t>& bottom = dataflow_ == Dataflow::kOutputStationary ? out : psum;
  row[static_cast<std::size_t>(cols_ - 1)] = bottom[pe(rows_ - 1, cols_ - 1)];
}

namespace {

// The multiply-accumulate pass of one edge over every PE: the next psum of
// PE i is (a * selected weight, 0 unless valid) plus the psum above it (row
// 0: nothing), int32 wrapping like the register; returns the number of
// valid MACs. Branch-free selects (masks) so that the loops vectorize.
// Compiled for AVX-512, AVX2 and the baseline, the version chosen when the
// program loads (GCC function multi-versioning): the default build needs no
// -march, and integer arithmetic gives the same bits in every version.
#if defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("arch=skylake-avx512", "avx2", "default")))
#endif
int mac_pass(std::size_t n, std::size_t cols, const std::int8_t* __restrict an, const std::uint8_t* __restrict vn,
             const std::uint8_t* __restrict pn, const std::int8_t* __restrict w0c, const std::int8_t* __restrict w1c,
             const std::int32_t* __restrict up, std::int32_t* __restrict ps) {
  for (std::size_t i = 0; i < cols; ++i) {
    const std::int32_t w = w0c[i] + ((w1c[i] - w0c[i]) & -static_cast<std::int32_t>(pn[i] & 1));
    ps[i] = (static_cast<std::int32_t>(an[i]) * w) & -static_cast<std::int32_t>(vn[i] & 1);
  }
  for (std::size_t i = cols; i < n; ++i) {
    const std::int32_t w = w0c[i] + ((w1c[i] - w0c[i]) & -static_cast<std::int32_t>(pn[i] & 1));
    const std::int32_t product = (static_cast<std::int32_t>(an[i]) * w) & -static_cast<std::int32_t>(vn[i] & 1);
    ps[i] = static_cast<std::int32_t>(static_cast<std::uint32_t>(up[i - cols]) + static_cast<std::uint32_t>(product));
  }
  int valid_count = 0;
  for (std::size_t i = 0; i < n; ++i) valid_count += vn[i] & 1;
  return valid_count;
}

// The output-stationary pass: PE i's drain tag (incoming propagate) moves
// its psum into its out register and restarts the sum; otherwise out takes
// the out register above (row 0: 0). The incoming operands multiply as they
// pass. Returns the number of valid MACs.
#if defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("arch=skylake-avx512", "avx2", "default")))
#endif
int os_pass(std::size_t n, std::size_t cols, const std::int8_t* __restrict an, const std::uint8_t* __restrict vn,
            const std::uint8_t* __restrict dn, const std::int8_t* __restrict bn, const std::int32_t* __restrict ps,
            const std::int32_t* __restrict os, std::int32_t* __restrict next_ps, std::int32_t* __restrict next_os) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t drain = -static_cast<std::int32_t>(dn[i] & 1);
    const std::int32_t above = i < cols ? 0 : os[i - cols];
    next_os[i] = (ps[i] & drain) | (above & ~drain);
    const std::int32_t product = (static_cast<std::int32_t>(an[i]) * bn[i]) & -static_cast<std::int32_t>(vn[i] & 1);
    next_ps[i] = static_cast<std::int32_t>(static_cast<std::uint32_t>(ps[i] & ~drain) + static_cast<std::uint32_t>(product));
  }
  int valid_count = 0;
  for (std::size_t i = 0; i < n; ++i) valid_count += vn[i] & 1;
  return valid_count;
}

}  // namespace

void PeArray::shift_operands(const ArrayFeed& in) {
  const int R = rows_, C = cols_;
  const std::size_t n = static_cast<std::size_t>(R) * C;
  if (in.a.size() != static_cast<std::size_t>(R) || in.valid.size() != static_cast<std::size_t>(R) ||
      in.propagate.size() != static_cast<std::size_t>(R) || in.weight.size() != static_cast<std::size_t>(C))
    throw Error("internal: PeArray::tick with a feed of another array's shape");
  skew.step(in.a, in.valid, in.propagate);
  // Next state from the current one in whole-array passes (the registers
  // are double-buffered in memory; the swap at the end is the clock edge):
  // activations and their tags move one column right, column 0 takes the
  // skew outputs; the d path moves one row down, row 0 takes the feed.
  std::memcpy(next_a_.data() + 1, a.data(), n - 1);
  std::memcpy(next_valid_.data() + 1, valid.data(), n - 1);
  std::memcpy(next_propagate_.data() + 1, propagate.data(), n - 1);
  {
    std::int8_t* const na = next_a_.data();
    std::uint8_t* const nv = next_valid_.data();
    std::uint8_t* const np = next_propagate_.data();
    const std::int8_t* const sa = skew.out_a().data();
    const std::uint8_t* const sv = skew.out_valid().data();
    const std::uint8_t* const sp = skew.out_propagate().data();
    for (std::size_t r = 0, i = 0; r < static_cast<std::size_t>(R); ++r, i += static_cast<std::size_t>(C)) {
      na[i] = sa[r];
      nv[i] = sv[r];
      np[i] = sp[r];
    }
  }
  std::memcpy(next_d_.data(), in.weight.data(), static_cast<std::size_t>(C));
  std::memcpy(next_d_.data() + C, d.data(), n - static_cast<std::size_t>(C));
}

void PeArray::tick(const ArrayFeed& in) {
  if (dataflow_ == Dataflow::kOutputStationary) {
    tick_output_stationary(in);
    return;
  }
  const int R = rows_, C = cols_;
  const std::size_t n = static_cast<std::size_t>(R) * C;
  const std::size_t bottom = static_cast<std::size_t>(R - 1) * C;
  std::copy(psum.begin() + static_cast<std::ptrdiff_t>(bottom), psum.begin() + static_cast<std::ptrdiff_t>(bottom) + C,
            bottom_before_.begin());
  shift_operands(in);
  macs_ += mac_pass(n, static_cast<std::size_t>(C), next_a_.data(), next_valid_.data(), next_propagate_.data(), w0.data(),
                    w1.data(), psum.data(), next_psum_.data());
  if (in.latch) std::memcpy(((in.latch_select & 1) ? w1.data() : w0.data()), next_d_.data(), n);
  a.swap(next_a_);
  valid.swap(next_valid_);
  propagate.swap(next_propagate_);
  d.swap(next_d_);
  psum.swap(next_psum_);
  deskew.step(bottom_before_.data());
}

void PeArray::tick_output_stationary(const ArrayFeed& in) {
  const int R = rows_, C = cols_;
  const std::size_t n = static_cast<std::size_t>(R) * C;
  const std::size_t bottom = static_cast<std::size_t>(R - 1) * C;
  std::copy(out.begin() + static_cast<std::ptrdiff_t>(bottom), out.begin() + static_cast<std::ptrdiff_t>(bottom) + C,
            bottom_before_.begin());
  shift_operands(in);
  macs_ += os_pass(n, static_cast<std::size_t>(C), next_a_.data(), next_valid_.data(), next_propagate_.data(),
                   next_d_.data(), psum.data(), out.data(), next_psum_.data(), next_out_.data());
  a.swap(next_a_);
  valid.swap(next_valid_);
  propagate.swap(next_propagate_);
  d.swap(next_d_);
  psum.swap(next_psum_);
  out.swap(next_out_);
  deskew.step(bottom_before_.data());
}

}  // namespace isimdl
