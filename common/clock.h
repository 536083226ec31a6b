#pragma once
// Time is injected everywhere it matters (health hysteresis, backoff, leases, reconcile), so tests
// run on simulated time instead of sleeping.

#include <chrono>
#include <memory>
#include <mutex>

namespace zhisuan {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime Now() const = 0;
  virtual WallTime WallNow() const = 0;
};
using ClockPtr = std::shared_ptr<Clock>;

class RealClock final : public Clock {
 public:
  SteadyTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
};

// The process-wide real clock.
ClockPtr SystemClock();

// A clock tests advance by hand. Thread-safe.
class FakeClock final : public Clock {
 public:
  FakeClock();
  SteadyTime Now() const override;
  WallTime WallNow() const override;
  void Advance(std::chrono::nanoseconds by);

 private:
  mutable std::mutex mu_;
  SteadyTime steady_;
  WallTime wall_;
};

}  // namespace zhisuan
