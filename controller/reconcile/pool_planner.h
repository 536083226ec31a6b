#pragma once
// The heart of the controller: a pure function from what the cluster looks like (pools, nodes,
// compute nodes, the time) to the smallest set of writes that moves it towards what the pools ask
// for. No I/O, no clock reads, no randomness: the same snapshot always gives the same plan, and a
// plan applied to its snapshot plans to nothing. docs/controller.md explains the semantics.
//
// PlanPools (plan_pools.cc) runs the stages, each in its own file: membership, placement,
// status_rollup, conditions and messages.

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "controller/reconcile/snapshot.h"

namespace zhisuan::controller {

// Hysteresis, so that a node hovering at a threshold or blinking NotReady does not churn pools.
struct PlannerConfig {
  // A member out of carbon policy stays this long before it is replaced...
  std::chrono::seconds carbon_grace{600};
  // ...unless it is this far beyond the policy, which replaces it at once. New nodes are admitted
  // only when they meet the policy exactly, so admission and eviction thresholds differ.
  double carbon_free_ratio_margin = 0.1;
  double carbon_intensity_margin = 50;  // gCO2e/kWh
  // A member that is not Ready or has an unhealthy accelerator stays this long before its capacity
  // is written off and a spare is sought.
  std::chrono::seconds health_grace{60};
  // Whether a node counts only while its agent pod is Ready (snapshot.h, AgentInfo): set when the
  // controller is told which pods are agents (--agent-pod-selector; the chart sets it). Off, a node
  // without any agent (the demo, tests that write ComputeNodes by hand) counts as before. A member
  // whose agent is not Ready, or that has none, is impaired as a NotReady node is (health_grace).
  bool require_ready_agent = false;
  // A node changing hands is drained first: the pods of other namespaces on it are evicted (PDBs
  // respected) for up to this long; then the NoExecute pool taint goes on anyway and the taint
  // manager deletes what is left (drain.h).
  std::chrono::seconds drain_timeout{300};
  // Pods in these namespaces are never drained (node-level daemons: the chart passes its release
  // namespace, kube-system and admissionPolicies.tolerationExemptNamespaces).
  std::set<std::string> drain_exempt_namespaces{"kube-system"};
  // --dra: each pool has a DRA ResourceClaimTemplate (claim_template.h), which its status names.
  bool dra_claim_templates = false;
};

// One pod to evict (policy/v1 Eviction, so PodDisruptionBudgets are respected) from a node that is
// changing hands.
struct PodEviction {
  std::string pool_key;  // the pool the drain is for (or the one releasing the node)
  std::string node;
  std::string pod_namespace, name, uid;

  friend bool operator==(const PodEviction&, const PodEviction&) = default;
};

// One Node write: the whole desired binding, computed against resource_version so the executor
// can make it conditional (no node ever lands in two pools, even with two controllers).
struct NodeChange {
  std::string node;
  std::string resource_version;
  std::string from_binding;  // the zhisuan.io/pool label now; "" when unbound
  std::string to_binding;    // the label wanted; "" to unbind
  std::string from_pool;     // pool keys ("ns/name") for events and metrics; "" for none
  std::string to_pool;
  std::vector<Taint> taints;  // the full taint list wanted

  friend bool operator==(const NodeChange&, const NodeChange&) = default;
};

struct PoolChange {
  std::string pool_key;  // "ns/name"
  std::string pool_namespace, name, uid, resource_version;
  // The full finalizer list wanted, when it differs from the current one.
  std::optional<std::vector<std::string>> finalizers;
  // Removes the grace-clock annotations of older controllers (kImpairedSinceAnnotation): they are
  // ignored, and removed so that nobody mistakes them for state (one write per pool, once).
  bool remove_legacy_annotations = false;
  // Only when it differs from the current status. The grace clocks ride in it
  // (status.impairedMembers, status.drainingMembers).
  std::optional<api::ComputePoolStatus> status;

  bool AddsFinalizer() const;
  bool RemovesFinalizer() const;
  bool Empty() const { return !finalizers && !remove_legacy_annotations && !status; }
  bool ChangesMetadata() const { return finalizers || remove_legacy_annotations; }
  friend bool operator==(const PoolChange&, const PoolChange&) = default;
};

// A ComputeQuota whose status.used (or hard, observedGeneration) should change: written through
// the status subresource, after the node writes.
struct QuotaChange {
  std::string quota_key;  // "ns/name"
  std::string quota_namespace, name;
  api::ComputeQuotaStatus from;  // the status now, so a figure no longer capped can be removed
  api::ComputeQuotaStatus to;

  friend bool operator==(const QuotaChange&, const QuotaChange&) = default;
};

struct PlannedEvent {
  enum class Type { kNormal, kWarning };
  // The pool the event is about.
  std::string pool_namespace, pool_name, pool_uid;
  Type type = Type::kNormal;
  std::string reason;  // NodeBound, NodeUnbound, PoolRepaired, Unsatisfiable
  std::string message;

  friend bool operator==(const PlannedEvent&, const PlannedEvent&) = default;
};

struct PoolPlan {
  // Ordered for the executor: within a pool, finalizer before binds; unbinds before finalizer
  // removal. The executor enforces that order, the planner only lists.
  std::vector<NodeChange> node_changes;
  std::vector<PoolChange> pool_changes;
  // The quotas of the namespaces planned, where what their pools hold changed.
  std::vector<QuotaChange> quota_changes;
  // After the node writes: the pods that must leave nodes changing hands. Not a change in the
  // sense of Empty(): a drain waiting on a PodDisruptionBudget plans the same evictions again.
  std::vector<PodEviction> evictions;
  std::vector<PlannedEvent> events;
  // Carried from the snapshot so the executor warns about them; not a change.
  std::vector<IgnoredComputeNode> ignored_compute_nodes;
  // When the plan should be made again even if nothing changes: a grace period ends.
  std::map<std::string, std::chrono::seconds> requeue_after;  // by pool key
  // Pools that want capacity they could not get; the runtime re-plans them when nodes change.
  std::set<std::string> waiting_pools;

  // Nothing to write. Ignored ComputeNodes and requeues are not writes.
  bool Empty() const {
    return node_changes.empty() && pool_changes.empty() && quota_changes.empty() && events.empty();
  }
};

// Plans every pool in the snapshot, or only those in `only_pools` when it is non-empty (the
// runtime plans the pools its queue handed it; nodes bound to other pools are simply taken).
PoolPlan PlanPools(const ClusterSnapshot& snapshot, WallTime now, const PlannerConfig& config,
                   const std::set<std::string>& only_pools = {});

// Whether `compute_node` has an accelerator of the vendor and products `spec` asks for, healthy
// or not. A node without one never counts for the pool, whatever else about it changes, so the
// runtime does not re-plan a waiting pool for that node's events.
bool HasMatchingAccelerator(const api::ComputePoolSpec& spec, const api::ComputeNode& compute_node);

// Reasons on ComputePool conditions.
namespace reasons {
inline constexpr std::string_view kSatisfied = "Satisfied";
inline constexpr std::string_view kInsufficientCapacity = "InsufficientCapacity";
inline constexpr std::string_view kPartiallySatisfied = "PartiallySatisfied";
inline constexpr std::string_view kCapacityDegraded = "CapacityDegraded";
inline constexpr std::string_view kCompliant = "Compliant";
inline constexpr std::string_view kNoCarbonPolicy = "NoCarbonPolicy";
inline constexpr std::string_view kOutOfCarbonPolicy = "OutOfCarbonPolicy";
inline constexpr std::string_view kAllHealthy = "AllHealthy";
inline constexpr std::string_view kUnhealthyMembers = "UnhealthyMembers";
inline constexpr std::string_view kNoMembers = "NoMembers";
inline constexpr std::string_view kReady = "Ready";
inline constexpr std::string_view kDeleting = "Deleting";
// Ready=False on a pool whose spec the controller cannot use (an older CRD let it through).
inline constexpr std::string_view kInvalidSpec = "InvalidSpec";
// CapacitySatisfied=False while the capacity is there but bound nodes still run pods of other
// namespaces; the message names the nodes and pods.
inline constexpr std::string_view kDraining = "Draining";
// CapacitySatisfied=False when a ComputeQuota of the pool's namespace keeps it from binding what
// it asks for; the message names the quota, its limit and what the namespace holds.
inline constexpr std::string_view kQuotaExceeded = "QuotaExceeded";
}  // namespace reasons

}  // namespace zhisuan::controller
