#pragma once
// Drain: a node changing hands (bound to a pool, moved between pools) is handed over only once the
// pods of other namespaces have left it. While it drains it carries the pool taint with effect
// NoSchedule, which neither other namespaces nor the pool's own tenant tolerate (the published
// toleration is for NoExecute), so nothing new is scheduled there; its pods are evicted through
// the eviction API, so PodDisruptionBudgets are respected; the pool does not count it. Once it is
// empty, or --drain-timeout after the drain began, the taint becomes NoExecute: the kubelet then
// refuses any pod that does not tolerate it (spec.nodeName included) and the taint manager deletes
// whatever is left. Every input is in the cluster (the node's taint, the pods on it, the pool's
// kDrainingSinceAnnotation), so a restarted controller carries on where the last one stopped.

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "controller/reconcile/pool_planner.h"

namespace zhisuan::controller::stages {

inline constexpr std::string_view kDrainingEffect = "NoSchedule";
inline constexpr std::string_view kExclusiveEffect = "NoExecute";

// The pods that must leave a node before `owner_namespace` may have it: every pod of another
// namespace, except DaemonSet pods, mirror pods, finished pods and the exempt namespaces.
// `owner_namespace` "" (a release) means every such pod. In `pods` order.
std::vector<const PodInfo*> PodsToDrain(const std::vector<const PodInfo*>& pods,
                                        std::string_view owner_namespace,
                                        const std::set<std::string>& exempt_namespaces);

// Whether `node` already is exclusively `binding`'s: labelled so and carrying exactly the
// NoExecute pool taint. Such a node never goes back to draining: the taint keeps every other
// namespace off it.
bool HandedOver(const NodeInfo& node, const std::string& binding);

// Where one bound node stands.
struct DrainState {
  bool draining = false;             // the pool does not count it yet; its taint stays NoSchedule
  WallTime since{};                  // when the drain began (draining only)
  WallTime deadline{};               // since + drain_timeout
  std::vector<const PodInfo*> pods;  // still to leave (draining only)
};

// The state of `node`, which the plan binds to `binding` of a pool in `owner_namespace` whose
// recorded drain starts are `draining_since`. A drain with nothing left, or past its deadline, is
// over.
DrainState AssessDrain(const NodeInfo& node, const std::string& binding,
                       std::string_view owner_namespace,
                       const std::vector<const PodInfo*>& pods_on_node,
                       const std::map<std::string, WallTime>& draining_since,
                       const PlannerConfig& config, WallTime now);

// The evictions for `pods`: those not already terminating.
void PlanEvictions(const std::string& pool_key, const std::string& node,
                   const std::vector<const PodInfo*>& pods, std::vector<PodEviction>& evictions);

// "n3 (2 pods of other namespaces: a/x, b/y; until 03:05:00Z)", for the Draining condition.
std::string DrainText(const std::string& node, const DrainState& state);

}  // namespace zhisuan::controller::stages
