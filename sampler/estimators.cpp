#include "sampler/estimators.h"

#include <boost/math/distributions/beta.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/special_functions/gamma.hpp>

#include <algorithm>
#include <optional>
#include <tuple>
#include <cmath>

#include <fmt/format.h>

#include "models/error.h"
#include "models/random.h"

namespace isimdl {

const char* to_string(IntervalMethod method) {
  switch (method) {
    case IntervalMethod::kNormal: return "normal";
    case IntervalMethod::kScore: return "score";
    case IntervalMethod::kLogNormal: return "log-normal";
    case IntervalMethod::kKornGraubard: return "korn-graubard";
    case IntervalMethod::kBootstrapT: return "bootstrap-t";
    case IntervalMethod::kSelfNormalized: return "self-normalized";
    case IntervalMethod::kStratified: return "stratified";
    case IntervalMethod::kBootstrapLogT: return "bootstrap-log-t";
    case IntervalMethod::kControlVariate: return "control-variate";
    case IntervalMethod::kGamma: return "gamma";
    case IntervalMethod::kGammaMean: return "gamma-mean";
  }
  return "?";
}

const std::vector<IntervalMethod>& interval_methods() {
  static const std::vector<IntervalMethod> methods{IntervalMethod::kNormal,       IntervalMethod::kScore,
                                                   IntervalMethod::kLogNormal,    IntervalMethod::kKornGraubard,
                                                   IntervalMethod::kBootstrapT,   IntervalMethod::kSelfNormalized,
                                                   IntervalMethod::kStratified, IntervalMethod::kBootstrapLogT,
                                                   IntervalMethod::kControlVariate, IntervalMethod::kGamma,
                                                   IntervalMethod::kGammaMean};
  return methods;
}

double normal_quantile(double confidence) {
  if (!(confidence > 0 && confidence < 1)) throw Error("confidence must be in (0, 1)");
  return boost::math::quantile(boost::math::normal_distribution<double>(), 0.5 + confidence / 2);
}

std::pair<double, double> wilson_interval(double p_hat, double n, double confidence) {
  if (n <= 0) return {0.0, 1.0};
  const double z = normal_quantile(confidence), z2 = z * z;
  const double centre = (p_hat + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z / (1 + z2 / n) * std::sqrt(std::max(0.0, p_hat * (1 - p_hat) / n + z2 / (4 * n * n)));
  // At p_hat = 0 (1) the lower (upper) end is 0 (1) exactly, not a rounding of it.
  return {p_hat <= 0 ? 0.0 : std::max(0.0, centre - half), p_hat >= 1 ? 1.0 : std::min(1.0, centre + half)};
}

std::pair<double, double> clopper_pearson_interval(double successes, double n, double confidence) {
  if (n <= 0) return {0.0, 1.0};
  successes = std::clamp(successes, 0.0, n);
  const double alpha = 1 - confidence;
  const double lo = successes <= 0 ? 0.0
                                   : boost::math::quantile(boost::math::beta_distribution<double>(successes, n - successes + 1), alpha / 2);
  const double hi = successes >= n ? 1.0
                                   : boost::math::quantile(boost::math::beta_distribution<double>(successes + 1, n - successes), 1 - alpha / 2);
  return {lo, hi};
}

namespace {

struct Moments {
  double n = 0, mean = 0, variance = 0, sum_y = 0, sum_y2 = 0, sum_w = 0, sum_w2 = 0, max_w = 0;
  std::int64_t nonzero = 0;
  bool negative = false;  // some x < 0 (an accuracy drop can be): only the normal interval applies
  bool at_most_one = true;  // every x <= 1
  bool binary = true;        // every x is 0 or 1
  bool equal_weights = true; // every draw has the same weight
};

// The moments of n draws of which x and w are a subset; the other draws
// have x = 0 (and count only in n).
Moments moments(const std::vector<double>& x, const std::vector<double>& w, double n) {
  Moments m;
  m.n = n;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double y = w[i] * x[i];
    m.sum_y += y;
    m.sum_y2 += y * y;
    m.sum_w += w[i];
    m.sum_w2 += w[i] * w[i];
    m.max_w = std::max(m.max_w, w[i]);
    m.nonzero += x[i] > 0;
    m.negative = m.negative || x[i] < 0;
    m.at_most_one = m.at_most_one && x[i] <= 1;
    m.binary = m.binary && (x[i] == 0 || x[i] == 1);
    m.equal_weights = m.equal_weights && w[i] == w[0];
  }
  m.mean = m.sum_y / m.n;
  // Two passes over the subset, the omitted zeros added in closed form.
  double var = 0;
  for (std::size_t i = 0; i < x.size(); ++i) var += (w[i] * x[i] - m.mean) * (w[i] * x[i] - m.mean);
  var += (m.n - static_cast<double>(x.size())) * m.mean * m.mean;
  m.variance = m.n > 1 ? var / (m.n - 1) : 0.0;
  return m;
}

// The score interval: k * Wilson(ybar / k, n).
std::pair<double, double> score_interval(const Moments& m, double k, double confidence) {
  const double p = std::min(1.0, m.mean / k);
  const auto [lo, hi] = wilson_interval(p, m.n, confidence);
  return {k * lo, k * hi};
}

double bound_weight(const Moments& m, const EstimateOptions& options) {
  return options.max_weight > 0 ? options.max_weight : std::max(1.0, m.max_w);
}

double score_k(const Moments& m, const EstimateOptions& options) {
  return m.sum_y > 0 ? m.sum_y2 / m.sum_y : bound_weight(m, options);
}

// Fay and Feuer's gamma interval of sum y / n with one unseen event of
// weight `phantom` on the upper side (IntervalMethod::kGamma).
std::pair<double, double> gamma_interval(const Moments& m, double phantom, double confidence) {
  const double alpha = 1 - confidence;
  const double y = m.sum_y, v = m.sum_y2;
  const double lo = y > 0 && v > 0 ? v / y * boost::math::gamma_p_inv(y * y / v, alpha / 2) : 0.0;
  const double yb = y + phantom, vb = v + phantom * phantom;
  const double hi = vb > 0 ? vb / yb * boost::math::gamma_p_inv(yb * yb / vb, 1 - alpha / 2) : 0.0;
  return {lo / m.n, hi / m.n};
}

// Poisson(1) by inversion: the count of one observation in a Poisson
// bootstrap resample.
int poisson1(Random& random) {
  static const double kCdf[] = {0.36787944117144233, 0.73575888234288467, 0.91969860292860584, 0.98101184312384626,
                                0.99634015317265637, 0.99940581518338155, 0.99991675885180308, 0.99998975080100258,
                                0.99999887479465251, 0.99999989745060196, 0.99999998991025000};
  const double u = random.uniform01();
  int k = 0;
  while (k < 11 && u >= kCdf[k]) ++k;
  return k;
}

// The studentized (bootstrap-t) interval by the Poisson bootstrap: each draw
// appears c ~ Poisson(1) times in a resample, whose mean and variance are
// taken over n draws. Only draws with y != 0 change a resample's sums, so a
// resample costs O(nonzero draws), not O(n).
std::pair<double, double> bootstrap_t(const std::vector<double>& x, const std::vector<double>& w, const Moments& m,
                                      double confidence, bool log_scale) {
  const double se = std::sqrt(m.variance / m.n);
  if (se <= 0 || m.n < 2) return {m.mean, m.mean};
  std::vector<double> y;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (w[i] * x[i] != 0) y.push_back(w[i] * x[i]);
  Random random(0xb00757ULL);
  const int resamples = 999;
  std::vector<double> t;
  t.reserve(resamples);
  for (int b = 0; b < resamples; ++b) {
    double sum = 0, sum2 = 0;
    for (double v : y) {
      const int c = poisson1(random);
      sum += c * v;
      sum2 += c * v * v;
    }
    const double mean = sum / m.n;
    const double var = std::max(0.0, (sum2 - m.n * mean * mean) / (m.n - 1));
    const double s = std::sqrt(var / m.n);
    if (log_scale) {
      // t of log mean: (log mean* - log ybar) / (se* / mean*).
      t.push_back(mean > 0 && s > 0 ? (std::log(mean) - std::log(m.mean)) / (s / mean) : (mean > 0 ? 0.0 : -1e300));
      continue;
    }
    // A resample without spread has an infinite t on the side of its mean.
    t.push_back(s > 0 ? (mean - m.mean) / s : (mean > m.mean ? 1e300 : mean < m.mean ? -1e300 : 0.0));
  }
  std::sort(t.begin(), t.end());
  const double alpha = 1 - confidence;
  auto at = [&](double q) {
    const auto i = static_cast<std::size_t>(std::clamp(std::floor(q * (resamples + 1)) - 1, 0.0, resamples - 1.0));
    return t[i];
  };
  if (log_scale) {
    const double rel = se / m.mean;
    return {m.mean * std::exp(-at(1 - alpha / 2) * rel), at(alpha / 2) <= -1e299 ? 1e300 : m.mean * std::exp(-at(alpha / 2) * rel)};
  }
  return {std::max(0.0, m.mean - at(1 - alpha / 2) * se), m.mean - at(alpha / 2) * se};
}

Estimate estimate(const std::vector<double>& x, const std::vector<double>& w, double n, const EstimateOptions& options) {
  Estimate e;
  e.n = static_cast<std::int64_t>(n);
  if (n <= 0) {
    e.hi = std::max(1.0, options.max_weight);
    return e;
  }
  const Moments m = moments(x, w, n);
  e.value = m.mean;
  e.nonzero = m.nonzero;
  e.standard_error = std::sqrt(m.variance / m.n);
  e.effective_sample_size = m.sum_w2 > 0 ? m.sum_w * m.sum_w / m.sum_w2 : 0;
  if (options.exhaustive) {
    e.exact = true;
    e.standard_error = 0;
    e.lo = e.hi = e.value;
    return e;
  }
  const double z = normal_quantile(options.confidence);
  // Each method's interval, or none where it does not apply (too few
  // draws with x > 0): then the score interval.
  auto normal = [&](double value, double se) {
    e.value = value;
    e.standard_error = se;
    return std::optional<std::pair<double, double>>({value - z * se, value + z * se});
  };
  auto method_interval = [&]() -> std::optional<std::pair<double, double>> {
    switch (m.negative ? IntervalMethod::kNormal : options.method) {
      case IntervalMethod::kNormal: return normal(e.value, e.standard_error);
      case IntervalMethod::kScore: return std::nullopt;
      case IntervalMethod::kLogNormal: {
        if (e.value <= 0) return std::nullopt;
        const double f = std::exp(z * e.standard_error / e.value);
        return std::make_pair(e.value / f, e.value * f);
      }
      case IntervalMethod::kKornGraubard: {
        if (e.value <= 0 || m.variance <= 0) return std::nullopt;
        const double k = bound_weight(m, options);  // scale y into [0, 1]
        const double p = std::min(1.0, e.value / k), v = m.variance / (k * k) / m.n;
        const double n_eff = std::min(m.n, p * (1 - p) / v);
        const auto [lo, hi] = clopper_pearson_interval(n_eff * p, n_eff, options.confidence);
        return std::make_pair(k * lo, k * hi);
      }
      case IntervalMethod::kBootstrapT: {
        // A 0/1 outcome under equal weights (uniform sampling) is binomial:
        // Clopper-Pearson's exact interval, scaled by the weight. With at
        // most one non-zero draw the t distribution is degenerate (every
        // resample without it has no spread): the scaled Clopper-Pearson
        // interval k CP(n ybar / k, n), k as for the score interval (with
        // none: the largest weight a site can have).
        if (m.nonzero > 1 && !(m.binary && m.equal_weights)) return bootstrap_t(x, w, m, options.confidence, false);
        const double k = m.binary && m.equal_weights && m.nonzero > 0 ? w[0] : score_k(m, options);
        const auto [lo, hi] = clopper_pearson_interval(m.n * std::min(1.0, m.mean / k), m.n, options.confidence);
        return std::make_pair(k * lo, k * hi);
      }
      case IntervalMethod::kBootstrapLogT:
        if (m.nonzero <= 1) return std::nullopt;
        return bootstrap_t(x, w, m, options.confidence, true);
      case IntervalMethod::kControlVariate: {
        // Owen and Zhou (2000): E_q[w] = 1 exactly, so w - 1 is a control
        // variate; the regression estimator ybar - beta (wbar - 1). Needs
        // every draw, not a part's.
        if (m.nonzero <= 1 || x.size() != static_cast<std::size_t>(m.n)) return std::nullopt;
        const double wbar = m.sum_w / m.n;
        double sww = 0, swy = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
          sww += (w[i] - wbar) * (w[i] - wbar);
          swy += (w[i] - wbar) * (w[i] * x[i] - m.mean);
        }
        const double beta = sww > 0 ? swy / sww : 0.0;
        double res = 0;
        for (std::size_t i = 0; i < x.size(); ++i) res += std::pow(w[i] * x[i] - m.mean - beta * (w[i] - wbar), 2);
        return normal(m.mean - beta * (wbar - 1), std::sqrt(res / std::max(1.0, m.n - 2) / m.n));
      }
      case IntervalMethod::kGamma: {
        // A 0/1 outcome under equal weights (uniform sampling) is binomial:
        // Clopper-Pearson's exact interval, scaled by the weight (none
        // found: when that weight is the bound, [0, w (1 - (a/2)^(1/n))]).
        if (m.binary && m.equal_weights && !x.empty() && (m.nonzero > 0 || w[0] >= bound_weight(m, options))) {
          const auto [lo, hi] = clopper_pearson_interval(static_cast<double>(m.nonzero), m.n, options.confidence);
          return std::make_pair(w[0] * lo, w[0] * hi);
        }
        return gamma_interval(m, bound_weight(m, options), options.confidence);
      }
      case IntervalMethod::kGammaMean:
        return gamma_interval(m, m.sum_y > 0 ? m.sum_y2 / m.sum_y : bound_weight(m, options), options.confidence);
      case IntervalMethod::kSelfNormalized: {
        if (m.nonzero == 0) return std::nullopt;
        const double ratio = m.sum_y / m.sum_w;
        double var = 0;
        for (std::size_t i = 0; i < x.size(); ++i) var += std::pow(w[i] * x[i] - ratio * w[i], 2);
        return normal(ratio, std::sqrt(var) / m.sum_w);
      }
      case IntervalMethod::kStratified: {
        if (!options.strata) throw Error("weighted_estimate: the stratified interval needs the weight strata");
        const auto& strata = *options.strata;
        std::vector<double> count(strata.size()), sum_w(strata.size()), sum_wx(strata.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
          std::size_t s = 0;
          while (s < strata.size() && !(w[i] >= strata[s].lo && w[i] < strata[s].hi)) ++s;
          if (s == strata.size()) throw Error(fmt::format("weighted_estimate: weight {} is in no stratum", w[i]));
          count[s] += 1;
          sum_w[s] += w[i];
          sum_wx[s] += w[i] * x[i];
        }
        const double z2 = z * z;
        double centre = 0, var = 0;
        for (std::size_t s = 0; s < strata.size(); ++s) {
          if (strata[s].known_zero) continue;
          const double r = sum_w[s] > 0 ? sum_wx[s] / sum_w[s] : 0.0;
          const double rt = (count[s] * r + z2 / 2) / (count[s] + z2);
          centre += strata[s].p_share * rt;
          var += strata[s].p_share * strata[s].p_share * rt * (1 - rt) / (count[s] + z2);
        }
        return std::make_pair(centre - z * std::sqrt(var), centre + z * std::sqrt(var));
      }
    }
    return std::nullopt;
  };
  const auto interval = method_interval();
  std::tie(e.lo, e.hi) = interval ? *interval : score_interval(m, score_k(m, options), options.confidence);
  if (!m.negative) e.lo = std::max(0.0, e.lo);
  // A rate (every x in [0, 1]) is at most 1, and at most B P_q(x > 0) for
  // B the largest weight a site can have (y <= B 1[x > 0]): B times the
  // Clopper-Pearson upper bound of the share of draws with x > 0. A valid
  // cap of any interval, and what few hits with very unequal weights leave.
  if (!m.negative && m.at_most_one) {
    e.hi = std::min(e.hi, 1.0);
    if (options.max_weight > 0)
      e.hi = std::min(e.hi, options.max_weight * clopper_pearson_interval(static_cast<double>(m.nonzero), m.n, options.confidence).second);
    e.hi = std::max(e.hi, e.value);
  }
  return e;
}

}  // namespace

Estimate weighted_estimate(const std::vector<double>& x, const std::vector<double>& w, const EstimateOptions& options) {
  if (x.size() != w.size()) throw Error("weighted_estimate: values and weights differ in length");
  return estimate(x, w, static_cast<double>(x.size()), options);
}

Estimate part_estimate(const std::vector<double>& x, const std::vector<double>& w, std::int64_t n, double share,
                       double max_weight_in_part, EstimateOptions options) {
  if (x.size() != w.size()) throw Error("part_estimate: values and weights differ in length");
  if (static_cast<std::int64_t>(x.size()) > n) throw Error("part_estimate: more draws in the part than in all");
  if (!(share > 0 && share <= 1)) throw Error("part_estimate: the part's share of the space must be in (0, 1]");
  if (options.method == IntervalMethod::kSelfNormalized || options.method == IntervalMethod::kStratified)
    throw Error(fmt::format("part_estimate: the {} interval needs every draw", to_string(options.method)));
  std::vector<double> wp(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) wp[i] = w[i] / share;
  options.max_weight = max_weight_in_part > 0 ? max_weight_in_part / share : 0.0;
  Estimate e = estimate(x, wp, static_cast<double>(n), options);
  // Kish's effective sample size of the draws in the part.
  double sw = 0, sw2 = 0;
  for (double v : w) {
    sw += v;
    sw2 += v * v;
  }
  e.effective_sample_size = sw2 > 0 ? sw * sw / sw2 : 0;
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
