#include "controller/reconcile/orphans.h"

#include <unordered_map>
#include <vector>

#include "common/strings.h"
#include "controller/reconcile/drain.h"
#include "controller/reconcile/placement.h"

namespace zhisuan::controller {

std::string OrphanKey(const std::string& binding) { return StrCat("orphaned:", binding); }

PoolPlan PlanOrphanReleases(const ClusterSnapshot& snapshot,
                            const std::set<std::string>& live_bindings,
                            const PlannerConfig& config) {
  PoolPlan plan;
  std::unordered_map<std::string_view, std::vector<const PodInfo*>> pods_on_node;
  for (const auto& pod : snapshot.pods) pods_on_node[pod.node].push_back(&pod);
  for (const NodeInfo& node : snapshot.nodes) {
    const std::string binding = node.PoolBinding();
    if (binding.empty() || live_bindings.contains(binding)) continue;
    NodeChange change;
    change.node = node.name;
    change.resource_version = node.resource_version;
    change.from_binding = binding;
    change.from_pool = OrphanKey(binding);
    change.taints = stages::DesiredTaints(node.taints, "", stages::kExclusiveEffect);
    plan.node_changes.push_back(std::move(change));
    auto pods = pods_on_node.find(node.name);
    if (pods == pods_on_node.end()) continue;
    stages::PlanEvictions(OrphanKey(binding), node.name,
                          stages::PodsToDrain(pods->second, "", config.drain_exempt_namespaces),
                          plan.evictions);
  }
  return plan;
}

}  // namespace zhisuan::controller
