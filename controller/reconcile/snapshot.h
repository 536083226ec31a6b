#pragma once
// What the pool planner observes: a read-only snapshot of ComputePools, Nodes and ComputeNodes,
// decoded from the API objects the informers cache. Decoding lives here (not in the executor) so
// the planner's input is plain values that tests build with fixtures, never JSON.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/compute_node.h"
#include "api/compute_pool.h"
#include "api/compute_quota.h"
#include "common/clock.h"
#include "controller/reconcile/shared_values.h"

namespace zhisuan::controller {

using Json = nlohmann::json;

// Pool annotations where controllers before issue 17 kept the grace clocks (when each member first
// fell short; when each drain began). Tenants may edit their pools' metadata, so a tenant could
// reset its dead members' clocks and keep them forever: the clocks now live in the pool's status
// (status.impairedMembers, status.drainingMembers), which only the controller may write. These
// annotations are never read; the controller removes them with its next metadata write of the
// pool, and --uninstall-cleanup removes them too.
inline constexpr std::string_view kImpairedSinceAnnotation = "zhisuan.io/impaired-since";
inline constexpr std::string_view kDrainingSinceAnnotation = "zhisuan.io/draining-since";

// Node labels that name a node's topology domains. A rack is identified by zone and rack together,
// as rack names repeat across sites.
inline constexpr std::string_view kZoneLabel = "topology.kubernetes.io/zone";
inline constexpr std::string_view kRackLabel = "zhisuan.io/rack";
inline constexpr std::string_view kRackLabelFallback = "topology.kubernetes.io/rack";

struct Taint {
  std::string key, value, effect;
  friend bool operator==(const Taint&, const Taint&) = default;
};

// The part of a core/v1 Node the planner reads.
struct NodeInfo {
  std::string name;
  std::string uid;
  std::string resource_version;
  std::map<std::string, std::string> labels;
  bool ready = false;
  bool unschedulable = false;  // cordoned
  bool deleting = false;       // metadata.deletionTimestamp is set
  std::vector<Taint> taints;

  std::string Zone() const;
  std::string Rack() const;
  // The value of the zhisuan.io/pool label, "" when the node is in no pool.
  std::string PoolBinding() const;
  // Equal in everything the planner reads: all but resource_version, which every kubelet
  // heartbeat changes.
  bool SameForPlanning(const NodeInfo& other) const;
};

StatusOr<NodeInfo> NodeInfoFromJson(const Json& object);

// The part of a core/v1 Pod the planner reads: enough to tell which pods must leave a node before
// a pool may count it (drain.h). Only pods bound to a node are observed.
struct PodInfo {
  std::string pod_namespace;
  std::string name;
  std::string uid;
  std::string node;          // spec.nodeName
  bool daemon_set = false;   // controlled by a DaemonSet: it runs on every node, not a tenant's
  bool mirror = false;       // a static pod's mirror (kubernetes.io/config.mirror): the kubelet's
  bool terminating = false;  // metadata.deletionTimestamp is set
  bool finished = false;     // status.phase Succeeded or Failed: holds no node resources

  std::string Key() const { return pod_namespace + "/" + name; }
  friend bool operator==(const PodInfo&, const PodInfo&) = default;
};

StatusOr<PodInfo> PodInfoFromJson(const Json& object);

// A node's agent pod (the controller's --agent-pod-selector, in the release namespace), as the
// planner reads it. A dead agent writes nothing, so its ComputeNode would say "healthy" forever;
// the pod's Ready condition is what Kubernetes already keeps current without any write of ours:
// the kubelet clears it when the agent exits or fails its probe, and when the kubelet itself is
// gone the node lifecycle controller marks the pods of the NotReady node not Ready.
struct AgentInfo {
  std::string node;  // spec.nodeName
  std::string pod;   // "ns/name"
  bool ready = false;
  // When the Ready condition last changed (lastTransitionTime); for a pod that has no Ready
  // condition yet, when it was created. nullopt when neither parses.
  std::optional<WallTime> since;

  friend bool operator==(const AgentInfo&, const AgentInfo&) = default;
};

// Fails when the pod has no name, namespace or node.
StatusOr<AgentInfo> AgentInfoFromJson(const Json& object);

// A ComputePool together with the metadata the planner needs beyond api::ComputePool.
struct PoolObservation {
  api::ComputePool pool;
  // Why the spec does not decode, "" when it does. Such a pool is still observed (its spec left
  // empty), so the planner reports it (Ready=False, InvalidSpec) and handles its deletion rather
  // than the pool vanishing from the controller's view with its nodes and finalizer.
  std::string invalid_spec;
  std::string creation_timestamp;  // RFC 3339; orders pools (older pools claim nodes first)
  std::map<std::string, WallTime> impaired_since;  // from status.impairedMembers
  std::map<std::string, WallTime> draining_since;  // from status.drainingMembers
  // The pool still carries kImpairedSinceAnnotation or kDrainingSinceAnnotation (ignored).
  bool legacy_clock_annotations = false;
};

// Fails only when the metadata is malformed; a spec that does not decode sets invalid_spec.
StatusOr<PoolObservation> PoolObservationFromJson(const Json& object);

// A ComputeQuota as the planner reads it. A quota whose spec does not decode (an older CRD let it
// through) caps nothing: it is kept so its status can say why, in invalid_spec.
struct QuotaObservation {
  api::ComputeQuota quota;
  std::string invalid_spec;
};

// Fails only when the metadata is malformed; a spec that does not decode sets invalid_spec.
StatusOr<QuotaObservation> QuotaObservationFromJson(const Json& object);

// The grace clocks as the status lists them (status.impairedMembers, status.drainingMembers), and
// back. Decoding is lenient: an entry that does not parse restarts that member's clock rather
// than failing the pool.
std::vector<api::MemberSince> MemberClocks(const std::map<std::string, WallTime>& since);
std::map<std::string, WallTime> ClocksFromMembers(const std::vector<api::MemberSince>& members);

// Whether an agent has published `compute_node`'s status. An agent recreating its ComputeNode
// writes the object first and the status after, so between the two the controller sees one with
// no status: that is a ComputeNode still missing, not a node with no accelerators.
inline bool Published(const api::ComputeNode& compute_node) {
  const api::ComputeNodeStatus& status = compute_node.status;
  return !status.agent_version.empty() || !status.accelerators.empty() ||
         !status.conditions.empty();
}

// A ComputeNode that could not be decoded; its Node is treated as having no accelerators.
struct IgnoredComputeNode {
  std::string name;
  std::string resource_version;
  std::string uid;
  std::string reason;

  friend bool operator==(const IgnoredComputeNode&, const IgnoredComputeNode&) = default;
};

// What the Warning event needs of a ComputeNode that failed to decode for `reason`: whatever
// string metadata it has (a mangled object may lack any of it).
IgnoredComputeNode IgnoredComputeNodeFrom(const Json& object, std::string reason);

// Pools, Nodes and ComputeNodes are shared with the cache the snapshot was taken from (see
// shared_values.h): a copy is one pointer per object, and an edit copies only what it touches.
struct ClusterSnapshot {
  SharedValues<PoolObservation> pools;
  SharedValues<NodeInfo> nodes;
  SharedValues<api::ComputeNode> compute_nodes;
  // The last state seen of ComputeNodes deleted while their Node remains: a member whose
  // ComputeNode vanished is still credited with it through its grace (membership.h).
  SharedValues<api::ComputeNode> deleted_compute_nodes;
  // Agent pods (only when the controller observes them: PlannerConfig::require_ready_agent).
  SharedValues<AgentInfo> agents;
  SharedValues<PodInfo> pods;             // pods bound to a node, any order
  SharedValues<QuotaObservation> quotas;  // ComputeQuotas, any order
  std::vector<IgnoredComputeNode> ignored_compute_nodes;
};

// RFC 3339 timestamps as metav1.Time writes them ("2026-11-23T03:00:00Z"); fractional seconds and
// numeric offsets are accepted when parsing.
std::optional<WallTime> ParseRfc3339(std::string_view text);
std::string FormatWallTime(WallTime time);

}  // namespace zhisuan::controller
