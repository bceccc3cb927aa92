#include "models/architecture.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>

#include "models/error.h"

namespace isimdl {
namespace {

const char* kKindNames[] = {"conv2d", "linear", "relu", "maxpool2d", "avgpool2d",
                            "flatten", "add", "concat", "clip", "leakyrelu"};
constexpr int kKindCount = sizeof(kKindNames) / sizeof(kKindNames[0]);

// Largest height or width, and largest tensor, a network may have: far above
// any vision network, small enough that no size computation overflows.
constexpr int kMaxSide = 1 << 16;
constexpr std::size_t kMaxTensor = std::size_t{1} << 28;

int window_output(int in, int kernel, int stride, int dilation, int pad_begin, int pad_end, bool ceil_mode) {
  const std::int64_t span = static_cast<std::int64_t>(dilation) * (kernel - 1) + 1;
  const std::int64_t room = static_cast<std::int64_t>(in) + pad_begin + pad_end - span;
  if (room < 0) return 0;
  std::int64_t out = room / stride + 1;
  if (ceil_mode) {
    out = (room + stride - 1) / stride + 1;
    if ((out - 1) * stride >= static_cast<std::int64_t>(in) + pad_begin) --out;
  }
  return static_cast<int>(std::min<std::int64_t>(out, std::numeric_limits<int>::max()));
}

}  // namespace

std::string to_string(const Shape& s) { return fmt::format("{}x{}x{}", s.c, s.h, s.w); }

const char* to_string(LayerKind kind) { return kKindNames[static_cast<int>(kind)]; }

LayerKind layer_kind_from_string(const std::string& name) {
  for (int i = 0; i < kKindCount; ++i)
    if (name == kKindNames[i]) return static_cast<LayerKind>(i);
  std::string known;
  for (int i = 0; i < kKindCount; ++i) known += (i ? ", " : "") + std::string(kKindNames[i]);
  throw Error(fmt::format("unknown layer kind '{}' (known: {})", name, known));
}

Window2d Window2d::square(int kernel, int stride, int padding) {
  Window2d w;
  w.kernel_h = w.kernel_w = kernel;
  w.stride_h = w.stride_w = stride;
  w.pad_top = w.pad_left = w.pad_bottom = w.pad_right = padding;
  return w;
}

int Window2d::output_h(int in_h) const {
  return window_output(in_h, kernel_h, stride_h, dilation_h, pad_top, pad_bottom, ceil_mode);
}
int Window2d::output_w(int in_w) const {
  return window_output(in_w, kernel_w, stride_w, dilation_w, pad_left, pad_right, ceil_mode);
}

bool Window2d::operator==(const Window2d& o) const {
  return kernel_h == o.kernel_h && kernel_w == o.kernel_w && stride_h == o.stride_h && stride_w == o.stride_w &&
         dilation_h == o.dilation_h && dilation_w == o.dilation_w && pad_top == o.pad_top && pad_left == o.pad_left &&
         pad_bottom == o.pad_bottom && pad_right == o.pad_right && ceil_mode == o.ceil_mode;
}

int pooling_divisor(const Window2d& w, int oy, int ox, const Shape& in) {
  const int y0 = oy * w.stride_h - w.pad_top, x0 = ox * w.stride_w - w.pad_left;
  const int y1 = std::min(y0 + w.kernel_h, in.h + w.pad_bottom), x1 = std::min(x0 + w.kernel_w, in.w + w.pad_right);
  return (y1 - y0) * (x1 - x0);
}

std::vector<int> LayerSpec::inputs() const {
  std::vector<int> all{input};
  if (kind == LayerKind::kAdd) all.push_back(input2);
  if (kind == LayerKind::kConcat) all.insert(all.end(), more_inputs.begin(), more_inputs.end());
  return all;
}

bool operator==(const LayerSpec& a, const LayerSpec& b) {
  return a.kind == b.kind && a.input == b.input && a.input2 == b.input2 && a.more_inputs == b.more_inputs &&
         a.in_channels == b.in_channels && a.out_channels == b.out_channels && a.groups == b.groups &&
         a.window == b.window && a.count_include_pad == b.count_include_pad && a.in_features == b.in_features &&
         a.out_features == b.out_features && a.clip_lo == b.clip_lo && a.clip_hi == b.clip_hi && a.alpha == b.alpha;
}

Im2col::Im2col(const LayerSpec& spec, Shape in, Shape out)
    : conv_(spec.kind == LayerKind::kConv2d), in_(in), out_(out), window_(spec.window), groups_(conv_ ? spec.groups : 1) {}

std::int64_t Im2col::input_element(int m, int k) const {
  if (!conv_) return k;
  const int y = (m / out_.w) * window_.stride_h - window_.pad_top + k_row(k) * window_.dilation_h;
  const int x = (m % out_.w) * window_.stride_w - window_.pad_left + k_col(k) * window_.dilation_w;
  if (y < 0 || y >= in_.h || x < 0 || x >= in_.w) return -1;
  return (static_cast<std::int64_t>(k_channel(k)) * in_.h + y) * in_.w + x;
}

void Im2col::gather_row(const std::int8_t* x, std::int8_t pad, int m, int k_count, std::int8_t* row) const {
  if (!conv_) {
    std::copy(x, x + k_count, row);
    return;
  }
  const Window2d& w = window_;
  const int y0 = (m / out_.w) * w.stride_h - w.pad_top, x0 = (m % out_.w) * w.stride_w - w.pad_left;
  // The kernel columns that fall inside the input: [j_lo, j_hi).
  int j_lo = 0, j_hi = w.kernel_w;
  while (j_lo < j_hi && x0 + j_lo * w.dilation_w < 0) ++j_lo;
  while (j_hi > j_lo && x0 + (j_hi - 1) * w.dilation_w >= in_.w) --j_hi;
  for (int c = 0; c < in_.c; ++c)
    for (int i = 0; i < w.kernel_h; ++i, row += w.kernel_w) {
      const int y = y0 + i * w.dilation_h;
      if (y < 0 || y >= in_.h) {
        for (int j = 0; j < w.kernel_w; ++j) row[j] = pad;
        continue;
      }
      const std::int8_t* src = x + (static_cast<std::size_t>(c) * in_.h + y) * in_.w + x0;
      // Kernel rows are short (1..11): plain loops, not library calls.
      for (int j = 0; j < j_lo; ++j) row[j] = pad;
      for (int j = j_lo; j < j_hi; ++j) row[j] = src[j * w.dilation_w];
      for (int j = j_hi; j < w.kernel_w; ++j) row[j] = pad;
    }
}

bool Im2col::columns_are_input() const {
  const Window2d& w = window_;
  return !conv_ || (w.kernel_h == 1 && w.kernel_w == 1 && w.stride_h == 1 && w.stride_w == 1 && w.pad_top == 0 &&
                    w.pad_left == 0 && out_.h == in_.h && out_.w == in_.w);
}

void Im2col::gather_columns(const std::int8_t* x, std::int8_t pad, std::int8_t* columns, std::size_t ldc) const {
  const std::size_t m_count = static_cast<std::size_t>(out_.h) * out_.w;
  if (ldc == 0) ldc = m_count;
  if (!conv_) {  // a Linear layer: K x 1, the input itself
    if (ldc == 1)
      std::copy(x, x + in_.size(), columns);
    else
      for (std::size_t k = 0; k < in_.size(); ++k) columns[k * ldc] = x[k];
    return;
  }
  const Window2d& w = window_;
  // Per kernel column j: the output columns whose tap lies inside the
  // input, [ox_lo, ox_hi); output column ox reads input column ox * stride + x_off.
  thread_local std::vector<int> ox_lo, ox_hi;
  ox_lo.assign(static_cast<std::size_t>(w.kernel_w), 0);
  ox_hi.assign(static_cast<std::size_t>(w.kernel_w), out_.w);
  for (int j = 0; j < w.kernel_w; ++j) {
    const int x_off = j * w.dilation_w - w.pad_left;
    int& lo = ox_lo[static_cast<std::size_t>(j)];
    int& hi = ox_hi[static_cast<std::size_t>(j)];
    while (lo < hi && lo * w.stride_w + x_off < 0) ++lo;
    while (hi > lo && (hi - 1) * w.stride_w + x_off >= in_.w) --hi;
  }
  if (columns_are_input()) {  // a 1x1 convolution of stride 1: each row is one input channel
    for (int c = 0; c < in_.c; ++c, columns += ldc) std::memcpy(columns, x + static_cast<std::size_t>(c) * m_count, m_count);
    return;
  }
  if (w.stride_h == 1 && w.stride_w == 1 && out_.w == in_.w) {
    // Stride 1, output rows as wide as input rows ("same" padding): row k
    // is the input channel shifted by the tap's offset, so the rows inside
    // the input are one contiguous copy, after which the columns that fall
    // into the padding (lo/hi) are overwritten with the pad value.
    const std::size_t width = static_cast<std::size_t>(out_.w);
    for (int c = 0; c < in_.c; ++c) {
      const std::int8_t* plane = x + static_cast<std::size_t>(c) * in_.h * in_.w;
      for (int i = 0; i < w.kernel_h; ++i) {
        const int y_off = i * w.dilation_h - w.pad_top;
        const int oy_lo = std::min(out_.h, std::max(0, -y_off));
        const int oy_hi = std::max(oy_lo, std::min(out_.h, in_.h - y_off));
        for (int j = 0; j < w.kernel_w; ++j, columns += ldc) {
          const int x_off = j * w.dilation_w - w.pad_left;
          const int lo = ox_lo[static_cast<std::size_t>(j)], hi = ox_hi[static_cast<std::size_t>(j)];
          if (lo >= hi || oy_lo == oy_hi) {
            std::memset(columns, pad, m_count);
            continue;
          }
          std::memset(columns, pad, static_cast<std::size_t>(oy_lo) * width);
          std::memset(columns + static_cast<std::size_t>(oy_hi) * width, pad, static_cast<std::size_t>(out_.h - oy_hi) * width);
          // dst[oy * W + ox] = plane[(oy + y_off) * W + ox + x_off] for ox in [lo, hi): between the
          // first and the last of these, one copy (its source stays inside the plane).
          const std::ptrdiff_t d0 = static_cast<std::ptrdiff_t>(oy_lo) * out_.w + lo;
          const std::ptrdiff_t d1 = static_cast<std::ptrdiff_t>(oy_hi - 1) * out_.w + hi;
          const std::ptrdiff_t shift = static_cast<std::ptrdiff_t>(y_off) * in_.w + x_off;
          std::memcpy(columns + d0, plane + d0 + shift, static_cast<std::size_t>(d1 - d0));
          if (lo > 0 || hi < out_.w)
            for (int oy = oy_lo; oy < oy_hi; ++oy) {
              std::int8_t* row = columns + static_cast<std::size_t>(oy) * width;
              for (int ox = 0; ox < lo; ++ox) row[ox] = pad;
              for (int ox = hi; ox < out_.w; ++ox) row[ox] = pad;
            }
        }
      }
    }
    return;
  }
  // Plain loops, not library calls: late layers' output rows are 2-8 bytes.
  for (int c = 0; c < in_.c; ++c)
    for (int i = 0; i < w.kernel_h; ++i)
      for (int j = 0; j < w.kernel_w; ++j, columns += ldc) {
        const int x_off = j * w.dilation_w - w.pad_left, stride = w.stride_w;
        const int lo = ox_lo[static_cast<std::size_t>(j)], hi = ox_hi[static_cast<std::size_t>(j)];
        for (int oy = 0; oy < out_.h; ++oy) {
          std::int8_t* __restrict dst = columns + static_cast<std::size_t>(oy) * out_.w;
          const int y = oy * w.stride_h - w.pad_top + i * w.dilation_h;
          if (y < 0 || y >= in_.h) {
            for (int ox = 0; ox < out_.w; ++ox) dst[ox] = pad;
            continue;
          }
          const std::int8_t* __restrict row = x + (static_cast<std::size_t>(c) * in_.h + y) * in_.w;
          for (int ox = 0; ox < lo; ++ox) dst[ox] = pad;
          if (stride == 1)
            for (int ox = lo; ox < hi; ++ox) dst[ox] = row[ox + x_off];
          else
            for (int ox = lo; ox < hi; ++ox) dst[ox] = row[ox * stride + x_off];
          for (int ox = hi; ox < out_.w; ++ox) dst[ox] = pad;
        }
      }
}

void Im2col::row_elements(int m, int k0, int count, std::int64_t* out) const {
  if (!conv_) {
    for (int i = 0; i < count; ++i) out[i] = k0 + i;
    return;
  }
  const Window2d& w = window_;
  const int y0 = (m / out_.w) * w.stride_h - w.pad_top, x0 = (m % out_.w) * w.stride_w - w.pad_left;
  int c = k_channel(k0), i = k_row(k0), j = k_col(k0);
  for (int n = 0; n < count; ++n) {
    const int y = y0 + i * w.dilation_h, x = x0 + j * w.dilation_w;
    out[n] = (y < 0 || y >= in_.h || x < 0 || x >= in_.w) ? -1 : (static_cast<std::int64_t>(c) * in_.h + y) * in_.w + x;
    if (++j == w.kernel_w) {
      j = 0;
      if (++i == w.kernel_h) {
        i = 0;
        ++c;
      }
    }
  }
}

void Im2col::gather(const std::int8_t* x, std::int8_t pad, int m_count, int k_count, std::int8_t* rows) const {
  for (int m = 0; m < m_count; ++m) gather_row(x, pad, m, k_count, rows + static_cast<std::size_t>(m) * k_count);
}

std::vector<std::pair<int, int>> Im2col::uses_of(std::int64_t element) const {
  std::vector<std::pair<int, int>> uses;
  for_each_use(element, [&](int m, int k) { uses.emplace_back(m, k); });
  return uses;
}

Architecture::Architecture(std::string name, Shape input, std::vector<LayerSpec> layers)
    : name_(std::move(name)), input_(input), layers_(std::move(layers)) {
  if (input_.c <= 0 || input_.h <= 0 || input_.w <= 0 || input_.c > kMaxSide || input_.h > kMaxSide ||
      input_.w > kMaxSide || input_.size() > kMaxTensor)
    throw Error(fmt::format("{}: invalid input shape {} (each side 1..{}, at most {} values)", name_,
                            to_string(input_), kMaxSide, kMaxTensor));
  if (layers_.empty()) throw Error(fmt::format("{}: a network needs at least one layer", name_));
  for (int i = 0; i < size(); ++i) {
    LayerSpec& l = layers_[static_cast<std::size_t>(i)];
    auto fail = [&](const std::string& what) {
      throw Error(fmt::format("{}: layer {} ({}): {}", name_, i, to_string(l.kind), what));
    };
    if (l.input == -2) l.input = i - 1;
    if (l.kind != LayerKind::kAdd) l.input2 = -2;
    if (l.kind != LayerKind::kConcat) l.more_inputs.clear();
    for (int from : l.inputs())
      if (from < -1 || from >= i) fail(fmt::format("input {} is not an earlier layer", from));
    const Shape in = output_shape(l.input);
    Shape out = in;
    const Window2d& w = l.window;
    auto check_window = [&]() {
      if (w.kernel_h <= 0 || w.kernel_w <= 0 || w.stride_h <= 0 || w.stride_w <= 0 || w.dilation_h <= 0 ||
          w.dilation_w <= 0 || w.pad_top < 0 || w.pad_left < 0 || w.pad_bottom < 0 || w.pad_right < 0 ||
          w.kernel_h > kMaxSide || w.kernel_w > kMaxSide || w.pad_top > kMaxSide || w.pad_left > kMaxSide ||
          w.pad_bottom > kMaxSide || w.pad_right > kMaxSide || w.stride_h > kMaxSide || w.stride_w > kMaxSide ||
          w.dilation_h > kMaxSide || w.dilation_w > kMaxSide)
        fail("invalid window (kernel, stride and dilation must be positive, padding not negative)");
    };
    switch (l.kind) {
      case LayerKind::kConv2d:
        if (l.in_channels != in.c) fail(fmt::format("in_channels {} but input is {}", l.in_channels, to_string(in)));
        if (l.out_channels <= 0 || l.out_channels > kMaxSide) fail("out_channels must be in 1..65536");
        check_window();
        if (w.ceil_mode) fail("ceil mode is for pooling only");
        if (l.groups <= 0 || in.c % l.groups || l.out_channels % l.groups)
          fail(fmt::format("groups {} must divide in_channels {} and out_channels {}", l.groups, in.c, l.out_channels));
        out = Shape{l.out_channels, w.output_h(in.h), w.output_w(in.w)};
        if (out.h <= 0 || out.w <= 0) fail("kernel larger than the padded input");
        if (static_cast<std::size_t>(in.c) * w.kernel_h * w.kernel_w > kMaxTensor)
          fail("the GEMM's K (in_channels x kernel) is too large");
        break;
      case LayerKind::kLinear:
        if (l.in_features != static_cast<int>(in.size()))
          fail(fmt::format("in_features {} but input has {} values", l.in_features, in.size()));
        if (l.out_features <= 0 || l.out_features > kMaxSide) fail("out_features must be in 1..65536");
        out = Shape{l.out_features, 1, 1};
        break;
      case LayerKind::kMaxPool2d:
      case LayerKind::kAvgPool2d:
        check_window();
        if (w.pad_top >= w.kernel_h || w.pad_bottom >= w.kernel_h || w.pad_left >= w.kernel_w ||
            w.pad_right >= w.kernel_w)
          fail("padding must be smaller than the window");
        if (l.kind == LayerKind::kAvgPool2d && (w.dilation_h != 1 || w.dilation_w != 1))
          fail("average pooling with dilation is not supported");
        if (!w.has_padding()) l.count_include_pad = true;  // no padding: the flag means nothing; one canonical form
        out = Shape{in.c, w.output_h(in.h), w.output_w(in.w)};
        if (out.h <= 0 || out.w <= 0) fail("window larger than the padded input");
        break;
      case LayerKind::kFlatten:
        out = Shape{static_cast<int>(in.size()), 1, 1};
        break;
      case LayerKind::kReLU:
        break;
      case LayerKind::kClip:
        if (!(l.clip_lo < l.clip_hi) || !std::isfinite(l.clip_lo) || !std::isfinite(l.clip_hi))
          fail(fmt::format("bounds [{}, {}] must be finite with lo < hi", l.clip_lo, l.clip_hi));
        break;
      case LayerKind::kLeakyReLU:
        if (!(l.alpha >= 0.0f && l.alpha < 1.0f)) fail(fmt::format("alpha {} must be in [0, 1)", l.alpha));
        break;
      case LayerKind::kAdd:
        if (output_shape(l.input2) != in)
          fail(fmt::format("adds {} to {}", to_string(output_shape(l.input2)), to_string(in)));
        break;
      case LayerKind::kConcat:
        if (l.more_inputs.empty()) fail("needs at least two inputs");
        for (int from : l.more_inputs) {
          const Shape s = output_shape(from);
          if (s.h != in.h || s.w != in.w)
            fail(fmt::format("joins {} and {}: heights and widths differ", to_string(in), to_string(s)));
          out.c += s.c;
        }
        if (out.size() > kMaxTensor) fail("output too large");
        break;
    }
    shapes_.push_back(out);
  }
}

bool Architecture::has_weights(int i) const {
  const LayerKind k = layer(i).kind;
  return k == LayerKind::kConv2d || k == LayerKind::kLinear;
}

GemmShape Architecture::gemm(int i) const {
  const LayerSpec& l = layer(i);
  if (l.kind == LayerKind::kConv2d) {
    const Shape out = output_shape(i);
    return {out.h * out.w, l.in_channels * l.window.kernel_h * l.window.kernel_w, l.out_channels, l.groups};
  }
  if (l.kind == LayerKind::kLinear) return {1, l.in_features, l.out_features};
  throw Error(fmt::format("{}: layer {} ({}) has no GEMM", name_, i, to_string(l.kind)));
}

Im2col Architecture::im2col(int i) const {
  if (!has_weights(i)) throw Error(fmt::format("{}: layer {} ({}) has no GEMM", name_, i, to_string(layer(i).kind)));
  return Im2col(layer(i), output_shape(layer(i).input), output_shape(i));
}

int Architecture::consumers(int i) const {
  int n = 0;
  for (const auto& l : layers_)
    for (int from : l.inputs()) n += from == i;
  return n;
}

bool Architecture::is_fused_relu(int i) const {
  const LayerSpec& l = layer(i);
  return l.kind == LayerKind::kReLU && l.input >= 0 && has_weights(l.input) && consumers(l.input) == 1;
}

std::size_t Architecture::parameter_count() const {
  std::size_t n = 0;
  for (int i = 0; i < size(); ++i)
    if (has_weights(i)) {
      const GemmShape g = gemm(i);
      n += static_cast<std::size_t>(g.weights()) + static_cast<std::size_t>(g.n);
    }
  return n;
}

namespace {

void describe_window(const Window2d& w, bool conv, std::string& out) {
  const bool square = w.kernel_h == w.kernel_w && w.stride_h == w.stride_w;
  const bool symmetric = w.pad_top == w.pad_left && w.pad_top == w.pad_bottom && w.pad_top == w.pad_right;
  if (square)
    out += fmt::format(" k={} s={}", w.kernel_h, w.stride_h);
  else
    out += fmt::format(" kh={} kw={} sh={} sw={}", w.kernel_h, w.kernel_w, w.stride_h, w.stride_w);
  if (symmetric && (conv || w.pad_top != 0))
    out += fmt::format(" p={}", w.pad_top);
  else if (!symmetric)
    out += fmt::format(" pt={} pl={} pb={} pr={}", w.pad_top, w.pad_left, w.pad_bottom, w.pad_right);
  if (w.dilation_h != 1 || w.dilation_w != 1) out += fmt::format(" dh={} dw={}", w.dilation_h, w.dilation_w);
  if (w.ceil_mode) out += " ceil=1";
}

}  // namespace

std::string Architecture::describe() const {
  std::string out = fmt::format("input c={} h={} w={}\n", input_.c, input_.h, input_.w);
  for (int i = 0; i < size(); ++i) {
    const LayerSpec& l = layer(i);
    out += fmt::format("{} from={}", to_string(l.kind), l.input);
    switch (l.kind) {
      case LayerKind::kConv2d:
        out += fmt::format(" cin={} cout={}", l.in_channels, l.out_channels);
        describe_window(l.window, true, out);
        if (l.groups != 1) out += fmt::format(" g={}", l.groups);
        break;
      case LayerKind::kLinear:
        out += fmt::format(" in={} out={}", l.in_features, l.out_features);
        break;
      case LayerKind::kMaxPool2d:
      case LayerKind::kAvgPool2d:
        describe_window(l.window, false, out);
        if (l.kind == LayerKind::kAvgPool2d && l.window.has_padding())
          out += fmt::format(" cip={}", l.count_include_pad ? 1 : 0);
        break;
      case LayerKind::kAdd:
        out += fmt::format(" from2={}", l.input2);
        break;
      case LayerKind::kConcat:
        for (std::size_t j = 0; j < l.more_inputs.size(); ++j) out += fmt::format(" from{}={}", j + 2, l.more_inputs[j]);
        break;
      case LayerKind::kClip:
        // Shortest text that reads back to the same float.
        out += fmt::format(" lo={} hi={}", l.clip_lo, l.clip_hi);
        break;
      case LayerKind::kLeakyReLU:
        out += fmt::format(" alpha={}", l.alpha);
        break;
      case LayerKind::kReLU:
      case LayerKind::kFlatten:
        break;
    }
    out += "\n";
  }
  return out;
}

Architecture Architecture::parse(const std::string& name, const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  Shape input;
  bool have_input = false;
  std::vector<LayerSpec> layers;
  int line_no = 0;
  while (std::getline(lines, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::istringstream words(line);
    std::string kind;
    words >> kind;
    std::map<std::string, std::string> kv;
    std::string word;
    while (words >> word) {
      const auto eq = word.find('=');
      if (eq == std::string::npos || eq == 0)
        throw Error(fmt::format("architecture line {}: expected key=value, got '{}'", line_no, word));
      if (!kv.emplace(word.substr(0, eq), word.substr(eq + 1)).second)
        throw Error(fmt::format("architecture line {}: key '{}' given twice", line_no, word.substr(0, eq)));
    }
    std::map<std::string, bool> used;
    auto has = [&](const std::string& key) { return kv.count(key) > 0; };
    auto get_int = [&](const std::string& key) {
      auto it = kv.find(key);
      if (it == kv.end()) throw Error(fmt::format("architecture line {} ({}): missing {}", line_no, kind, key));
      used[key] = true;
      try {
        std::size_t n = 0;
        const int v = std::stoi(it->second, &n);
        if (n != it->second.size()) throw std::invalid_argument(it->second);
        return v;
      } catch (const std::exception&) {
        throw Error(fmt::format("architecture line {}: '{}={}' is not an integer", line_no, key, it->second));
      }
    };
    auto get_int_or = [&](const std::string& key, int fallback) { return has(key) ? get_int(key) : fallback; };
    auto get_float = [&](const std::string& key) {
      auto it = kv.find(key);
      if (it == kv.end()) throw Error(fmt::format("architecture line {} ({}): missing {}", line_no, kind, key));
      used[key] = true;
      try {
        std::size_t n = 0;
        const float v = std::stof(it->second, &n);
        if (n != it->second.size() || !std::isfinite(v)) throw std::invalid_argument(it->second);
        return v;
      } catch (const std::exception&) {
        throw Error(fmt::format("architecture line {}: '{}={}' is not a finite number", line_no, key, it->second));
      }
    };
    auto get_window = [&](bool conv) {
      Window2d w;
      if (has("k")) {
        w.kernel_h = w.kernel_w = get_int("k");
        w.stride_h = w.stride_w = get_int("s");
      } else {
        w.kernel_h = get_int("kh"), w.kernel_w = get_int("kw");
        w.stride_h = get_int("sh"), w.stride_w = get_int("sw");
      }
      if (has("p") || (conv && !has("pt"))) {
        w.pad_top = w.pad_left = w.pad_bottom = w.pad_right = get_int("p");
      } else if (has("pt")) {
        w.pad_top = get_int("pt"), w.pad_left = get_int("pl"), w.pad_bottom = get_int("pb"), w.pad_right = get_int("pr");
      }
      w.dilation_h = get_int_or("dh", 1), w.dilation_w = get_int_or("dw", 1);
      w.ceil_mode = get_int_or("ceil", 0) != 0;
      return w;
    };
    if (kind == "input") {
      input = Shape{get_int("c"), get_int("h"), get_int("w")};
      have_input = true;
    } else {
      LayerSpec l;
      try {
        l.kind = layer_kind_from_string(kind);
      } catch (const Error& e) {
        throw Error(fmt::format("architecture line {}: {}", line_no, e.what()));
      }
      l.input = get_int("from");
      switch (l.kind) {
        case LayerKind::kConv2d:
          l.in_channels = get_int("cin");
          l.out_channels = get_int("cout");
          l.window = get_window(true);
          l.groups = get_int_or("g", 1);
          break;
        case LayerKind::kLinear:
          l.in_features = get_int("in");
          l.out_features = get_int("out");
          break;
        case LayerKind::kMaxPool2d:
        case LayerKind::kAvgPool2d:
          l.window = get_window(false);
          l.count_include_pad = get_int_or("cip", 1) != 0;
          break;
        case LayerKind::kAdd:
          l.input2 = get_int("from2");
          break;
        case LayerKind::kConcat:
          for (int j = 2; has("from" + std::to_string(j)); ++j) l.more_inputs.push_back(get_int("from" + std::to_string(j)));
          break;
        case LayerKind::kClip:
          l.clip_lo = get_float("lo");
          l.clip_hi = get_float("hi");
          break;
        case LayerKind::kLeakyReLU:
          l.alpha = get_float("alpha");
          break;
        case LayerKind::kReLU:
        case LayerKind::kFlatten:
          break;
      }
      layers.push_back(l);
    }
    for (const auto& [key, value] : kv)
      if (!used.count(key))
        throw Error(fmt::format("architecture line {} ({}): unknown key '{}'", line_no, kind, key));
  }
  if (!have_input) throw Error("architecture: missing 'input' line");
  return Architecture(name, input, layers);
}

}  // namespace isimdl
