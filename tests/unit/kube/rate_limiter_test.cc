#include "kube/rate_limiter.h"

#include <gtest/gtest.h>

namespace zhisuan::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

TEST(TokenBucketRateLimiter, BurstIsFreeThenOneTokenPerInterval) {
  auto clock = std::make_shared<FakeClock>();
  TokenBucketRateLimiter limiter(/*qps=*/10, /*burst=*/3, clock);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Reserve(), nanoseconds(0)) << i;
  // Reservations queue: the 4th waits one interval, the 5th two.
  EXPECT_EQ(limiter.Reserve(), milliseconds(100));
  EXPECT_EQ(limiter.Reserve(), milliseconds(200));
  clock->Advance(milliseconds(200));
  // Both promised tokens have now been paid for; the next one waits a full interval again.
  EXPECT_EQ(limiter.Reserve(), milliseconds(100));
}

TEST(TokenBucketRateLimiter, RefillsOverTimeButNeverBeyondTheBurst) {
  auto clock = std::make_shared<FakeClock>();
  TokenBucketRateLimiter limiter(/*qps=*/5, /*burst=*/2, clock);
  EXPECT_EQ(limiter.Reserve(), nanoseconds(0));
  EXPECT_EQ(limiter.Reserve(), nanoseconds(0));
  clock->Advance(std::chrono::hours(1));
  EXPECT_EQ(limiter.Reserve(), nanoseconds(0));
  EXPECT_EQ(limiter.Reserve(), nanoseconds(0));
  EXPECT_EQ(limiter.Reserve(), milliseconds(200));
}

TEST(TokenBucketRateLimiter, ZeroQpsMeansUnlimited) {
  auto clock = std::make_shared<FakeClock>();
  TokenBucketRateLimiter limiter(0, 1, clock);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(limiter.Reserve(), nanoseconds(0));
}

TEST(TokenBucketRateLimiter, SustainedRateMatchesQps) {
  auto clock = std::make_shared<FakeClock>();
  TokenBucketRateLimiter limiter(/*qps=*/50, /*burst=*/1, clock);
  // 51 callers at once: the first goes now, the last one second later.
  nanoseconds last{0};
  for (int i = 0; i < 51; ++i) last = limiter.Reserve();
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(last), milliseconds(1000));
}

}  // namespace
}  // namespace zhisuan::kube
