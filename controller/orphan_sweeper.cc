#include "controller/orphan_sweeper.h"

#include "api/group_version.h"
#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::controller {

OrphanSweeper::OrphanSweeper(kube::ApiClientPtr client, PlanExecutor& executor,
                             const PlannerConfig& config)
    : client_(std::move(client)), executor_(executor), config_(config) {}

StatusOr<std::set<std::string>> OrphanSweeper::LiveBindings() {
  std::set<std::string> bindings;
  kube::ListOptions options;
  options.limit = 500;  // pages, so a large fleet of pools is never one huge response
  do {
    // No resourceVersion: a quorum read, never an older state than the nodes read before it.
    ZHISUAN_ASSIGN_OR_RETURN(kube::ObjectList page, client_->List(api::kComputePools, "", options));
    for (const Json& pool : page.items) {
      bindings.insert(
          api::PoolBindingValue(pool.value("/metadata/namespace"_json_pointer, std::string()),
                                pool.value("/metadata/name"_json_pointer, std::string())));
    }
    options.continue_token = page.continue_token;
  } while (!options.continue_token.empty());
  return bindings;
}

StatusOr<int> OrphanSweeper::Sweep(const ClusterSnapshot& snapshot) {
  bool any_bound = false;
  for (const NodeInfo& node : snapshot.nodes) any_bound = any_bound || !node.PoolBinding().empty();
  if (!any_bound) return 0;  // nothing could be orphaned: no List
  ZHISUAN_ASSIGN_OR_RETURN(std::set<std::string> live, LiveBindings());
  const PoolPlan plan = PlanOrphanReleases(snapshot, live, config_);
  if (plan.node_changes.empty()) return 0;
  for (const NodeChange& change : plan.node_changes) {
    ZLOG(Warning) << "node " << change.node << " is bound to " << change.from_binding
                  << ", which names no ComputePool (deleted without its finalizer?): releasing it";
  }
  const ExecutionResult result = executor_.Execute(plan);
  if (!result.Complete()) return result.first_error;
  return result.node_writes;
}

}  // namespace zhisuan::controller
