#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sampler/estimators.h"

namespace isimdl {

// A campaign's stopping rule (campaign.target_margin, relative_margin,
// until_critical; docs/sampling.md, "Stopping rules").
//
// The stop is decided only at a fixed schedule of looks, set before any
// fault runs: after 100, 200, 400, ... faults (doubling) and at the budget.
// With K looks for the budget, every look's interval is built at confidence
// 1 - alpha / K (Bonferroni): the K intervals then hold together with
// probability at least 1 - alpha, so the interval at whichever look the
// rule stops at holds at 1 - alpha, however the rule used the data.
struct StoppingRule {
  double margin = 0;      // stop when the half-width (relative: half-width / estimate) is at most this; 0 = off
  bool relative = false;
  std::int64_t critical = 0;  // stop when at least this many critical faults were found; 0 = off
  bool active() const { return margin > 0 || critical > 0; }
  // Whether an estimate of the critical rate at a look meets the rule.
  bool met(const Estimate& critical_rate) const;
  // Why it stopped, for the campaign's output.
  std::string reason(const Estimate& critical_rate) const;
};

inline constexpr std::int64_t kFirstLook = 100;

// The looks for a budget: kFirstLook * 2^k below the budget, then the budget.
std::vector<std::int64_t> look_schedule(std::int64_t budget);
// The per-look confidence of a rule over that schedule: 1 - (1 - confidence) / K.
double look_confidence(std::int64_t budget, double confidence = 0.95);

}  // namespace isimdl
