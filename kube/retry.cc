#include "kube/retry.h"

#include <algorithm>
#include <thread>

#include "kube/client.h"

namespace zhisuan::kube {

std::optional<std::chrono::milliseconds> RetryDelay(const AttemptOutcome& outcome, bool idempotent,
                                                    int attempt, int max_attempts,
                                                    Backoff& backoff) {
  if (attempt + 1 >= max_attempts) return std::nullopt;
  bool retry = false;
  bool server_asked = false;
  if (outcome.http_status == 0) {
    if (outcome.tls_verification_failed) return std::nullopt;
    retry = !outcome.request_sent || idempotent;
  } else if (outcome.http_status == 429) {
    retry = true;
    server_asked = true;
  } else if (outcome.http_status >= 500) {
    server_asked = outcome.retry_after.has_value();
    retry = server_asked || idempotent;
  }
  if (!retry) return std::nullopt;
  const std::chrono::milliseconds computed = backoff.Delay(attempt);
  if (server_asked && outcome.retry_after) {
    return std::chrono::milliseconds(
        std::clamp(*outcome.retry_after, std::chrono::seconds(0), kMaxRetryAfter));
  }
  return computed;
}

Status RetryOnConflict(const std::function<Status()>& fn, int attempts,
                       const std::function<void(std::chrono::milliseconds)>& sleep) {
  // Short and nearly flat, as client-go's DefaultRetry: conflicts clear as soon as we re-read.
  Backoff backoff(
      BackoffPolicy{std::chrono::milliseconds(10), std::chrono::milliseconds(100), 2.0, 0.5});
  Status status;
  for (int attempt = 0; attempt < std::max(1, attempts); ++attempt) {
    if (attempt > 0) sleep(backoff.Next());
    status = fn();
    if (!IsConflict(status)) return status;
  }
  return status;
}

Status RetryOnConflict(const std::function<Status()>& fn, int attempts) {
  return RetryOnConflict(
      fn, attempts, [](std::chrono::milliseconds delay) { std::this_thread::sleep_for(delay); });
}

}  // namespace zhisuan::kube
