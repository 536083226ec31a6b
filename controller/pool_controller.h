#pragma once
// The ComputePool reconcile loop: informers on ComputePools, Nodes and ComputeNodes fill caches;
// events map to the pools they affect and queue those pools' keys; workers take a key, snapshot
// the caches, plan (PlanPools, pure) and apply (PlanExecutor). Informers run on every replica so
// a new leader starts warm; workers run only while leading.
//
// Event mapping stays O(affected pools): a Node or ComputeNode change queues the pool its
// zhisuan.io/pool label names (found through an index on the pools' binding values), and, when
// the node is free, the pools last seen waiting for capacity that it could count for. Nothing
// scans every pool.
//
// A reconcile does not decode the caches: ObservationCache holds every object decoded once, when
// its event arrived, and a snapshot of it shares those objects instead of copying them (see
// observation_cache.h). Nothing else on the reconcile path is O(cluster) beyond the plan itself:
// the pool and supply gauges are refreshed from the cache once a second by a housekeeping thread
// (bench/controller: at 5,000 nodes refreshing them on every reconcile cost as much as planning).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "controller/claim_template_writer.h"
#include "controller/controller_metrics.h"
#include "controller/observation_cache.h"
#include "controller/orphan_sweeper.h"
#include "controller/plan_executor.h"
#include "controller/reconcile/pool_planner.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "kube/workqueue.h"

namespace zhisuan::controller {

struct PoolControllerOptions {
  int workers = 2;
  PlannerConfig planner;
  // How often, while leading and when the cache changed, the pool and supply gauges are
  // refreshed and freed heap is handed back to the OS (see Housekeeping).
  std::chrono::milliseconds housekeeping_interval{1000};
  // Asked before every write (ControllerRunLoop::MayWrite: still leading); null means always.
  WriteGate may_write;
  // How often, while leading, nodes bound to a pool that no longer exists are looked for and
  // released (orphan_sweeper.h); also right after a pool is deleted. Zero turns the sweep off.
  std::chrono::milliseconds orphan_sweep_interval{60000};
  // Which pods are agents, when their readiness decides whether a node counts
  // (PlannerConfig::require_ready_agent); nullopt observes none.
  std::optional<AgentPodSelector> agent_pods;
};

class PoolController {
 public:
  // `events` and `metrics` may be null.
  PoolController(const kube::ApiClientPtr& client, EventSink* events, ControllerMetrics* metrics,
                 PoolControllerOptions options, ClockPtr clock = SystemClock());
  ~PoolController();
  PoolController(const PoolController&) = delete;
  PoolController& operator=(const PoolController&) = delete;

  // Starts the informers (every replica).
  void StartInformers();
  bool WaitForSync(std::chrono::milliseconds timeout) const;
  bool HasSynced() const;
  // Starts the workers and queues every pool (on becoming leader).
  void StartWorkers();
  // Stops workers and informers; idempotent.
  void Stop();

  // One reconcile of one pool key; public for tests that drive the loop by hand.
  void Reconcile(const std::string& pool_key);
  // --dra: the pool's ResourceClaimTemplate (claim_template_writer.h); false when a write failed.
  bool EnsureClaimTemplate(const ClusterSnapshot& snapshot, const std::string& pool_key);
  size_t QueueDepth() const { return queue_.Len(); }
  // The ComputePool informer's stored copy ("ns/name"), null when absent; for tests.
  kube::ObjectPtr StoredPool(const std::string& key) const { return pools_.store().Get(key); }

 private:
  // With --dra: watches the templates claim_templates_ keeps (claim_template_watch_).
  void WatchClaimTemplates();
  void Work();
  // Every options_.housekeeping_interval until Stop, when the cache changed: refreshes the
  // cluster gauges and returns freed heap to the OS.
  void Housekeeping();
  // Every options_.orphan_sweep_interval (or sooner, when RequestSweep asks) until Stop: releases
  // the nodes of pools that are gone.
  void SweepOrphans();
  void RequestSweep();
  void OnNodeChange(const kube::ObjectPtr& old_node, const kube::ObjectPtr& new_node);
  void OnComputeNodeChange(const kube::ObjectPtr& compute_node);
  // Queues the pool `node` is bound to, if any: a pod came or went there (a drain may be over).
  void OnPodChange(const std::string& node);
  // As OnPodChange, and for a free node the waiting pools too: its agent's readiness decides
  // whether it is eligible at all.
  void OnAgentChange(const std::string& node);
  // Queues every pool of the quota's namespace: a new limit may hold one back or let it grow, and
  // the quota's status.used is written when one of them is planned.
  void OnQuotaChange(const kube::ObjectPtr& quota);
  void EnqueueBinding(const std::string& binding);
  // Queues, after `delay`, the waiting pools that node `node_name` could count for (delayed adds
  // of one key coalesce).
  void EnqueueWaitingPools(const std::string& node_name, std::chrono::milliseconds delay);
  ClusterSnapshot Snapshot() const;
  // True when the caches have not yet caught up with a write this controller made, so a plan
  // now would be made from state older than our own writes.
  bool CachesBehindOurWrites();

  const kube::ApiClientPtr client_;
  ControllerMetrics* const metrics_;
  const PoolControllerOptions options_;
  const ClockPtr clock_;
  PlanExecutor executor_;
  ClaimTemplateWriter claim_templates_;  // used with --dra (planner.dra_claim_templates)
  OrphanSweeper orphans_;
  kube::Informer pools_;
  kube::Informer nodes_;
  kube::Informer compute_nodes_;
  kube::Informer pods_;    // bound to a node (spec.nodeName!=), for drains
  kube::Informer quotas_;  // ComputeQuotas (all namespaces)
  // With --dra: the templates claim_templates_ keeps (by label), so that one deleted behind the
  // controller's back is put back at once. Null without --dra (resource.k8s.io/v1 may be absent).
  std::unique_ptr<kube::Informer> claim_template_watch_;
  // The caches decoded, kept by the informers' first handlers; reconciles plan from it.
  ObservationCache observations_;
  kube::WorkQueue queue_;

  std::mutex mu_;
  std::set<std::string> waiting_pools_;
  // resourceVersions our writes produced, by "nodes/<name>" or "computepools/<ns>/<name>".
  std::map<std::string, int64_t> expected_versions_;
  std::vector<std::thread> workers_;
  std::thread housekeeper_;
  std::thread sweeper_;
  std::condition_variable stopping_;  // wakes the housekeeper and the sweeper on Stop
  bool sweep_requested_ = false;
  bool workers_started_ = false;
  bool stopped_ = false;
};

}  // namespace zhisuan::controller
