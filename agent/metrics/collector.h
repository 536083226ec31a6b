#pragma once
// A metrics collector turns one aspect of the cached AgentState into Prometheus metric families.
// One collector per file under collectors/, like node_exporter; each is timed and its success
// exported by MetricsExposition as zhisuan_agent_collector_{duration_seconds,success}.
//
// Collectors are listed explicitly in MakeDefaultCollectors() rather than self-registering from
// static initialisers: zhisuan_agent is a static library, and the linker drops object files that
// nothing references, registrations included.

#include <prometheus/metric_family.h>

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/agent_state.h"
#include "common/status.h"

namespace zhisuan::agent {

// A deque, not a vector: a collector holds references to the families it added (AddGaugeFamily)
// while it adds more, and a deque's emplace_back never moves the elements already there.
using MetricFamilies = std::deque<prometheus::MetricFamily>;
using MetricLabels = std::vector<prometheus::ClientMetric::Label>;

class MetricsCollector {
 public:
  virtual ~MetricsCollector() = default;
  virtual std::string_view Name() const = 0;  // the `collector` label: "power", "health", ...
  // Appends this collector's families. Not OK when its source failed in the latest sample; what
  // it appended is still exported.
  virtual Status Collect(const AgentState& state, MetricFamilies& out) const = 0;
};
using MetricsCollectorPtr = std::unique_ptr<MetricsCollector>;

std::vector<MetricsCollectorPtr> MakeDefaultCollectors();

MetricsCollectorPtr MakeDeviceInfoCollector();
MetricsCollectorPtr MakeUtilizationCollector();
MetricsCollectorPtr MakeMemoryCollector();
MetricsCollectorPtr MakePowerCollector();
MetricsCollectorPtr MakeEnergyCollector();
MetricsCollectorPtr MakeTemperatureCollector();
MetricsCollectorPtr MakeHealthCollector();
MetricsCollectorPtr MakePeakFlopsCollector();
MetricsCollectorPtr MakeMeasuredFlopsCollector();
MetricsCollectorPtr MakeEnergyProfileCollector();
MetricsCollectorPtr MakeEmissionsCollector();
MetricsCollectorPtr MakeNodeCollector();
MetricsCollectorPtr MakeAgentCollector();

// Helpers shared by the collectors.
prometheus::MetricFamily& AddGaugeFamily(MetricFamilies& out, std::string name, std::string help);
prometheus::MetricFamily& AddCounterFamily(MetricFamilies& out, std::string name, std::string help);
// Appends a sample, setting the gauge or counter value according to the family's type.
void AddSample(prometheus::MetricFamily& family, MetricLabels labels, double value);
// uuid, index, vendor, product: the labels every per-device series carries.
MetricLabels DeviceLabels(const Accelerator& accelerator);
MetricLabels WithLabel(MetricLabels labels, std::string name, std::string value);
// OK unless some device's telemetry failed (Unimplemented, a backend with no telemetry, is OK).
Status TelemetryStatus(const AgentState& state);

}  // namespace zhisuan::agent
