#include "controller/controller_metrics.h"

namespace zhisuan::controller {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

}  // namespace

ControllerMetrics::ControllerMetrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)),
      pool_capacity_flops_(BuildGauge()
                               .Name("zhisuan_pool_capacity_flops")
                               .Help("Peak FLOPS of the healthy matching accelerators bound to "
                                     "the pool, at the pool's precision")
                               .Register(*registry_)),
      pool_nodes_(BuildGauge()
                      .Name("zhisuan_pool_nodes")
                      .Help("Nodes bound to the pool")
                      .Register(*registry_)),
      pool_accelerators_(BuildGauge()
                             .Name("zhisuan_pool_accelerators")
                             .Help("Healthy matching accelerators bound to the pool")
                             .Register(*registry_)),
      pool_carbon_free_ratio_(
          BuildGauge()
              .Name("zhisuan_pool_carbon_free_ratio")
              .Help("Energy-weighted carbon-free energy share of the pool (status.carbonFreeRatio)")
              .Register(*registry_)),
      pool_ready_(BuildGauge()
                      .Name("zhisuan_pool_ready")
                      .Help("1 when the pool's Ready condition is True, else 0")
                      .Register(*registry_)),
      pool_carbon_min_free_ratio_(
          BuildGauge()
              .Name("zhisuan_pool_carbon_min_free_ratio")
              .Help("The pool's spec.carbon.minCarbonFreeRatio; absent when it has none")
              .Register(*registry_)),
      // One series per bound node (a node is in at most one pool, so cardinality is the node
      // count): dashboards join it with the agent's per-device series to show pool utilisation.
      pool_member_(BuildGauge()
                       .Name("zhisuan_pool_member")
                       .Help("1 for each node bound to the pool")
                       .Register(*registry_)),
      cluster_flops_(BuildGauge()
                         .Name("zhisuan_cluster_flops")
                         .Help("Peak FLOPS of healthy accelerators in the cluster, bound to a "
                               "pool or free")
                         .Register(*registry_)),
      reconcile_duration_(
          BuildHistogram()
              .Name("zhisuan_controller_reconcile_duration_seconds")
              .Help("Time to snapshot, plan and apply one pool")
              .Register(*registry_)
              .Add({},
                   prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1, 0.25, 0.5, 1, 2.5, 5, 10})),
      reconciles_(BuildCounter()
                      .Name("zhisuan_controller_reconciles_total")
                      .Help("Reconciles by result (success: every write landed)")
                      .Register(*registry_)),
      reconcile_success_(reconciles_.Add({{"result", "success"}})),
      reconcile_failure_(reconciles_.Add({{"result", "failure"}})),
      queue_depth_(BuildGauge()
                       .Name("zhisuan_controller_queue_depth")
                       .Help("Pools waiting in the work queue")
                       .Register(*registry_)
                       .Add({})),
      is_leader_(BuildGauge()
                     .Name("zhisuan_controller_is_leader")
                     .Help("1 while this replica holds the leader Lease")
                     .Register(*registry_)
                     .Add({})) {
  // Export zeros rather than missing series until the first snapshot.
  for (api::Precision precision : api::kAllPrecisions) {
    for (const char* state : {"bound", "free"}) {
      cluster_flops_.Add(
          {{"precision", std::string(api::PrecisionName(precision))}, {"state", state}});
    }
  }
}

void ControllerMetrics::ObserveCluster(const ClusterSnapshot& snapshot) {
  std::lock_guard lock(mu_);
  std::set<std::pair<std::string, std::string>> seen;
  std::set<std::map<std::string, std::string>> members;
  for (const auto& observation : snapshot.pools) {
    const api::ComputePool& pool = observation.pool;
    const std::map<std::string, std::string> labels = {{"namespace", pool.pool_namespace},
                                                       {"pool", pool.name}};
    seen.insert({pool.pool_namespace, pool.name});
    auto with_precision = labels;
    with_precision["precision"] = std::string(api::PrecisionName(pool.spec.precision));
    pool_capacity_flops_.Add(with_precision).Set(pool.status.flops);
    pool_nodes_.Add(labels).Set(static_cast<double>(pool.status.nodes.size()));
    pool_accelerators_.Add(labels).Set(pool.status.accelerator_count);
    // No figure (no members, or none that reports one) is no series: a 0 would read as fossil
    // power and fire PoolCarbonNonCompliant for a pool that has nothing running.
    if (pool.status.carbon_free_ratio) {
      pool_carbon_free_ratio_.Add(labels).Set(*pool.status.carbon_free_ratio);
    } else if (pool_carbon_free_ratio_.Has(labels)) {
      pool_carbon_free_ratio_.Remove(&pool_carbon_free_ratio_.Add(labels));
    }
    const api::Condition* ready = api::FindCondition(pool.status.conditions, api::kConditionReady);
    pool_ready_.Add(labels).Set(ready != nullptr && ready->status == "True" ? 1 : 0);
    if (pool.spec.min_carbon_free_ratio) {
      pool_carbon_min_free_ratio_.Add(labels).Set(*pool.spec.min_carbon_free_ratio);
    } else if (pool_carbon_min_free_ratio_.Has(labels)) {
      pool_carbon_min_free_ratio_.Remove(&pool_carbon_min_free_ratio_.Add(labels));
    }
    for (const std::string& node : pool.status.nodes) {
      auto member = labels;
      member["node"] = node;
      pool_member_.Add(member).Set(1);
      members.insert(std::move(member));
    }
  }
  for (const auto& member : members_) {
    if (!members.contains(member)) pool_member_.Remove(&pool_member_.Add(member));
  }
  members_ = std::move(members);
  // Drop series of pools that are gone (any precision they were exported with).
  for (const auto& [ns, name] : pools_) {
    if (seen.contains({ns, name})) continue;
    const std::map<std::string, std::string> labels = {{"namespace", ns}, {"pool", name}};
    for (auto* family :
         {&pool_nodes_, &pool_accelerators_, &pool_carbon_free_ratio_, &pool_ready_}) {
      family->Remove(&family->Add(labels));
    }
    if (pool_carbon_min_free_ratio_.Has(labels)) {
      pool_carbon_min_free_ratio_.Remove(&pool_carbon_min_free_ratio_.Add(labels));
    }
    for (api::Precision precision : api::kAllPrecisions) {
      auto with_precision = labels;
      with_precision["precision"] = std::string(api::PrecisionName(precision));
      if (pool_capacity_flops_.Has(with_precision)) {
        pool_capacity_flops_.Remove(&pool_capacity_flops_.Add(with_precision));
      }
    }
  }
  pools_ = std::move(seen);

  std::map<std::string, const api::ComputeNode*> compute_nodes;
  for (const auto& compute_node : snapshot.compute_nodes) {
    compute_nodes[compute_node.name] = &compute_node;
  }
  api::FlopsByPrecision bound{}, free{};
  for (const auto& node : snapshot.nodes) {
    auto it = compute_nodes.find(node.name);
    if (it == compute_nodes.end()) continue;
    api::FlopsByPrecision& sum = node.PoolBinding().empty() ? free : bound;
    for (const auto& device : it->second->status.accelerators) {
      if (!device.healthy) continue;
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += device.peak_flops[i];
    }
  }
  for (api::Precision precision : api::kAllPrecisions) {
    const std::string name(api::PrecisionName(precision));
    cluster_flops_.Add({{"precision", name}, {"state", "bound"}}).Set(api::At(bound, precision));
    cluster_flops_.Add({{"precision", name}, {"state", "free"}}).Set(api::At(free, precision));
  }
}

void ControllerMetrics::ObserveReconcile(double seconds, bool success) {
  reconcile_duration_.Observe(seconds);
  (success ? reconcile_success_ : reconcile_failure_).Increment();
}

}  // namespace zhisuan::controller
