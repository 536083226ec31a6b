#pragma once
// Applies a PoolPlan through the API, writing only what the plan lists, in an order that keeps
// every intermediate state safe:
//   1. finalizers first: a pool holds no node before its cleanup is guaranteed;
//   2. node bindings, each a merge patch conditional on the resourceVersion the plan was made
//      from, so a node that changed meanwhile (another pool took it, another controller replica
//      wrote it) is never overwritten: the write fails with Conflict and the pool is re-planned
//      from fresh state instead of retried blindly;
//   2b. evictions of the pods that must leave nodes changing hands (policy/v1 Eviction, so
//      PodDisruptionBudgets hold; a refusal is retried by the next plan, not a failure), only for
//      pools whose node writes landed, so a node is tainted before it is emptied;
//   3. pool metadata and status, skipped for a pool whose node writes did not all land (its status
//      would describe bindings that do not exist), and finalizer removal only once every member is
//      unbound;
//   3b. ComputeQuota status (what the namespace's pools hold), after the node writes;
//   4. events, only for pools whose writes all landed.
// Every write (events included) first asks the write gate whether this replica still leads; once
// it says no, nothing further of the plan is written (issue 17: a plan made while leading but
// applied after the Lease was lost must not write beside the successor).

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "controller/reconcile/pool_planner.h"
#include "kube/client.h"
#include "kube/event_recorder.h"

namespace zhisuan::controller {

// Where events go: the kube EventRecorder in the binary, a list in tests.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Emit(const kube::ObjectReference& object, kube::EventType type,
                    std::string_view reason, std::string_view message) = 0;
};

class RecorderEventSink final : public EventSink {
 public:
  explicit RecorderEventSink(kube::EventRecorder& recorder) : recorder_(recorder) {}
  void Emit(const kube::ObjectReference& object, kube::EventType type, std::string_view reason,
            std::string_view message) override {
    recorder_.Record(object, type, reason, message);
  }

 private:
  kube::EventRecorder& recorder_;
};

struct ExecutionResult {
  int node_writes = 0;
  int evictions = 0;          // accepted by the API server
  int evictions_refused = 0;  // 429: a PodDisruptionBudget does not allow it now
  int pool_writes = 0;
  int quota_writes = 0;
  // ComputeQuotas whose status write failed: the pool is planned again with backoff.
  std::set<std::string> failed_quotas;
  // Pools to plan again at once: a write lost an optimistic-concurrency race (or its object
  // vanished), so the next plan, from fresh caches, will differ.
  std::set<std::string> conflicted_pools;
  // Pools whose writes failed otherwise (server down, forbidden): plan again with backoff.
  std::set<std::string> failed_pools;
  Status first_error;  // of the failures, for the log
  // The write gate closed during this plan: what was left of it was not written (those pools are
  // in failed_pools).
  bool lost_leadership = false;
  // resourceVersions the writes produced, by "nodes/<name>" and "computepools/<ns>/<name>", so
  // the caller can wait for its caches to catch up before planning again.
  std::map<std::string, std::string> written_versions;

  bool Complete() const {
    return conflicted_pools.empty() && failed_pools.empty() && failed_quotas.empty();
  }
};

// Whether a write may go out now: ControllerRunLoop::MayWrite in the binary (this replica leads
// and its Lease is fresh). Null means always.
using WriteGate = std::function<bool()>;

class PlanExecutor {
 public:
  // `events` may be null (no events). `may_write` is asked before every write. The field manager
  // names the writer in managedFields.
  PlanExecutor(kube::ApiClientPtr client, EventSink* events, WriteGate may_write = nullptr,
               std::string field_manager = "zhisuan-controller");

  ExecutionResult Execute(const PoolPlan& plan);

 private:
  // Each returns the resourceVersion written ("" when the object is gone).
  StatusOr<std::string> WritePoolMetadata(const PoolChange& change);
  StatusOr<std::string> WritePoolStatus(const PoolChange& change);
  StatusOr<std::string> WriteNode(const NodeChange& change);
  Status Evict(const PodEviction& eviction);
  void WarnIgnored(const IgnoredComputeNode& ignored);
  // OK when no Node carries the pool's binding label, read live rather than from the plan.
  Status CheckNoNodeCarriesBinding(const PoolChange& change);

  const kube::ApiClientPtr client_;
  EventSink* const events_;
  const WriteGate may_write_;
  const std::string field_manager_;
  std::mutex mu_;
  // The resourceVersion of each ComputeNode last warned about: a broken object is reported once
  // per version, not once per reconcile. Keyed by name so a node rewritten again and again holds
  // one entry, not one per version.
  std::map<std::string, std::string> warned_version_;
};

// The merge patches the executor sends; exposed for tests.
Json NodeBindingPatch(const NodeChange& change);
Json PoolMetadataPatch(const PoolChange& change);
Json PoolStatusPatch(const api::ComputePoolStatus& status);
Json QuotaStatusPatch(const QuotaChange& change);
Json EvictionBody(const PodEviction& eviction);

}  // namespace zhisuan::controller
