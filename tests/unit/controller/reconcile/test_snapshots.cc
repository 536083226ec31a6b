#include "tests/unit/controller/reconcile/test_snapshots.h"

#include <utility>

#include "common/log.h"

namespace zhisuan::controller {

ClusterSnapshot SnapshotFromObjects(const std::vector<Json>& pools, const std::vector<Json>& nodes,
                                    const std::vector<Json>& compute_nodes) {
  ClusterSnapshot snapshot;
  for (const auto& object : pools) {
    auto pool = PoolObservationFromJson(object);
    if (!pool.ok()) {
      ZLOG(Warning) << "skipping ComputePool that does not decode: " << pool.status();
      continue;
    }
    snapshot.pools.push_back(std::move(pool).value());
  }
  for (const auto& object : nodes) {
    auto node = NodeInfoFromJson(object);
    if (!node.ok()) {
      ZLOG(Warning) << "skipping Node that does not decode: " << node.status();
      continue;
    }
    snapshot.nodes.push_back(std::move(node).value());
  }
  for (const auto& object : compute_nodes) {
    auto compute_node = api::ComputeNodeFromJson(object);
    if (!compute_node.ok()) {
      snapshot.ignored_compute_nodes.push_back(
          IgnoredComputeNodeFrom(object, compute_node.status().message()));
      continue;
    }
    snapshot.compute_nodes.push_back(std::move(compute_node).value());
  }
  return snapshot;
}

ClusterSnapshot ApplyPlan(ClusterSnapshot snapshot, const PoolPlan& plan) {
  for (const auto& change : plan.node_changes) {
    for (size_t i = 0; i < snapshot.nodes.size(); ++i) {
      if (std::as_const(snapshot.nodes)[i].name != change.node) continue;
      NodeInfo& node = snapshot.nodes[i];  // copied here, shared until now
      if (change.to_binding.empty()) {
        node.labels.erase(std::string(api::kPoolLabel));
      } else {
        node.labels[std::string(api::kPoolLabel)] = change.to_binding;
      }
      node.taints = change.taints;
    }
  }
  for (const auto& change : plan.pool_changes) {
    for (size_t i = 0; i < snapshot.pools.size(); ++i) {
      if (std::as_const(snapshot.pools)[i].pool.Key() != change.pool_key) continue;
      PoolObservation& observation = snapshot.pools[i];
      if (change.finalizers) observation.pool.finalizers = *change.finalizers;
      if (change.remove_legacy_annotations) observation.legacy_clock_annotations = false;
      // Through JSON, as the API server stores it, so tests see what a re-read would.
      if (change.status) {
        observation.pool.status =
            api::ComputePoolStatusFromJson(api::ToJson(*change.status)).value_or(*change.status);
        observation.impaired_since = ClocksFromMembers(observation.pool.status.impaired_members);
        observation.draining_since = ClocksFromMembers(observation.pool.status.draining_members);
      }
    }
  }
  // Quota status, through JSON as the API server stores it.
  for (const auto& change : plan.quota_changes) {
    for (size_t i = 0; i < snapshot.quotas.size(); ++i) {
      if (std::as_const(snapshot.quotas)[i].quota.Key() != change.quota_key) continue;
      QuotaObservation& observation = snapshot.quotas[i];
      const Json stored = {
          {"metadata", {{"name", change.name}, {"namespace", change.quota_namespace}}},
          {"spec", {{"hard", api::ToJson(observation.quota.hard)}}},
          {"status", api::ToJson(change.to)}};
      auto decoded = api::ComputeQuotaFromJson(stored, nullptr);
      observation.quota.status = decoded.ok() ? decoded->status : change.to;
    }
  }
  // An eviction the API server accepted: the pod is gone (the tests' kubelet is instant).
  for (const auto& eviction : plan.evictions) {
    snapshot.pods.EraseIf([&eviction](const PodInfo& pod) {
      return pod.pod_namespace == eviction.pod_namespace && pod.name == eviction.name;
    });
  }
  snapshot.pools.EraseIf([](const PoolObservation& observation) {
    return observation.pool.deleting && observation.pool.finalizers.empty();
  });
  return snapshot;
}

}  // namespace zhisuan::controller
