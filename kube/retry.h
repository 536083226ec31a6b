#pragma once
// When the REST client tries a request again, decided by a pure function so the policy is
// unit-tested rather than discovered in production; and RetryOnConflict for read-modify-write
// callers. The policy (also in docs/kube-client.md):
//   - 429, and any 5xx that carries Retry-After: the server did not act; retry every verb, waiting
//     Retry-After (capped) or the backoff.
//   - other 5xx and timeouts: the server may have acted; retry only idempotent requests (GET, PUT,
//     DELETE, merge and apply patches), never a create or a JSON/strategic patch.
//   - connection failures before the request was sent (refused, DNS, TLS handshake): retry every
//     verb; after it was sent (reset mid-response): idempotent requests only.
//   - certificate verification failures and every 4xx but 429: never.

#include <chrono>
#include <functional>
#include <optional>

#include "common/status.h"
#include "kube/backoff.h"

namespace zhisuan::kube {

struct AttemptOutcome {
  int http_status = 0;  // 0: no HTTP response (transport failure)
  // Transport failures only: whether the request may have reached the server.
  bool request_sent = true;
  bool timed_out = false;
  bool tls_verification_failed = false;
  std::optional<std::chrono::seconds> retry_after;
};

inline constexpr std::chrono::seconds kMaxRetryAfter{30};

// How long to wait before attempt `attempt + 1`, or nullopt to give up and return the failure.
// `attempt` is 0-based; at most `max_attempts` attempts are made in all.
std::optional<std::chrono::milliseconds> RetryDelay(const AttemptOutcome& outcome, bool idempotent,
                                                    int attempt, int max_attempts,
                                                    Backoff& backoff);

// Runs `fn` until it returns something other than a conflict (409 Conflict: someone else wrote the
// object between our read and write), at most `attempts` times, sleeping briefly between tries.
// `fn` must re-read the object each time. Returns the last status.
Status RetryOnConflict(const std::function<Status()>& fn, int attempts = 5);
// Same, with the sleep injected (tests pass one that records instead of sleeping).
Status RetryOnConflict(const std::function<Status()>& fn, int attempts,
                       const std::function<void(std::chrono::milliseconds)>& sleep);

}  // namespace zhisuan::kube
