#pragma once
// Exponential backoff with full jitter, shared by REST retries, informer reconnects and the work
// queue's per-key rate limiting. Jitter spreads a fleet of agents that all lost the API server at
// the same instant, so they do not return in one thundering herd.

#include <chrono>
#include <cstdint>
#include <random>

namespace zhisuan::kube {

struct BackoffPolicy {
  std::chrono::milliseconds initial{200};
  std::chrono::milliseconds max{30'000};
  double multiplier = 2.0;
  // 0: always the exponential value; 1: uniformly random in [0, value] ("full jitter").
  double jitter = 1.0;
};

class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy = {}, uint64_t seed = std::random_device{}());

  // The delay before attempt number `attempt` (0-based): min(max, initial * multiplier^attempt),
  // jittered. Deterministic for a given seed.
  std::chrono::milliseconds Delay(int attempt);
  // The delay for the next failure in a sequence; Reset() after a success.
  std::chrono::milliseconds Next() { return Delay(attempt_++); }
  void Reset() { attempt_ = 0; }
  int attempt() const { return attempt_; }

 private:
  BackoffPolicy policy_;
  std::mt19937_64 random_;
  int attempt_ = 0;
};

}  // namespace zhisuan::kube
