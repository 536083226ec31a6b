#pragma once
// Client-side request rate limit (QPS with a burst), as client-go applies it: a fleet of agents
// that all restart at once must not flatten the API server. A token bucket over an injected
// clock: Reserve() is pure bookkeeping and unit-tested on fake time; Wait() sleeps for real.

#include <chrono>
#include <mutex>

#include "common/clock.h"

namespace zhisuan::kube {

class TokenBucketRateLimiter {
 public:
  // qps <= 0 disables limiting. burst is at least 1.
  TokenBucketRateLimiter(double qps, int burst, ClockPtr clock);

  // Takes a token now or in the future and returns how long the caller must wait before using it
  // (zero when one was available). Reservations queue fairly: each is one token later.
  std::chrono::nanoseconds Reserve();

  // Reserve() and sleep for the answer.
  void Wait();

 private:
  const double qps_;
  const double burst_;
  const ClockPtr clock_;
  std::mutex mu_;
  double tokens_;    // may go negative: tokens already promised to waiting callers
  SteadyTime last_;  // when tokens_ was last brought up to date
};

}  // namespace zhisuan::kube
