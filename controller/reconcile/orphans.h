#pragma once
// Orphaned bindings. A pool deleted with its finalizer stripped by hand (`kubectl patch
// --type=merge -p '{"metadata":{"finalizers":null}}'`) is gone before the controller could
// release its nodes: they keep the pool label and the NoExecute taint, the old tenant keeps
// using them, and every other pool counts them as taken. No pool event will ever name them again,
// so the runtime sweeps (OrphanSweeper, --orphan-sweep-interval): it takes the nodes from its
// cache, then lists the ComputePools live, and releases each node whose binding names no pool in
// that list.
//
// Why a node cannot be taken from a pool that exists: the node is read (with its resourceVersion)
// before the pools are listed, and a node is bound only after its pool exists. So a pool a node
// was bound to when it was read is in the list unless it has been deleted since; and a node bound
// after it was read has a newer resourceVersion, so the release, conditional on the version read,
// is refused (Conflict) and left to the next sweep.

#include <set>
#include <string>

#include "controller/reconcile/pool_planner.h"

namespace zhisuan::controller {

// The key a release of an orphaned `binding` goes by in NodeChange::from_pool and
// PodEviction::pool_key: no pool has it, and the executor ties the evictions to the node write.
std::string OrphanKey(const std::string& binding);

// The release of every node in `snapshot` whose zhisuan.io/pool label names no pool whose binding
// value is in `live_bindings`, as PlanPools releases a node: the label and the pool taint go, and
// the pods of other namespaces than the exempt ones are evicted. Node changes and evictions only;
// no events (there is no pool to attach them to).
PoolPlan PlanOrphanReleases(const ClusterSnapshot& snapshot,
                            const std::set<std::string>& live_bindings,
                            const PlannerConfig& config);

}  // namespace zhisuan::controller
