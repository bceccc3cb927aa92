#include "sampler/stopping.h"

#include <fmt/format.h>

namespace isimdl {

bool StoppingRule::met(const Estimate& c) const {
  if (critical > 0 && c.nonzero >= critical) return true;
  if (margin > 0) {
    if (!relative) return c.half_width() <= margin;
    return c.value > 0 && c.half_width() <= margin * c.value;
  }
  return false;
}

std::string StoppingRule::reason(const Estimate& c) const {
  if (critical > 0 && c.nonzero >= critical) return fmt::format("{} critical faults found (at least {} wanted)", c.nonzero, critical);
  if (margin > 0 && relative)
    return fmt::format("interval half-width {:.3g} is {:.3g} of the estimate (at most {:.3g} wanted)", c.half_width(),
                       c.value > 0 ? c.half_width() / c.value : 0.0, margin);
  return fmt::format("interval half-width {:.3g} (at most {:.3g} wanted)", c.half_width(), margin);
}

std::vector<std::int64_t> look_schedule(std::int64_t budget) {
  std::vector<std::int64_t> looks;
  for (std::int64_t n = kFirstLook; n < budget; n *= 2) looks.push_back(n);
  if (budget > 0) looks.push_back(budget);
  return looks;
}

double look_confidence(std::int64_t budget, double confidence) {
  const double k = static_cast<double>(look_schedule(budget).size());
  return 1.0 - (1.0 - confidence) / std::max(1.0, k);
}

}  // namespace isimdl
