// Device health as the tracker decided it, and the faults behind it. Every reason is exported for
// every device, 0 included, so alerts on increase() see the first fault.
#include <chrono>

#include "agent/metrics/collector.h"

namespace zhisuan::agent {
namespace {

class HealthCollector final : public MetricsCollector {
 public:
  std::string_view Name() const override { return "health"; }
  Status Collect(const AgentState& state, MetricFamilies& out) const override {
    auto& healthy = AddGaugeFamily(out, "zhisuan_device_healthy",
                                   "1 when the device is Healthy, 0 when Unhealthy.");
    auto& unhealthy_reason =
        AddGaugeFamily(out, "zhisuan_device_unhealthy_reason",
                       "1 for the reason an Unhealthy device is unhealthy, 0 for the others.");
    auto& since = AddGaugeFamily(out, "zhisuan_device_health_state_since_timestamp_seconds",
                                 "When the device entered its current health state.");
    auto& faults = AddCounterFamily(out, "zhisuan_device_health_faults_total",
                                    "Faults seen, by reason (critical Xid, double-bit ECC, ...).");
    auto& ignored = AddCounterFamily(out, "zhisuan_device_health_ignored_events_total",
                                     "Health events ignored by policy (application Xids).");
    for (const auto& device : state.devices) {
      const MetricLabels labels = DeviceLabels(device.accelerator);
      const DeviceHealth& health = device.health;
      AddSample(healthy, labels, health.healthy ? 1 : 0);
      AddSample(since, labels,
                std::chrono::duration<double>(health.since.time_since_epoch()).count());
      for (HealthReason reason : kAllFaultReasons) {
        auto it = health.faults.find(reason);
        AddSample(unhealthy_reason,
                  WithLabel(labels, "reason", std::string(HealthReasonName(reason))),
                  !health.healthy && health.reason == reason ? 1 : 0);
        AddSample(faults, WithLabel(labels, "reason", std::string(HealthReasonName(reason))),
                  it == health.faults.end() ? 0 : static_cast<double>(it->second));
      }
      AddSample(ignored, labels, static_cast<double>(health.ignored_events));
    }
    return OkStatus();
  }
};

}  // namespace

MetricsCollectorPtr MakeHealthCollector() { return std::make_unique<HealthCollector>(); }

}  // namespace zhisuan::agent
