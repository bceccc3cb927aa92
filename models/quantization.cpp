#include "models/quantization.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace isimdl {

bool operator==(const QuantParams& a, const QuantParams& b) {
  return a.scale == b.scale && a.zero_point == b.zero_point;
}

QuantParams choose_activation_qparams(float lo, float hi) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  QuantParams q;
  if (hi - lo <= 0.0f) return q;  // constant zero tensor: any scale works
  q.scale = (hi - lo) / 255.0f;
  const double zp = -128.0 - static_cast<double>(lo) / q.scale;
  q.zero_point = static_cast<std::int32_t>(std::clamp(std::round(zp), -128.0, 127.0));
  return q;
}

std::int8_t quantize_activation(float x, const QuantParams& q) {
  const double v = std::round(static_cast<double>(x) / q.scale) + q.zero_point;
  return static_cast<std::int8_t>(std::clamp(v, -128.0, 127.0));
}

float dequantize(std::int32_t q, const QuantParams& p) { return p.scale * static_cast<float>(q - p.zero_point); }

float choose_weight_scale(const float* w, int count) {
  float m = 0.0f;
  for (int i = 0; i < count; ++i) m = std::max(m, std::fabs(w[i]));
  return m > 0.0f ? m / 127.0f : 1.0f;
}

std::int8_t quantize_weight(float w, float scale) {
  const double v = std::round(static_cast<double>(w) / scale);
  return static_cast<std::int8_t>(std::clamp(v, -127.0, 127.0));
}

std::int32_t quantize_bias(float b, float scale) {
  const double v = std::round(static_cast<double>(b) / scale);
  return static_cast<std::int32_t>(std::clamp(v, -2147483648.0, 2147483647.0));
}

QuantizedMultiplier quantize_multiplier(double real_multiplier) {
  QuantizedMultiplier m;
  if (!(real_multiplier > 0.0)) return m;
  int exponent = 0;
  const double fraction = std::frexp(real_multiplier, &exponent);  // in [0.5, 1)
  auto q = static_cast<std::int64_t>(std::round(fraction * (1LL << 31)));
  if (q == (1LL << 31)) {
    q /= 2;
    ++exponent;
  }
  if (exponent < -31) return QuantizedMultiplier{};  // rounds to zero
  if (exponent > 30) exponent = 30, q = (1LL << 31) - 1;  // saturate absurd multipliers
  m.multiplier = static_cast<std::int32_t>(q);
  m.shift = exponent;
  return m;
}

float fake_quantize_activation(float x, const QuantParams& q) {
  return dequantize(quantize_activation(x, q), q);
}

#if defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("arch=skylake-avx512", "avx2", "default")))
#endif
void requantize_span(const std::int32_t* acc, std::size_t count, const QuantizedMultiplier& m,
                     std::int32_t output_zero_point, bool relu, std::int8_t* out) {
  if (m.multiplier == std::numeric_limits<std::int32_t>::min()) {
    // The one saturating case of the high multiply needs its branch.
    for (std::size_t i = 0; i < count; ++i) out[i] = requantize(acc[i], m, output_zero_point, relu);
    return;
  }
  const int left = m.shift > 0 ? m.shift : 0;
  const int right = m.shift > 0 ? 0 : -m.shift;
  const std::int64_t b = m.multiplier;
  const std::int32_t mask = static_cast<std::int32_t>((1LL << right) - 1);
  const std::int32_t lo = relu ? std::max<std::int32_t>(-128, output_zero_point) : -128;
  for (std::size_t i = 0; i < count; ++i) {
    const auto a = static_cast<std::int32_t>(static_cast<std::uint32_t>(acc[i]) << left);
    const std::int64_t ab = a * b;
    // (ab + nudge) / 2^31 truncated toward zero, as saturating_rounding_doubling_high_mul.
    const std::int64_t nudged = ab + (ab >= 0 ? (1LL << 30) : (1 - (1LL << 30)));
    const std::int64_t bias = nudged < 0 ? (1LL << 31) - 1 : 0;
    const auto high = static_cast<std::int32_t>((nudged + bias) >> 31);
    const std::int32_t remainder = high & mask;
    const std::int32_t threshold = (mask >> 1) + (high < 0 ? 1 : 0);
    const std::int32_t scaled = (high >> right) + (remainder > threshold ? 1 : 0);
    // scaled + zero point fits int64 as requantize computes it; clamp to [lo, 127].
    const std::int64_t v = static_cast<std::int64_t>(scaled) + output_zero_point;
    out[i] = static_cast<std::int8_t>(v < lo ? lo : v > 127 ? 127 : v);
  }
}

}  // namespace isimdl
