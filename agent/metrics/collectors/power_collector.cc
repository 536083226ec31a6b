// Instantaneous power draw and the enforced power limit of each accelerator.
#include "agent/metrics/collector.h"

namespace zhisuan::agent {
namespace {

class PowerCollector final : public MetricsCollector {
 public:
  std::string_view Name() const override { return "power"; }
  Status Collect(const AgentState& state, MetricFamilies& out) const override {
    auto& power = AddGaugeFamily(out, "zhisuan_device_power_watts", "Power draw.");
    auto& limit = AddGaugeFamily(out, "zhisuan_device_power_limit_watts", "Enforced power limit.");
    for (const auto& device : state.devices) {
      const DeviceTelemetry& t = device.telemetry;
      if (t.power_watts) AddSample(power, DeviceLabels(device.accelerator), *t.power_watts);
      if (t.power_limit_watts) {
        AddSample(limit, DeviceLabels(device.accelerator), *t.power_limit_watts);
      }
    }
    return TelemetryStatus(state);
  }
};

}  // namespace

MetricsCollectorPtr MakePowerCollector() { return std::make_unique<PowerCollector>(); }

}  // namespace zhisuan::agent
