#pragma once
// Snapshots for tests of the planner and what feeds it: decoded from API objects, as the
// observation cache would, and advanced by a plan, as the API server would after the executor
// wrote it. Neither is production code: the runtime keeps a decoded cache (ObservationCache) and
// re-reads the cluster rather than predicting it.

#include <vector>

#include "controller/reconcile/pool_planner.h"
#include "controller/reconcile/snapshot.h"

namespace zhisuan::controller {

// Builds a snapshot from API objects. Pools and Nodes whose metadata fails to decode are skipped
// with a log line (the API server validated them, so this means a newer or corrupt object); a pool
// whose spec fails is kept with invalid_spec set; ComputeNodes that fail are listed in
// ignored_compute_nodes, as ObservationCache does.
ClusterSnapshot SnapshotFromObjects(const std::vector<Json>& pools, const std::vector<Json>& nodes,
                                    const std::vector<Json>& compute_nodes);

// Applies a plan to the snapshot it was made from, as the API server would after the executor
// wrote it (resource versions aside), with every planned eviction granted and its pod gone. Tests
// use it to check that plans converge.
ClusterSnapshot ApplyPlan(ClusterSnapshot snapshot, const PoolPlan& plan);

}  // namespace zhisuan::controller
