#pragma once
// The runtime half of reconcile/orphans.h: releases the nodes of pools that no longer exist (a
// pool force-deleted with its finalizer stripped by hand), by a live List of ComputePools rather
// than the informer cache, which may not yet have seen a pool just created.

#include <set>
#include <string>

#include "controller/plan_executor.h"
#include "controller/reconcile/orphans.h"
#include "kube/client.h"

namespace zhisuan::controller {

class OrphanSweeper {
 public:
  // `executor` does the writes (so they pass the same leadership gate as every plan's).
  OrphanSweeper(kube::ApiClientPtr client, PlanExecutor& executor, const PlannerConfig& config);

  // One sweep over `snapshot`, which must have been taken before this call (see orphans.h for why
  // the order matters). Returns how many nodes were released; an error when the pools could not
  // be listed or a release failed (a Conflict included: the next sweep looks again).
  StatusOr<int> Sweep(const ClusterSnapshot& snapshot);

 private:
  // The binding value of every ComputePool that exists now, read from the API server.
  StatusOr<std::set<std::string>> LiveBindings();

  const kube::ApiClientPtr client_;
  PlanExecutor& executor_;
  const PlannerConfig& config_;
};

}  // namespace zhisuan::controller
