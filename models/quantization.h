#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace isimdl {

// The int8 quantization scheme of isimdl, exactly as docs/quantization.md
// states it. The hardware model's output stage implements the same functions.

// Asymmetric per-tensor activation quantization: real = scale * (q - zero_point),
// q in [-128, 127].
struct QuantParams {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
};

bool operator==(const QuantParams& a, const QuantParams& b);

// Chooses scale and zero point so that [min(lo, 0), max(hi, 0)] maps onto
// [-128, 127] and real 0 is exactly representable.
QuantParams choose_activation_qparams(float lo, float hi);

// q = clamp(round_half_away_from_zero(x / scale) + zero_point, -128, 127).
std::int8_t quantize_activation(float x, const QuantParams& q);
float dequantize(std::int32_t q, const QuantParams& p);

// Symmetric per-output-channel weight quantization: scale = max|w| / 127,
// q = clamp(round_half_away_from_zero(w / scale), -127, 127) (-128 is never
// used, so -q is always representable).
float choose_weight_scale(const float* w, int count);
std::int8_t quantize_weight(float w, float scale);

// Bias: int32 with scale s_in * s_w[n] and zero point 0, rounded half away
// from zero and saturated.
std::int32_t quantize_bias(float b, float scale);

// A real multiplier m > 0 as a Q31 fixed-point mantissa and a power-of-two
// exponent: m ~= multiplier * 2^(shift - 31), multiplier in [2^30, 2^31).
struct QuantizedMultiplier {
  std::int32_t multiplier = 0;
  int shift = 0;
};
QuantizedMultiplier quantize_multiplier(double real_multiplier);

// gemmlowp / TFLite reference arithmetic, bit for bit:
// round(a * b / 2^31) to nearest with exact ties toward +infinity (the nudge
// then truncation of gemmlowp), saturating the one overflow
// case (INT32_MIN * INT32_MIN).
inline std::int32_t saturating_rounding_doubling_high_mul(std::int32_t a, std::int32_t b) {
  if (a == b && a == std::numeric_limits<std::int32_t>::min()) return std::numeric_limits<std::int32_t>::max();
  const std::int64_t ab = static_cast<std::int64_t>(a) * b;
  const std::int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
  return static_cast<std::int32_t>((ab + nudge) / (1LL << 31));  // division truncates toward zero
}
// x / 2^exponent rounded to nearest, ties away from zero; exponent in 0..31.
inline std::int32_t rounding_divide_by_pot(std::int32_t x, int exponent) {
  const std::int32_t mask = static_cast<std::int32_t>((1LL << exponent) - 1);
  const std::int32_t remainder = x & mask;
  const std::int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}
// x * multiplier * 2^(shift - 31) with the two roundings above.
inline std::int32_t multiply_by_quantized_multiplier(std::int32_t x, const QuantizedMultiplier& m) {
  const int left = m.shift > 0 ? m.shift : 0;
  const int right = m.shift > 0 ? 0 : -m.shift;
  // The left shift wraps like the int32 hardware register it models.
  const auto shifted = static_cast<std::int32_t>(static_cast<std::uint32_t>(x) << left);
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, m.multiplier), right);
}

// The output stage: int32 accumulator (bias included) to int8,
// clamp(multiply_by_quantized_multiplier(acc) + zero_point, lo, hi), where
// lo = zero_point for a fused ReLU and -128 otherwise.
inline std::int8_t requantize(std::int32_t acc, const QuantizedMultiplier& m, std::int32_t output_zero_point, bool relu) {
  const std::int64_t v = static_cast<std::int64_t>(multiply_by_quantized_multiplier(acc, m)) + output_zero_point;
  const std::int64_t lo = relu ? std::max<std::int64_t>(-128, output_zero_point) : -128;
  return static_cast<std::int8_t>(std::clamp<std::int64_t>(v, lo, 127));
}

// requantize() of acc[0..count) into out[0..count), one multiplier for all:
// the same bits, written without branches so that the compiler vectorizes it
// (compiled for AVX-512, AVX2 and the baseline, chosen at load time).
void requantize_span(const std::int32_t* acc, std::size_t count, const QuantizedMultiplier& m,
                     std::int32_t output_zero_point, bool relu, std::int8_t* out);

// Fake quantization for training and gradients (straight-through): the real
// value the int8 grid holds for x.
float fake_quantize_activation(float x, const QuantParams& q);

}  // namespace isimdl
