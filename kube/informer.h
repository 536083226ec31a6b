#pragma once
// An informer keeps a local cache of one resource type in step with the API server and tells
// handlers what changed: list (paged, each page applied as it arrives), then watch from the list's
// resourceVersion. The protocol details it gets right:
//   - bookmarks advance the resourceVersion, so a reconnect resumes without replaying history
//   - a broken or closed watch resumes from the last resourceVersion after a jittered backoff
//     (no relist: on steady state a cluster of agents never lists again)
//   - 410 Gone (an ERROR event, or IsGone from Watch/List) means the history is compacted: relist,
//     diff against the cache and fire add/update/delete so handlers end at the true state,
//     including deletes that happened while disconnected
// Handlers run on the informer's own thread, one at a time, in event order. They must be quick:
// enqueue a key into a WorkQueue, do not call the API server.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "kube/backoff.h"
#include "kube/client.h"
#include "kube/store.h"

namespace zhisuan::kube {

struct InformerOptions {
  ResourceType type;
  std::string ns;  // "" for every namespace
  std::string label_selector;
  std::string field_selector;
  // Erase metadata.managedFields before caching: most consumers never read them, and on a Node
  // they are a large share of the object (bench/fleet measured the controller's RSS with it).
  bool drop_managed_fields = false;
  // What the store keeps of each object, when set. Handlers still get each object whole as it
  // arrives (on_add's object, on_update's new_object), but the store holds only the projection,
  // and so does everything read back from it: store().Get, indexes, on_update's old_object and
  // on_delete's object after a relist. For consumers that decode what they need on arrival and
  // would otherwise hold every object twice (bench/fleet: the controller at 5,000 nodes held
  // ~130 MiB of Node and ComputeNode JSON it had already decoded). The projection must keep
  // metadata.name, .namespace and .resourceVersion, which the informer itself reads.
  std::function<Json(const Json&)> project_for_store;
  // Page size of the list; 0 lists everything in one response, read from the API server's watch
  // cache (resourceVersion "0", which ignores a limit anyway).
  int64_t page_size = 500;
  // Each watch asks the server to end it after a random time in [min, max], so a fleet of
  // informers does not reconnect in lockstep and the load balancer can rebalance connections.
  std::chrono::seconds min_watch_timeout{300};
  std::chrono::seconds max_watch_timeout{600};
  // Between failed attempts to list or watch (client-go: 800ms growing to 30s).
  BackoffPolicy reconnect_backoff{std::chrono::milliseconds(800), std::chrono::seconds(30), 2.0,
                                  1.0};
  // How often a backoff wait re-reads the clock; only matters for a clock that jumps (FakeClock).
  std::chrono::milliseconds clock_poll{1000};
  uint64_t seed = std::random_device{}();
};

struct ResourceEventHandlers {
  std::function<void(const ObjectPtr& object)> on_add;
  std::function<void(const ObjectPtr& old_object, const ObjectPtr& new_object)> on_update;
  // The last state the informer knew; after a relist that is older than the deletion itself.
  std::function<void(const ObjectPtr& object)> on_delete;
};

// Counters for dashboards and benchmarks ("no relist on steady state" reads relists()).
class InformerMetrics {
 public:
  uint64_t lists() const { return lists_.load(); }          // list requests, pages included
  uint64_t relists() const { return relists_.load(); }      // full lists after the initial one
  uint64_t watches() const { return watches_.load(); }      // watch requests
  uint64_t events() const { return events_.load(); }        // add/modify/delete events applied
  uint64_t bookmarks() const { return bookmarks_.load(); }  // bookmark events
  uint64_t failures() const { return failures_.load(); }    // failed lists, watches and streams

 private:
  friend class Informer;
  std::atomic<uint64_t> lists_{0}, relists_{0}, watches_{0}, events_{0}, bookmarks_{0},
      failures_{0};
};

class Informer {
 public:
  Informer(ApiClientPtr client, InformerOptions options, ClockPtr clock = SystemClock());
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Before Start.
  void AddEventHandlers(ResourceEventHandlers handlers);
  // Indexes may be added before Start (or later; they are built over the current cache).
  Store& store() { return store_; }
  const Store& store() const { return store_; }

  void Start();
  // Cancels the open watch and joins the thread. Idempotent.
  void Stop();

  // The first list has been applied and its handlers have run.
  bool HasSynced() const { return synced_.load(); }
  // Waits (real time: this is a wait for the server, not for simulated time) until synced.
  bool WaitForSync(std::chrono::milliseconds timeout) const;

  // The resourceVersion the next watch resumes from.
  std::string LastResourceVersion() const;
  const InformerMetrics& metrics() const { return metrics_; }

 private:
  enum class WatchOutcome { kStopped, kResume, kBackoffThenResume, kRelist };
  void Run();
  // Lists every page and brings cache and handlers to the listed state. OK or why it failed.
  Status ListAndSync(bool relist);
  WatchOutcome WatchOnce();
  void Apply(const WatchEvent& event);
  // By value: a relist moves each listed object into the cache instead of copying it.
  void ApplyUpsert(Json object);
  void ApplyDelete(const Json& object);
  void SetResourceVersion(std::string version);
  // Waits for the next backoff delay on the clock; false once stopping.
  bool BackoffWait();
  std::chrono::seconds RandomWatchTimeout();
  bool Stopping() const;

  const ApiClientPtr client_;
  const InformerOptions options_;
  const ClockPtr clock_;
  Store store_;
  std::vector<ResourceEventHandlers> handlers_;
  InformerMetrics metrics_;
  Backoff backoff_;
  std::mt19937_64 random_;
  std::thread thread_;

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  bool stopping_ = false;
  WatchStream* current_watch_ = nullptr;  // guarded by mu_, for Stop() to cancel
  std::string resource_version_;
  // After a list fails with 410, the next list reads from etcd (resourceVersion "") instead of
  // asking the watch cache for a version it no longer has.
  bool last_version_unavailable_ = false;
  std::atomic<bool> synced_{false};
};

}  // namespace zhisuan::kube
