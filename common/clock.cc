#include "common/clock.h"

namespace zhisuan {

ClockPtr SystemClock() {
  static const ClockPtr clock = std::make_shared<RealClock>();
  return clock;
}

// Start at a fixed, recognisable instant so failures in time arithmetic are reproducible.
FakeClock::FakeClock()
    : steady_(std::chrono::hours(1000)), wall_(std::chrono::seconds(1'800'000'000)) {}

SteadyTime FakeClock::Now() const {
  std::lock_guard lock(mu_);
  return steady_;
}

WallTime FakeClock::WallNow() const {
  std::lock_guard lock(mu_);
  return wall_;
}

void FakeClock::Advance(std::chrono::nanoseconds by) {
  std::lock_guard lock(mu_);
  steady_ += by;
  wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(by);
}

}  // namespace zhisuan
