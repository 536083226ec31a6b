#pragma once
// The controller's Prometheus metrics: what each pool holds, what the cluster has free, and how
// the reconcile loop is doing. Pool series are rebuilt from each snapshot, so a deleted pool's
// series disappear instead of freezing at their last value.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "controller/reconcile/snapshot.h"

namespace zhisuan::controller {

class ControllerMetrics {
 public:
  explicit ControllerMetrics(std::shared_ptr<prometheus::Registry> registry);

  // Pool and cluster-supply gauges from a snapshot (the pools' statuses as last written).
  void ObserveCluster(const ClusterSnapshot& snapshot);
  void ObserveReconcile(double seconds, bool success);
  void SetQueueDepth(size_t depth) { queue_depth_.Set(static_cast<double>(depth)); }
  void SetLeader(bool leader) { is_leader_.Set(leader ? 1 : 0); }

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge>& pool_capacity_flops_;
  prometheus::Family<prometheus::Gauge>& pool_nodes_;
  prometheus::Family<prometheus::Gauge>& pool_accelerators_;
  prometheus::Family<prometheus::Gauge>& pool_carbon_free_ratio_;
  prometheus::Family<prometheus::Gauge>& pool_ready_;
  prometheus::Family<prometheus::Gauge>& pool_carbon_min_free_ratio_;
  prometheus::Family<prometheus::Gauge>& pool_member_;
  prometheus::Family<prometheus::Gauge>& cluster_flops_;
  prometheus::Histogram& reconcile_duration_;
  prometheus::Family<prometheus::Counter>& reconciles_;
  prometheus::Counter& reconcile_success_;
  prometheus::Counter& reconcile_failure_;
  prometheus::Gauge& queue_depth_;
  prometheus::Gauge& is_leader_;

  std::mutex mu_;
  std::set<std::pair<std::string, std::string>> pools_;   // (namespace, name) with series
  std::set<std::map<std::string, std::string>> members_;  // label sets of pool_member series
};

}  // namespace zhisuan::controller
