#pragma once
// The planner's view of the cluster, decoded once per informer event rather than once per
// reconcile. Before this cache, every reconcile deep-copied every cached Node, ComputeNode and
// ComputePool and decoded them all, so a burst of P pools on N nodes cost O(P x N) JSON work
// (bench/fleet measured it). Now each event decodes one object, keyed by object key, and a
// reconcile copies the decoded values (a few small structs per node) into a ClusterSnapshot.
//
// Entries are shared with the snapshots taken from them and replaced, never changed in place,
// so a snapshot is one pointer per object (shared_values.h) and stays as it was when taken.
//
// The informers' handlers keep it current: they decode an object before they queue the pools it
// affects, so by the time a pool is queued the observation it will be planned from is already
// here. Upserts say whether anything the planner reads changed, which is how the controller skips
// the kubelets' and agents' periodic rewrites. It records the resourceVersion of each decoded
// object, which is what the controller compares with the versions its own writes produced
// (planning waits until the decoded view has caught up).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "controller/reconcile/snapshot.h"

namespace zhisuan::controller {

// What the controller's informer stores keep of Nodes, ComputeNodes and ComputePools, given that
// this cache holds them decoded: apiVersion, kind and metadata's name, namespace, uid,
// resourceVersion, labels and deletionTimestamp. The stores are read only for metadata (a node's
// pool label and a pool's name for event mapping, resourceVersions for the informer's
// bookkeeping); keeping whole objects as well held each one twice: at 5,000 nodes ~130 MiB of
// JSON beside ~20 MiB decoded (bench/controller), most of it ComputeNode status and kubelet
// status that the planner reads only decoded. A pool's spec and status (selectors, a status
// naming every member) are likewise held only decoded.
Json MetadataOnly(const Json& object);

// Which pods are Zhisuan agents (--agent-pod-selector, --agent-pod-namespace): their readiness is
// observed (reconcile/snapshot.h, AgentInfo).
struct AgentPodSelector {
  std::string pod_namespace;
  api::LabelSelector selector;
};

class ObservationCache {
 public:
  // Without `agents`, no pod is observed as an agent.
  explicit ObservationCache(std::optional<AgentPodSelector> agents = std::nullopt)
      : agent_selector_(std::move(agents)) {}

  // Upsert* decode `object` and replace what was cached under its key; an object that does not
  // decode removes the entry (pools, nodes; logged) or is recorded as ignored (ComputeNodes), as
  // SnapshotFromObjects does. A pool whose metadata decodes but whose spec does not is kept, with
  // PoolObservation::invalid_spec saying why. UpsertNode and UpsertComputeNode return whether what
  // the planner reads changed (a new object, a different decoding, or a change between decoded and
  // ignored); a new resourceVersion alone is not a change.
  void UpsertPool(const Json& object);
  void RemovePool(const std::string& key);
  bool UpsertNode(const Json& object);
  void RemoveNode(const std::string& name);
  bool UpsertComputeNode(const Json& object);
  // A ComputeNode deleted while its Node remains is kept as last seen (ClusterSnapshot::
  // deleted_compute_nodes) until it is recreated or the Node goes.
  void RemoveComputeNode(const std::string& name);

  // ComputeQuotas, by "ns/name". One that does not decode is removed (logged); one whose spec does
  // not decode is kept with QuotaObservation::invalid_spec set (it caps nothing).
  void UpsertQuota(const Json& object);
  void RemoveQuota(const std::string& key);

  // Pods bound to a node and not finished (what a drain waits for). Each returns the node whose
  // pods changed, "" when nothing the planner reads did (a status update of a running pod).
  std::string UpsertPod(const Json& object);
  std::string RemovePod(const std::string& key);
  // The same pods again, as agents: one the AgentPodSelector selects is kept as an AgentInfo (a
  // pod no longer selected is dropped). Each returns the node whose agent changed, "" when none.
  std::string UpsertAgent(const Json& pod);
  std::string RemoveAgent(const std::string& key);

  // Bumped by every change to the cache; lets a periodic reader skip an unchanged cache.
  uint64_t Generation() const;

  // Everything cached, in key order (the order the informer stores list in).
  ClusterSnapshot Snapshot() const;

  // One cached entry, null when absent (or, for a ComputeNode, ignored).
  std::shared_ptr<const PoolObservation> FindPool(const std::string& key) const;
  std::shared_ptr<const api::ComputeNode> FindComputeNode(const std::string& name) const;

  // The resourceVersion of the decoded pool ("ns/name") or node, nullopt when absent.
  std::optional<std::string> PoolVersion(const std::string& key) const;
  std::optional<std::string> NodeVersion(const std::string& name) const;

 private:
  bool IsAgentPod(const Json& object) const;

  mutable std::mutex mu_;
  uint64_t generation_ = 0;
  std::map<std::string, std::shared_ptr<const PoolObservation>> pools_;
  std::map<std::string, std::shared_ptr<const NodeInfo>> nodes_;
  // ComputeNodes that decoded, and those ignored (with why); a name is in at most one of them.
  std::map<std::string, std::shared_ptr<const api::ComputeNode>> compute_nodes_;
  std::map<std::string, IgnoredComputeNode> ignored_compute_nodes_;
  std::map<std::string, std::shared_ptr<const api::ComputeNode>> deleted_compute_nodes_;
  const std::optional<AgentPodSelector> agent_selector_;
  std::map<std::string, std::shared_ptr<const AgentInfo>> agents_;         // by pod "ns/name"
  std::map<std::string, std::shared_ptr<const PodInfo>> pods_;             // by "ns/name"
  std::map<std::string, std::shared_ptr<const QuotaObservation>> quotas_;  // by "ns/name"
};

// What the controller's Pod informer store keeps: MetadataOnly without labels. The handlers decode
// each pod whole on arrival (UpsertPod); the store is read only for keys (a deletion after a
// relist), so holding every pod's spec and status would only cost memory.
Json PodForStore(const Json& object);

}  // namespace zhisuan::controller
