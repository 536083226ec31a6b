#pragma once
// An in-memory Kubernetes API server behind the ApiClient interface, for unit tests of everything
// written against ApiClient (informers, leader election, events, the agent's publisher, the
// controller). It keeps the semantics those components depend on:
//   - one global, increasing resourceVersion; optimistic concurrency on Update/Patch (409 Conflict)
//   - watches that replay history from a resourceVersion, honour label/field selectors (an object
//     leaving the selection is a DELETED event), send bookmarks on request, and answer a compacted
//     resourceVersion with a 410 ERROR event, as the real server does
//   - finalizers: Delete sets deletionTimestamp; the object goes once its finalizers are removed
//   - a status subresource for the types that have one (Update leaves status alone, UpdateStatus
//     touches only status)
// Faults are injected per verb (fail the next List with 500), per open watch (break it, close it,
// expire it with 410), or globally (compact history). Thread-safe; Next() blocks on a condition
// variable, so tests never sleep to wait for events.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kube/client.h"

namespace zhisuan::kube {

class FakeApiClient final : public ApiClient {
 public:
  enum class Verb { kGet, kList, kCreate, kUpdate, kUpdateStatus, kDelete, kPatch, kWatch };

  // One call as the fake received it, for assertions on how a component talks to the server.
  struct Request {
    Verb verb;
    std::string resource;  // "nodes", "leases.coordination.k8s.io"
    std::string ns;
    std::string name;
    ListOptions options;  // List and Watch
    Json body;            // Create, Update, UpdateStatus, Patch
  };

  // Runs before every call with the fake's lock released; a returned non-OK status fails the call.
  // Lets a test interleave a competing write, or fail calls selectively.
  using Reactor = std::function<Status(const Request&)>;

  FakeApiClient();
  ~FakeApiClient() override;
  FakeApiClient(const FakeApiClient&) = delete;
  FakeApiClient& operator=(const FakeApiClient&) = delete;

  // ApiClient.
  StatusOr<Json> Get(const ResourceType& type, std::string_view ns, std::string_view name) override;
  StatusOr<ObjectList> List(const ResourceType& type, std::string_view ns,
                            const ListOptions& options) override;
  StatusOr<Json> Create(const ResourceType& type, std::string_view ns, const Json& object) override;
  // Only "eviction" (recorded as a create of "pods/eviction"): deletes the object, honouring the
  // uid precondition in the Eviction's deleteOptions. PodDisruptionBudgets are not modelled; a
  // test injects the 429 (InjectError(kCreate, ..., "pods/eviction")).
  StatusOr<Json> CreateSubresource(const ResourceType& type, std::string_view ns,
                                   std::string_view name, std::string_view subresource,
                                   const Json& object) override;
  StatusOr<Json> Update(const ResourceType& type, const Json& object) override;
  StatusOr<Json> UpdateStatus(const ResourceType& type, const Json& object) override;
  Status Delete(const ResourceType& type, std::string_view ns, std::string_view name,
                const DeleteOptions& options = {}) override;
  StatusOr<Json> Patch(const ResourceType& type, std::string_view ns, std::string_view name,
                       PatchType patch_type, const Json& patch,
                       const PatchOptions& options = {}) override;
  StatusOr<WatchStreamPtr> Watch(const ResourceType& type, std::string_view ns,
                                 const ListOptions& options) override;

  // --- Faults ---
  // The next `times` calls of `verb` (on `resource` if given, as in Request::resource) fail.
  void InjectError(Verb verb, Status status, int times = 1, std::string resource = "");
  void SetReactor(Reactor reactor);
  // The next Watch call opens, but its first event is a 410 Expired ERROR, then it ends.
  void ExpireNextWatch();
  // Forgets history up to now: any older resourceVersion is gone (410), as after etcd compaction.
  void Compact();
  // Open watches of `type`: Next() returns `status` (a broken connection).
  void BreakWatches(const ResourceType& type, Status status = UnavailableError("connection reset"));
  // Open watches of `type` end cleanly (Next() returns nullopt), as when timeoutSeconds elapses.
  void CloseWatches(const ResourceType& type);
  // Open watches of `type` receive a 410 ERROR event, then end.
  void ExpireWatches(const ResourceType& type);
  // Open watches of `type` that asked for bookmarks receive one at the current resourceVersion.
  void SendBookmarks(const ResourceType& type);
  // While paused, mutations still happen but open watches of `type` receive nothing (the events
  // are lost to them, as to a client partitioned from the server). New watches replay normally.
  void PauseWatchDelivery(const ResourceType& type, bool paused);

  // --- Inspection (bypasses faults and is not recorded) ---
  std::optional<Json> Peek(const ResourceType& type, std::string_view ns,
                           std::string_view name) const;
  std::vector<Json> Objects(const ResourceType& type, std::string_view ns = "") const;
  int64_t CurrentResourceVersion() const;
  std::vector<Request> Requests() const;
  int CallCount(Verb verb) const;
  size_t OpenWatchCount(const ResourceType& type) const;
  // Blocks (real time) until at least `count` watches of `type` are open; false on timeout.
  bool WaitForOpenWatches(const ResourceType& type, size_t count,
                          std::chrono::milliseconds timeout) const;
  // Blocks (real time) until at least `count` calls of `verb` were made; false on timeout.
  bool WaitForCalls(Verb verb, int count, std::chrono::milliseconds timeout) const;

  // Types whose status is a subresource (default: nodes, pods, computenodes, computepools).
  void SetStatusSubresource(const ResourceType& type, bool has_status);
  // Applied to every created or updated object of `type` before it is stored, as a real server
  // drops the fields of a feature gate that is off, or fills in defaults. Runs with the fake's
  // lock held: it must not call the fake.
  using WriteMutator = std::function<void(Json&)>;
  void SetWriteMutator(const ResourceType& type, WriteMutator mutator);

  class Channel;  // one open watch; public so the stream type in the .cc can name it

 private:
  struct InjectedError {
    Verb verb;
    std::string resource;
    Status status;
    int remaining;
  };
  struct HistoryEntry {
    int64_t resource_version;
    std::string resource;
    WatchEvent::Type type;
    Json object;
    std::optional<Json> previous;  // the object before a modification, for selector transitions
  };

  Status BeginCall(const Request& request);
  std::string NextResourceVersion();
  std::map<std::string, Json>& Bucket(const ResourceType& type);
  // Records a change and delivers it to open watches. Caller holds mu_.
  void Publish(const ResourceType& type, WatchEvent::Type event_type, const Json& object,
               const std::optional<Json>& previous);
  StatusOr<Json> StoreUpdate(const ResourceType& type, Json updated, const Json& existing,
                             const std::string& key);
  StatusOr<Json> UpdateLocked(const ResourceType& type, const Json& object, bool status_only);
  StatusOr<Json> CreateLocked(const ResourceType& type, std::string_view ns, Json object);
  bool HasStatusSubresource(const ResourceType& type) const;
  void MutateOnWrite(const ResourceType& type, Json& object) const;  // caller holds mu_
  void PruneChannels();

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  int64_t resource_version_ = 100;
  int64_t compacted_resource_version_ = 0;
  int64_t next_uid_ = 1;
  std::map<std::string, std::map<std::string, Json>> objects_;  // resource -> key -> object
  std::vector<HistoryEntry> history_;
  std::vector<std::shared_ptr<Channel>> channels_;
  std::vector<InjectedError> errors_;
  std::vector<Request> requests_;
  std::set<std::string> paused_resources_;
  std::set<std::string> status_subresources_;
  std::map<std::string, WriteMutator> write_mutators_;  // by resource name
  Reactor reactor_;
  bool expire_next_watch_ = false;
};

// "nodes" or "leases.coordination.k8s.io": how Request::resource and InjectError name a type.
std::string ResourceName(const ResourceType& type);

// Whether `labels` (metadata.labels) satisfy `selector`: comma-separated terms "k=v", "k==v",
// "k!=v", "k" (exists) and "!k" (absent).
bool MatchesLabelSelector(const Json& labels, std::string_view selector);

}  // namespace zhisuan::kube
