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

std::int32_t saturating_rounding_doubling_high_mul(std::int32_t a, std::int32_t b) {
  if (a == b && a == std::numeric_limits<std::int32_t>::min()) return std::numeric_limits<std::int32_t>::max();
  const std::int64_t ab = static_cast<std::int64_t>(a) * b;
  const std::int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
  return static_cast<std::int32_t>((ab + nudge) / (1LL << 31));  // division truncates toward zero
}

std::int32_t rounding_divide_by_pot(std::int32_t x, int exponent) {
  const std::int32_t mask = static_cast<std::int32_t>((1LL << exponent) - 1);
  const std::int32_t remainder = x & mask;
  const std::int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

std::int32_t multiply_by_quantized_multiplier(std::int32_t x, const QuantizedMultiplier& m) {
  const int left = m.shift > 0 ? m.shift : 0;
  const int right = m.shift > 0 ? 0 : -m.shift;
  // The left shift wraps like the int32 hardware register it models.
  const auto shifted = static_cast<std::int32_t>(static_cast<std::uint32_t>(x) << left);
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, m.multiplier), right);
}

std::int8_t requantize(std::int32_t acc, const QuantizedMultiplier& m, std::int32_t output_zero_point, bool relu) {
  const std::int64_t v = static_cast<std::int64_t>(multiply_by_quantized_multiplier(acc, m)) + output_zero_point;
  const std::int64_t lo = relu ? std::max<std::int64_t>(-128, output_zero_point) : -128;
  return static_cast<std::int8_t>(std::clamp<std::int64_t>(v, lo, 127));
}

float fake_quantize_activation(float x, const QuantParams& q) {
  return dequantize(quantize_activation(x, q), q);
}

}  // namespace isimdl
