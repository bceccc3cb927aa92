#include "sampler/estimators.h"

#include <cmath>

#include "models/error.h"

namespace isimdl {

Estimate weighted_estimate(const std::vector<double>& x, const std::vector<double>& w) {
  if (x.size() != w.size()) throw Error("weighted_estimate: values and weights differ in length");
  Estimate e;
  e.n = static_cast<std::int64_t>(x.size());
  if (x.empty()) return e;
  const double n = static_cast<double>(x.size());
  double sum = 0, sum_w = 0, sum_w2 = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sum += w[i] * x[i];
    sum_w += w[i];
    sum_w2 += w[i] * w[i];
  }
  e.value = sum / n;
  double var = 0;
  for (std::size_t i = 0; i < x.size(); ++i) var += (w[i] * x[i] - e.value) * (w[i] * x[i] - e.value);
  var = x.size() > 1 ? var / (n - 1) : 0.0;
  e.standard_error = std::sqrt(var / n);
  e.lo = e.value - 1.96 * e.standard_error;
  e.hi = e.value + 1.96 * e.standard_error;
  e.effective_sample_size = sum_w2 > 0 ? sum_w * sum_w / sum_w2 : 0;
  return e;
}

double leveugle_sample_size(double population, double margin, double t, double p) {
  return population / (1.0 + margin * margin * (population - 1.0) / (t * t * p * (1.0 - p)));
}

double leveugle_margin(double population, double n, double t, double p) {
  if (n <= 0) return 1.0;
  return t * std::sqrt(p * (1.0 - p) / n * (population - n) / std::max(1.0, population - 1.0));
}

}  // namespace isimdl
