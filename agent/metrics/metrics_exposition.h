#pragma once
// /metrics: runs every collector over the latest AgentState and adds the per-collector self
// metrics, zhisuan_agent_collector_duration_seconds and zhisuan_agent_collector_success.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/metrics/collector.h"

namespace zhisuan::agent {

class MetricsExposition {
 public:
  MetricsExposition(const AgentStateStore& store, std::vector<MetricsCollectorPtr> collectors);

  MetricFamilies Collect() const;
  // Text exposition format 0.0.4. The text is rendered once per snapshot and cached: the
  // snapshot only changes on a sampler tick, so scrapes in between (several Prometheus
  // replicas, dashboards polling) cost a string copy. The collector self-metrics in it describe
  // the render of the current snapshot.
  std::string Render() const;

 private:
  const AgentStateStore& store_;
  const std::vector<MetricsCollectorPtr> collectors_;
  mutable std::mutex cache_mu_;
  mutable std::shared_ptr<const AgentState> cached_state_;
  mutable std::string cached_text_;
};

}  // namespace zhisuan::agent
