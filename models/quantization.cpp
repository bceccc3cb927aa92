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

}  // namespace isimdl
