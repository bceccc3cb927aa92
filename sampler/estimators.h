#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace isimdl {

// How the confidence interval of a weighted estimate is built
// (docs/sampling.md, "Intervals", measures each against exhaustive truths).
// With y_i = w_i x_i, n draws, mean ybar and sample variance s^2:
//   kNormal        ybar -/+ z s / sqrt(n).
//   kScore         the score (Wilson) interval of the scaled proportion:
//                  Var(y) = k mu - mu^2 exactly, with k = E[y^2] / E[y]; with
//                  k estimated by sum y^2 / sum y (by max_weight when no y > 0),
//                  the interval is k times Wilson's for ybar / k over n draws.
//                  For uniform sampling of a 0/1 outcome k = 1: Wilson's
//                  interval.
//   kLogNormal     ybar * exp(-/+ z s / (sqrt(n) ybar)) (the delta method on
//                  log ybar); the score interval's when ybar = 0.
//   kKornGraubard  Clopper-Pearson on the effective sample size
//                  n* = ybar (1 - ybar) / (s^2 / n), capped at n (Korn and
//                  Graubard, 1998); the score interval's when ybar = 0.
//   kBootstrapT    studentized bootstrap: 999 Poisson(1)-bootstrap resamples
//                  (fixed seed), t* = (mean* - ybar) / se*, the interval
//                  ybar - t*_(1-a/2) se, ybar - t*_(a/2) se. The default: it
//                  holds best where importance sampling is skewed. A 0/1 x
//                  under equal weights (uniform sampling) gets the exact
//                  Clopper-Pearson interval instead (times the weight), and
//                  at most one draw with x > 0 the scaled Clopper-Pearson
//                  interval k CP(n ybar / k, n), k as for kScore.
//   kBootstrapLogT the bootstrap-t of log ybar (se of log ybar: s / ybar),
//                  mapped back: ybar exp(-t*_(1-a/2) s/ybar), ybar exp(-t*_(a/2) s/ybar).
//   kSelfNormalized the self-normalized estimate sum y / sum w with its
//                  delta-method normal interval (a ratio estimator: biased,
//                  consistent).
//   kStratified    post-stratification by weight (needs EstimateOptions::
//                  strata): the draws of each weight stratum are a near-uniform
//                  sample of it, and its prior share P_s is known; per stratum
//                  the Agresti-Coull centre r~_s = (n_s r_s + z^2/2) / (n_s + z^2)
//                  and variance r~_s (1 - r~_s) / (n_s + z^2); the interval is
//                  sum P_s r~_s -/+ z sqrt(sum P_s^2 v_s). A stratum known to
//                  hold only zeros (dead sites) adds nothing. (Measured: far
//                  too wide where strata go undrawn; kept for the record.)
//   kGamma         Fay and Feuer's gamma interval (Stat. Med. 1997) for a
//                  weighted sum of rare events, Y = sum y_i with V = sum y_i^2:
//                  Y is taken as gamma with mean Y and variance V, and the
//                  upper end adds one unseen event of the largest weight B a
//                  site with x > 0 can have (EstimateOptions::max_weight):
//                    lo = (V/Y) G^-1(Y^2/V; a/2) / n,
//                    hi = ((V+B^2)/(Y+B)) G^-1((Y+B)^2/(V+B^2); 1-a/2) / n,
//                  G^-1(shape; p) the quantile of the unit-scale gamma; with
//                  Y = 0, lo = 0 and hi = B G^-1(1; 1-a/2) / n (about 3.7 B/n).
//   kGammaMean     the same with the unseen event's weight the hits' own
//                  weight-weighted mean V/Y instead of B (Tiwari, Clegg and
//                  Zou's modification, Stat. Methods Med. Res. 2006); B with
//                  no hit.
enum class IntervalMethod { kNormal, kScore, kLogNormal, kKornGraubard, kBootstrapT, kSelfNormalized, kStratified, kBootstrapLogT, kControlVariate, kGamma, kGammaMean };
const char* to_string(IntervalMethod method);
const std::vector<IntervalMethod>& interval_methods();

// A stratum of the space by importance weight: the draws with weight in
// [lo, hi), the stratum's prior share of the space, and whether every site
// of it is known to have x = 0.
struct WeightStratum {
  double lo = 0, hi = 0;
  double p_share = 0;
  bool known_zero = false;
};

struct EstimateOptions {
  IntervalMethod method = IntervalMethod::kGamma;
  double confidence = 0.95;
  // The largest weight a site whose x can be non-zero can have (for an
  // importance campaign: over live sites, ImportanceSampler::max_live_weight;
  // 1 for uniform sampling). Bounds the interval when no draw has x > 0;
  // 0 means unknown: the largest weight drawn, at least 1.
  double max_weight = 0;
  // The draws are every site of the population once (an exhaustive
  // campaign): the value is exact and the interval is the value.
  bool exhaustive = false;
  // For kStratified: the strata covering every weight drawn.
  const std::vector<WeightStratum>* strata = nullptr;
};

// An importance-weighted estimate of E_p[x] from n draws x_i ~ q with
// weights w_i = p(x_i)/q(x_i): the mean of w_i * x_i (unbiased), its
// standard error, a confidence interval, and Kish's effective sample size
// (sum w)^2 / sum w^2.
struct Estimate {
  double value = 0;
  double standard_error = 0;
  double lo = 0, hi = 0;  // the interval at EstimateOptions::confidence
  double effective_sample_size = 0;
  std::int64_t n = 0;
  std::int64_t nonzero = 0;  // draws with x > 0 (critical faults found, for a 0/1 x)
  bool exact = false;        // an exhaustive campaign's value: lo == value == hi
  double half_width() const { return (hi - lo) / 2; }
};
Estimate weighted_estimate(const std::vector<double>& x, const std::vector<double>& w, const EstimateOptions& options = {});

// The estimate of E_p[x | site in a part of the space] (a structure: a
// register group, a layer, a PE, a bit position) of known prior probability
// `share` = p(part), from the same n draws: x and w are those of the draws
// in the part (the others count as x = 0), weights are divided by `share`,
// and so is `max_weight_in_part` (the largest weight of a site of the part,
// see EstimateOptions::max_weight). Unbiased; for uniform sampling of a 0/1
// x and the score interval, Wilson's interval of the part's hits among all n
// draws, scaled by 1 / share. Kish's effective sample size is the part's.
Estimate part_estimate(const std::vector<double>& x, const std::vector<double>& w, std::int64_t n, double share,
                       double max_weight_in_part, EstimateOptions options = {});

// The two-sided standard normal quantile of a confidence level (1.96 for 0.95).
double normal_quantile(double confidence);
// Wilson's score interval for a proportion p_hat of n trials (n may be
// fractional: an effective sample size).
std::pair<double, double> wilson_interval(double p_hat, double n, double confidence);
// The Clopper-Pearson interval for `successes` of `n` (both may be fractional).
std::pair<double, double> clopper_pearson_interval(double successes, double n, double confidence);

// Leveugle et al. (DATE 2009): faults to simulate from a population of N for
// a margin of error e at confidence t (1.96 for 95%) when the proportion is
// p (0.5 when unknown): N / (1 + e^2 (N - 1) / (t^2 p (1 - p))).
double leveugle_sample_size(double population, double margin, double t = 1.96, double p = 0.5);
// The margin that n uniform draws give: t * sqrt(p (1 - p) / n * (N - n) / (N - 1)).
double leveugle_margin(double population, double n, double t = 1.96, double p = 0.5);

}  // namespace isimdl
