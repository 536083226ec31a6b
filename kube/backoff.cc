#include "kube/backoff.h"

#include <algorithm>
#include <cmath>

namespace zhisuan::kube {

Backoff::Backoff(BackoffPolicy policy, uint64_t seed) : policy_(policy), random_(seed) {}

std::chrono::milliseconds Backoff::Delay(int attempt) {
  const double initial = static_cast<double>(policy_.initial.count());
  const double cap = static_cast<double>(policy_.max.count());
  // Cap the exponent before pow so a long outage cannot overflow to inf.
  const double exponential =
      std::min(cap, initial * std::pow(policy_.multiplier, std::clamp(attempt, 0, 64)));
  const double jitter = std::clamp(policy_.jitter, 0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double delay = exponential * (1.0 - jitter * unit(random_));
  return std::chrono::milliseconds(static_cast<int64_t>(std::max(0.0, delay)));
}

}  // namespace zhisuan::kube
