#pragma once
// A work queue of object keys with client-go's semantics, which reconcilers depend on:
//   - a key is queued at most once, however often it is added before a worker takes it
//   - a key being processed is never handed to a second worker; added again meanwhile, it is
//     queued once more when the first worker calls Done
//   - delayed adds (AddAfter) and rate-limited adds (AddRateLimited: per-key exponential backoff,
//     capped overall by a token bucket so a storm of failures cannot hammer the API server)
// Time comes from the injected Clock; Get() itself waits for the earliest delayed key, so there is
// no timer thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "kube/backoff.h"

namespace zhisuan::kube {

struct WorkQueueOptions {
  // Per-key backoff for AddRateLimited; client-go's defaults (5ms doubling to 1000s). Jitter off
  // by default so a key's delay is predictable from NumRequeues.
  BackoffPolicy per_key_backoff{std::chrono::milliseconds(5), std::chrono::seconds(1000), 2.0, 0.0};
  // Overall token bucket for AddRateLimited (client-go: 10 per second, burst 100). A key waits for
  // the larger of its own backoff and the bucket's delay. qps <= 0 disables the bucket.
  double overall_qps = 10.0;
  int overall_burst = 100;
  // How often a waiting Get() re-reads the clock while a delayed key is pending: only a clock that
  // jumps (FakeClock) needs this, as the real clock's wait ends exactly on time.
  std::chrono::milliseconds clock_poll{1000};
};

class WorkQueue {
 public:
  explicit WorkQueue(WorkQueueOptions options = {}, ClockPtr clock = SystemClock());
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `key` unless it is already queued. Ignored after shutdown.
  void Add(const std::string& key);
  // Adds `key` once `delay` has passed on the clock; an earlier pending delay for the same key
  // wins.
  void AddAfter(const std::string& key, std::chrono::nanoseconds delay);
  // Adds `key` after its backoff: initial * multiplier^NumRequeues(key), or later if the overall
  // bucket is empty. Counts one more requeue.
  void AddRateLimited(const std::string& key);
  // The key succeeded: reset its backoff.
  void Forget(const std::string& key);
  int NumRequeues(const std::string& key) const;

  // Blocks until a key is ready and returns it, marking it in process until Done(key). After
  // ShutDown, keys still queued are handed out; then nullopt.
  std::optional<std::string> Get();
  void Done(const std::string& key);

  // Stops accepting keys, drops delayed ones and wakes every waiting Get().
  void ShutDown();
  // ShutDown, then blocks until every key handed out has been marked Done.
  void ShutDownWithDrain();
  bool ShuttingDown() const;

  // Keys ready to be handed out (not counting delayed or in-process keys).
  size_t Len() const;

 private:
  void AddLocked(const std::string& key);
  void AddAfterLocked(const std::string& key, SteadyTime ready_at);
  // Moves delayed keys whose time has come into the queue; returns the earliest still waiting.
  std::optional<SteadyTime> PromoteReadyLocked(SteadyTime now);
  std::chrono::nanoseconds BucketDelayLocked(SteadyTime now);

  const WorkQueueOptions options_;
  const ClockPtr clock_;
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::condition_variable drained_;
  std::deque<std::string> queue_;
  std::unordered_set<std::string> dirty_;       // needs processing (queued or re-added in process)
  std::unordered_set<std::string> processing_;  // handed out, not yet Done
  // Delayed keys ordered by ready time; `delayed_ready_at_` holds each key's current time so a
  // superseded entry in the heap is recognised and skipped.
  using DelayedEntry = std::tuple<SteadyTime, uint64_t, std::string>;
  std::priority_queue<DelayedEntry, std::vector<DelayedEntry>, std::greater<>> delayed_;
  std::unordered_map<std::string, SteadyTime> delayed_ready_at_;
  uint64_t delayed_sequence_ = 0;
  std::unordered_map<std::string, int> requeues_;
  Backoff backoff_;
  double bucket_tokens_;
  SteadyTime bucket_updated_;
  bool shutting_down_ = false;
};

}  // namespace zhisuan::kube
