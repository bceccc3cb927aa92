#pragma once

#include <cstdint>
#include <vector>

namespace isimdl {

// An importance-weighted estimate of E_p[x] from n draws x_i ~ q with
// weights w_i = p(x_i)/q(x_i): the mean of w_i * x_i (unbiased), its
// standard error, a normal 95% interval, and Kish's effective sample size
// (sum w)^2 / sum w^2.
struct Estimate {
  double value = 0;
  double standard_error = 0;
  double lo = 0, hi = 0;  // 95% interval
  double effective_sample_size = 0;
  std::int64_t n = 0;
};
Estimate weighted_estimate(const std::vector<double>& x, const std::vector<double>& w);

// Leveugle et al. (DATE 2009): faults to simulate from a population of N for
// a margin of error e at confidence t (1.96 for 95%) when the proportion is
// p (0.5 when unknown): N / (1 + e^2 (N - 1) / (t^2 p (1 - p))).
double leveugle_sample_size(double population, double margin, double t = 1.96, double p = 0.5);
// The margin that n uniform draws give: t * sqrt(p (1 - p) / n * (N - n) / (N - 1)).
double leveugle_margin(double population, double n, double t = 1.96, double p = 0.5);

}  // namespace isimdl
