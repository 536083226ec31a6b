#include "kube/retry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kube/backoff.h"
#include "kube/client.h"

namespace zhisuan::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Backoff NoJitter() {
  return Backoff(BackoffPolicy{milliseconds(200), milliseconds(5000), 2.0, 0.0});
}

AttemptOutcome Http(int status, std::optional<seconds> retry_after = std::nullopt) {
  AttemptOutcome outcome;
  outcome.http_status = status;
  outcome.retry_after = retry_after;
  return outcome;
}

AttemptOutcome Transport(bool sent) {
  AttemptOutcome outcome;
  outcome.request_sent = sent;
  return outcome;
}

TEST(RetryDelay, TooManyRequestsHonoursRetryAfterForEveryVerb) {
  Backoff backoff = NoJitter();
  EXPECT_EQ(RetryDelay(Http(429, seconds(3)), /*idempotent=*/false, 0, 5, backoff), seconds(3));
  EXPECT_EQ(RetryDelay(Http(429), false, 0, 5, backoff), milliseconds(200));
  EXPECT_EQ(RetryDelay(Http(429), false, 2, 5, backoff), milliseconds(800));
  // A server asking for an hour is capped.
  EXPECT_EQ(RetryDelay(Http(429, seconds(3600)), true, 0, 5, backoff), kMaxRetryAfter);
}

TEST(RetryDelay, ServerErrorsRetryOnlyIdempotentRequestsUnlessTheServerAsks) {
  Backoff backoff = NoJitter();
  EXPECT_EQ(RetryDelay(Http(503), true, 0, 5, backoff), milliseconds(200));
  EXPECT_EQ(RetryDelay(Http(500), false, 0, 5, backoff), std::nullopt);
  EXPECT_EQ(RetryDelay(Http(504), false, 0, 5, backoff), std::nullopt);
  EXPECT_EQ(RetryDelay(Http(503, seconds(1)), false, 0, 5, backoff), seconds(1));
}

TEST(RetryDelay, ConnectionFailuresRetryCreatesOnlyWhenNothingWasSent) {
  Backoff backoff = NoJitter();
  EXPECT_EQ(RetryDelay(Transport(/*sent=*/false), false, 0, 5, backoff), milliseconds(200));
  EXPECT_EQ(RetryDelay(Transport(/*sent=*/true), false, 0, 5, backoff), std::nullopt);
  EXPECT_EQ(RetryDelay(Transport(/*sent=*/true), true, 1, 5, backoff), milliseconds(400));
  AttemptOutcome bad_certificate = Transport(false);
  bad_certificate.tls_verification_failed = true;
  EXPECT_EQ(RetryDelay(bad_certificate, true, 0, 5, backoff), std::nullopt);
}

TEST(RetryDelay, ClientErrorsAreNeverRetriedAndAttemptsAreBounded) {
  Backoff backoff = NoJitter();
  for (int status : {400, 401, 403, 404, 409, 410, 422}) {
    EXPECT_EQ(RetryDelay(Http(status), true, 0, 5, backoff), std::nullopt) << status;
  }
  EXPECT_NE(RetryDelay(Http(503), true, 3, 5, backoff), std::nullopt);
  EXPECT_EQ(RetryDelay(Http(503), true, 4, 5, backoff), std::nullopt);
  EXPECT_EQ(RetryDelay(Http(503), true, 0, 1, backoff), std::nullopt);
}

TEST(RetryOnConflict, RetriesConflictsUntilSuccess) {
  std::vector<milliseconds> sleeps;
  int calls = 0;
  Status status = RetryOnConflict(
      [&] {
        ++calls;
        return calls < 3 ? AbortedError("the object has been modified") : OkStatus();
      },
      5, [&](milliseconds delay) { sleeps.push_back(delay); });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(sleeps.size(), 2u);
  for (milliseconds delay : sleeps) EXPECT_LE(delay, milliseconds(100));
}

TEST(RetryOnConflict, GivesUpAfterTheAttemptsAndPassesOtherErrorsThrough) {
  int calls = 0;
  auto no_sleep = [](milliseconds) {};
  Status exhausted = RetryOnConflict(
      [&] {
        ++calls;
        return AbortedError("conflict");
      },
      4, no_sleep);
  EXPECT_TRUE(IsConflict(exhausted));
  EXPECT_EQ(calls, 4);
  calls = 0;
  Status other = RetryOnConflict(
      [&] {
        ++calls;
        return NotFoundError("gone");
      },
      4, no_sleep);
  EXPECT_TRUE(IsNotFound(other));
  EXPECT_EQ(calls, 1);
}

TEST(Backoff, ExponentialCappedAndDeterministicPerSeed) {
  Backoff exact(BackoffPolicy{milliseconds(100), milliseconds(1000), 2.0, 0.0});
  EXPECT_EQ(exact.Next(), milliseconds(100));
  EXPECT_EQ(exact.Next(), milliseconds(200));
  EXPECT_EQ(exact.Next(), milliseconds(400));
  EXPECT_EQ(exact.Next(), milliseconds(800));
  EXPECT_EQ(exact.Next(), milliseconds(1000));
  EXPECT_EQ(exact.Delay(1000), milliseconds(1000));
  exact.Reset();
  EXPECT_EQ(exact.Next(), milliseconds(100));
  Backoff a(BackoffPolicy{}, 7), b(BackoffPolicy{}, 7);
  for (int i = 0; i < 10; ++i) {
    const milliseconds delay = a.Delay(i);
    EXPECT_EQ(delay, b.Delay(i));
    EXPECT_LE(delay, std::min(milliseconds(30'000), milliseconds(200) * (1 << i)));
  }
}

}  // namespace
}  // namespace zhisuan::kube
