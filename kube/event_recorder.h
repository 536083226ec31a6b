#pragma once
// Records core/v1 Events about objects ("ComputeNode gpu-7: DeviceUnhealthy") the way client-go's
// recorder does, so `kubectl describe` shows them and the API server is not flooded:
//   - repeats of the same (object, type, reason, message) within the aggregation window patch
//     count and lastTimestamp on the one existing Event instead of creating new ones
//   - a token bucket per object drops floods (a flapping device must not write 100 Events/s)
//   - writes happen on a worker thread, so Record() never blocks a reconcile on the API server
// Events are best effort by design: failures are logged and counted, never returned.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "common/clock.h"
#include "kube/client.h"

namespace zhisuan::kube {

// What an Event is about (core/v1 ObjectReference).
struct ObjectReference {
  std::string api_version;
  std::string kind;
  std::string ns;  // "" for cluster-scoped objects; their Events go to "default"
  std::string name;
  std::string uid;
};

// The reference to `object` (apiVersion, kind, metadata.namespace/name/uid).
ObjectReference ReferenceTo(const Json& object);

enum class EventType { kNormal, kWarning };

struct EventRecorderOptions {
  // Repeats within this window aggregate into one Event (client-go: 10 minutes).
  std::chrono::seconds aggregation_window{600};
  // Per object: a burst of 25, then one Event every 5 minutes (client-go's defaults).
  int per_object_burst = 25;
  double per_object_qps = 1.0 / 300.0;
  // Events waiting for the worker; beyond this, new ones are dropped rather than queued without
  // bound while the API server is down.
  size_t max_pending = 1000;
  // Aggregation entries remembered (least recently used forgotten first).
  size_t max_aggregation_entries = 4096;
};

class EventRecorder {
 public:
  // `component` is the reporter ("zhisuan-controller"); `host` is its instance (node or pod).
  EventRecorder(ApiClientPtr client, std::string component, std::string host,
                EventRecorderOptions options = {}, ClockPtr clock = SystemClock());
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // Queues an Event; returns at once. Dropped when the object's rate limit is spent, the queue is
  // full, or the recorder is stopped.
  void Record(const ObjectReference& object, EventType type, std::string_view reason,
              std::string_view message);

  // Blocks until everything recorded so far has been written (or failed).
  void Flush();
  // Writes what is queued, then stops the worker. Idempotent; later Record() calls are dropped.
  void Stop();

  uint64_t created() const;
  uint64_t patched() const;
  uint64_t dropped() const;  // rate-limited, queue full, or after Stop
  uint64_t failed() const;   // the API server refused or was unreachable

 private:
  struct Pending {
    ObjectReference object;
    EventType type;
    std::string reason;
    std::string message;
    WallTime wall_time;
    SteadyTime time;
  };
  struct Aggregate {
    std::string ns;
    std::string name;
    int64_t count = 0;
    SteadyTime last_seen;
    std::string first_timestamp;
    std::list<std::string>::iterator recency;
  };
  struct Bucket {
    double tokens;
    SteadyTime updated;
  };
  void Work();
  void Write(const Pending& pending);
  bool TakeToken(const std::string& object_key, SteadyTime now);

  const ApiClientPtr client_;
  const std::string component_;
  const std::string host_;
  const EventRecorderOptions options_;
  const ClockPtr clock_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable idle_cv_;
  std::deque<Pending> pending_;
  bool writing_ = false;
  bool stopping_ = false;
  bool worker_done_ = false;
  std::unordered_map<std::string, Bucket> buckets_;
  uint64_t created_ = 0, patched_ = 0, dropped_ = 0, failed_ = 0;
  uint64_t name_sequence_ = 0;

  // Worker-only state.
  std::unordered_map<std::string, Aggregate> aggregates_;
  std::list<std::string> recency_;  // most recent first
  std::thread worker_;
};

}  // namespace zhisuan::kube
