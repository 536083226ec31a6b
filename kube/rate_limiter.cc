#include "kube/rate_limiter.h"

#include <algorithm>
#include <thread>

namespace zhisuan::kube {

TokenBucketRateLimiter::TokenBucketRateLimiter(double qps, int burst, ClockPtr clock)
    : qps_(qps),
      burst_(std::max(1, burst)),
      clock_(std::move(clock)),
      tokens_(burst_),
      last_(clock_->Now()) {}

std::chrono::nanoseconds TokenBucketRateLimiter::Reserve() {
  if (qps_ <= 0) return std::chrono::nanoseconds(0);
  std::lock_guard<std::mutex> lock(mu_);
  const SteadyTime now = clock_->Now();
  if (now > last_) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
    last_ = now;
  }
  tokens_ -= 1;
  if (tokens_ >= 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(static_cast<int64_t>(-tokens_ / qps_ * 1e9));
}

void TokenBucketRateLimiter::Wait() {
  const std::chrono::nanoseconds delay = Reserve();
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
}

}  // namespace zhisuan::kube
