#pragma once
// Waiting on an injected Clock. A condition variable waits in real time, but a FakeClock only moves
// when a test advances it, so a waiter re-reads the clock at least every `poll` to notice jumps.
// With the real clock the wait ends exactly at the deadline; the poll only adds rare wakeups.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "common/clock.h"

namespace zhisuan::kube {

// Waits until `clock` reaches `deadline` or `stop()` turns true (checked under `lock`, and on every
// notification of `cv`). Returns stop()'s final value, so callers can tell "stopped" from
// "deadline reached".
template <typename StopPredicate>
bool WaitUntilOnClock(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                      const Clock& clock, SteadyTime deadline, std::chrono::nanoseconds poll,
                      StopPredicate stop) {
  while (!stop()) {
    const SteadyTime now = clock.Now();
    if (now >= deadline) return false;
    const std::chrono::nanoseconds remaining = deadline - now;
    cv.wait_for(lock, std::min(remaining, poll));
  }
  return true;
}

}  // namespace zhisuan::kube
