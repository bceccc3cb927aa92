#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>

#include "models/quantization.h"
#include "models/random.h"

namespace isimdl {
namespace {

__extension__ typedef __int128 Int128;

// Independent statement of the two roundings of docs/quantization.md, in
// exact 128-bit arithmetic: floor((2ab + 2^31) / 2^32) is round-to-nearest
// of ab/2^31 with ties toward +infinity; the division by 2^e rounds to
// nearest with ties away from zero.
std::int64_t exact_high_mul(std::int64_t a, std::int64_t b) {
  const Int128 num = static_cast<Int128>(a) * b + (static_cast<Int128>(1) << 30);
  Int128 q = num / (static_cast<Int128>(1) << 31);
  if (num % (static_cast<Int128>(1) << 31) != 0 && num < 0) --q;  // floor
  return static_cast<std::int64_t>(q);
}
std::int64_t exact_divide_pot(std::int64_t x, int e) {
  if (e == 0) return x;
  const std::int64_t d = std::int64_t{1} << e;
  const std::int64_t mag = (std::llabs(x) + d / 2) / d;
  return x < 0 ? -mag : mag;
}

TEST(Quantization, HighMulMatchesExactRounding) {
  Random random(3);
  for (int i = 0; i < 200000; ++i) {
    const auto a = static_cast<std::int32_t>(random.next_u64());
    const auto b = static_cast<std::int32_t>(random.next_u64() >> (i % 33));
    if (a == std::numeric_limits<std::int32_t>::min() && b == a) continue;
    ASSERT_EQ(saturating_rounding_doubling_high_mul(a, b), exact_high_mul(a, b)) << a << " * " << b;
  }
}

TEST(Quantization, HighMulTiesAndSaturation) {
  // a*b/2^31 = +0.5 and -0.5 exactly: both toward +infinity.
  EXPECT_EQ(saturating_rounding_doubling_high_mul(1 << 30, 1), 1);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-(1 << 30), 1), 0);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(3 << 29, 2), 2);    // 1.5 -> 2
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-(3 << 29), 2), -1);  // -1.5 -> -1
  const std::int32_t min = std::numeric_limits<std::int32_t>::min();
  EXPECT_EQ(saturating_rounding_doubling_high_mul(min, min), std::numeric_limits<std::int32_t>::max());
}

TEST(Quantization, DivideByPotRoundsTiesAwayFromZero) {
  EXPECT_EQ(rounding_divide_by_pot(5, 1), 3);
  EXPECT_EQ(rounding_divide_by_pot(-5, 1), -3);
  EXPECT_EQ(rounding_divide_by_pot(3, 1), 2);
  EXPECT_EQ(rounding_divide_by_pot(-3, 1), -2);
  EXPECT_EQ(rounding_divide_by_pot(-1, 1), -1);
  EXPECT_EQ(rounding_divide_by_pot(1, 1), 1);
  EXPECT_EQ(rounding_divide_by_pot(7, 2), 2);   // 1.75
  EXPECT_EQ(rounding_divide_by_pot(-7, 2), -2);
  EXPECT_EQ(rounding_divide_by_pot(6, 2), 2);   // 1.5 tie
  EXPECT_EQ(rounding_divide_by_pot(-6, 2), -2);
  Random random(4);
  for (int i = 0; i < 100000; ++i) {
    const auto x = static_cast<std::int32_t>(random.next_u64());
    const int e = static_cast<int>(random.uniform_below(32));
    ASSERT_EQ(rounding_divide_by_pot(x, e), exact_divide_pot(x, e)) << x << " / 2^" << e;
  }
}

TEST(Quantization, MultiplierRepresentsRealValue) {
  for (double m : {1e-9, 0.0001234, 0.003, 0.25, 0.5, 0.7071, 0.99999999, 1.0, 1.5, 3.75, 1000.0}) {
    const QuantizedMultiplier q = quantize_multiplier(m);
    EXPECT_GE(q.multiplier, 1 << 30) << m;
    const double back = q.multiplier * std::ldexp(1.0, q.shift - 31);
    EXPECT_NEAR(back / m, 1.0, 1e-9) << m;
  }
  EXPECT_EQ(quantize_multiplier(0.0).multiplier, 0);
  // A fraction that rounds up to 2^31 moves to the next exponent.
  const QuantizedMultiplier q = quantize_multiplier(1.0 - 1e-12);
  EXPECT_EQ(q.multiplier, 1 << 30);
  EXPECT_EQ(q.shift, 1);
}

TEST(Quantization, MultiplyByQuantizedMultiplierIsTwoRoundings) {
  Random random(5);
  for (int i = 0; i < 100000; ++i) {
    const auto x = static_cast<std::int32_t>(random.next_u64() >> 40) - (1 << 23);
    const double real = std::ldexp(0.5 + 0.5 * random.uniform01(), -static_cast<int>(random.uniform_below(20)));
    const QuantizedMultiplier m = quantize_multiplier(real);
    ASSERT_LE(m.shift, 0);
    const std::int64_t expected = exact_divide_pot(exact_high_mul(x, m.multiplier), -m.shift);
    ASSERT_EQ(multiply_by_quantized_multiplier(x, m), expected);
    // And it is within one unit of the real product.
    ASSERT_LE(std::fabs(static_cast<double>(expected) - x * real), 1.0 + std::fabs(x * real) * 1e-8);
  }
}

TEST(Quantization, RequantizeSaturatesAndClampsAtZeroPoint) {
  const QuantizedMultiplier one_half = quantize_multiplier(0.5);
  EXPECT_EQ(requantize(1000, one_half, 0, false), 127);
  EXPECT_EQ(requantize(-1000, one_half, 0, false), -128);
  EXPECT_EQ(requantize(254, one_half, 0, false), 127);
  EXPECT_EQ(requantize(256, one_half, 0, false), 127);
  EXPECT_EQ(requantize(-256, one_half, 0, false), -128);
  EXPECT_EQ(requantize(-258, one_half, 0, false), -128);
  EXPECT_EQ(requantize(3, one_half, 0, false), 2);     // 1.5 -> 2
  EXPECT_EQ(requantize(-3, one_half, 0, false), -1);   // -1.5 -> -1: with shift 0 only the high-mul tie rule applies
  EXPECT_EQ(requantize(10, one_half, -5, false), 0);   // zero point added after scaling
  // Fused ReLU clamps at the zero point, the quantized real zero.
  EXPECT_EQ(requantize(-40, one_half, -5, true), -5);
  EXPECT_EQ(requantize(-40, one_half, -128, true), -128);
  EXPECT_EQ(requantize(20, one_half, -5, true), 5);
}

// The vectorized output stage gives requantize()'s bits on every input:
// random and extreme accumulators, multipliers of every exponent (left
// shifts that wrap, right shifts up to 31), the Q31 mantissa's bounds and the
// saturating INT32_MIN multiplier, zero points across the range, with and
// without a fused ReLU, lengths that leave vector remainders.
TEST(Quantization, RequantizeSpanEqualsRequantize) {
  Random random(5);
  const std::int32_t extremes[] = {0, 1, -1, 127, -128, std::numeric_limits<std::int32_t>::max(),
                                   std::numeric_limits<std::int32_t>::min(), 1 << 30, -(1 << 30)};
  int checked = 0;
  for (int trial = 0; trial < 400; ++trial) {
    QuantizedMultiplier m;
    m.shift = static_cast<int>(random.uniform_below(40)) - 31;  // -31..8
    const std::uint64_t pick = random.uniform_below(8);
    m.multiplier = pick == 0   ? (1 << 30)
                   : pick == 1 ? std::numeric_limits<std::int32_t>::max()
                   : pick == 2 ? std::numeric_limits<std::int32_t>::min()
                               : static_cast<std::int32_t>((1u << 30) + random.uniform_below(1u << 30));
    const auto zero_point = static_cast<std::int32_t>(random.uniform_below(256)) - 128;
    const bool relu = random.uniform_below(2) == 1;
    const std::size_t count = 1 + random.uniform_below(70);
    std::vector<std::int32_t> acc(count);
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint64_t kind = random.uniform_below(4);
      acc[i] = kind == 0 ? extremes[random.uniform_below(std::size(extremes))]
               : kind == 1 ? static_cast<std::int32_t>(static_cast<std::uint32_t>(random.next_u64()))
                           : static_cast<std::int32_t>(random.uniform_below(1 << 20)) - (1 << 19);
    }
    std::vector<std::int8_t> out(count);
    requantize_span(acc.data(), count, m, zero_point, relu, out.data());
    for (std::size_t i = 0; i < count; ++i, ++checked)
      ASSERT_EQ(out[i], requantize(acc[i], m, zero_point, relu))
          << "acc " << acc[i] << " multiplier " << m.multiplier << " shift " << m.shift << " zero point " << zero_point
          << " relu " << relu;
  }
  EXPECT_GT(checked, 10000);
}

TEST(Quantization, ActivationQParamsRepresentZeroExactly) {
  const QuantParams q = choose_activation_qparams(-1.0f, 3.0f);
  EXPECT_FLOAT_EQ(q.scale, 4.0f / 255.0f);
  EXPECT_EQ(dequantize(q.zero_point, q), 0.0f);
  EXPECT_EQ(quantize_activation(-1.0f, q), -128);
  EXPECT_EQ(quantize_activation(3.0f, q), 127);
  EXPECT_EQ(quantize_activation(100.0f, q), 127);    // saturates
  EXPECT_EQ(quantize_activation(-100.0f, q), -128);
  const QuantParams relu = choose_activation_qparams(0.0f, 2.55f);
  EXPECT_EQ(relu.zero_point, -128);
  EXPECT_EQ(quantize_activation(0.01f, relu), -127);
  EXPECT_EQ(quantize_activation(0.015f, relu), -128 + 2);
}

TEST(Quantization, WeightsAreSymmetricWithoutMinus128) {
  const float w[] = {-2.0f, 1.0f, 0.5f, -0.0079f};
  const float s = choose_weight_scale(w, 4);
  EXPECT_FLOAT_EQ(s, 2.0f / 127.0f);
  EXPECT_EQ(quantize_weight(-2.0f, s), -127);
  EXPECT_EQ(quantize_weight(-5.0f, s), -127);  // never -128
  EXPECT_EQ(quantize_weight(1.0f, s), 64);     // 63.5 -> 64
  EXPECT_EQ(quantize_bias(1e12f, 1e-3f), std::numeric_limits<std::int32_t>::max());
}

// The engine's fixed-point requantization against a float runtime's
// multiply-and-round (what ONNX Runtime's QLinear operators and
// DequantizeLinear-float-QuantizeLinear chains compute): out = clamp(
// round(acc * M) + zp) in double, with ties to even (ONNX) or away from zero.
// Over a million random accumulators and multipliers the two differ by at
// most one int8 step, and rarely (docs/quantization.md quotes the rate this
// prints).
TEST(Quantization, RequantizationAgainstFloatMultiplyAndRound) {
  Random random(2026);
  const int cases = 1000000;
  int differ_even = 0, differ_away = 0, max_diff = 0;
  for (int i = 0; i < cases; ++i) {
    // Multipliers of real layers: s_in * s_w / s_out, spread over 1e-5 .. 1 on a log scale.
    const double m = std::pow(10.0, -5.0 * random.uniform01());
    const auto acc = static_cast<std::int32_t>(static_cast<std::int64_t>(random.uniform_below(1u << 25)) - (1 << 24));
    const std::int32_t zp = static_cast<std::int32_t>(random.uniform_below(256)) - 128;
    const int engine = requantize(acc, quantize_multiplier(m), zp, false);
    const double exact = static_cast<double>(acc) * m;
    const auto clamp8 = [&](double v) { return static_cast<int>(std::clamp(v + zp, -128.0, 127.0)); };
    const int even = clamp8(std::nearbyint(exact));  // default rounding mode: ties to even
    const int away = clamp8(std::round(exact));
    differ_even += engine != even;
    differ_away += engine != away;
    max_diff = std::max({max_diff, std::abs(engine - even), std::abs(engine - away)});
  }
  EXPECT_LE(max_diff, 1);
  EXPECT_LT(differ_even, cases / 1000);
  std::cout << "requantization against float multiply-and-round over " << cases << " cases: differs by 1 in "
            << differ_even << " (ties to even), " << differ_away << " (ties away from zero); never by more\n";
}

}  // namespace
}  // namespace isimdl
