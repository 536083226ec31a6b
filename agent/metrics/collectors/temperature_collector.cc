// Core temperature of each accelerator.
#include "agent/metrics/collector.h"

namespace zhisuan::agent {
namespace {

class TemperatureCollector final : public MetricsCollector {
 public:
  std::string_view Name() const override { return "temperature"; }
  Status Collect(const AgentState& state, MetricFamilies& out) const override {
    auto& temperature =
        AddGaugeFamily(out, "zhisuan_device_temperature_celsius", "Core temperature.");
    for (const auto& device : state.devices) {
      if (device.telemetry.temperature_celsius) {
        AddSample(temperature, DeviceLabels(device.accelerator),
                  *device.telemetry.temperature_celsius);
      }
    }
    return TelemetryStatus(state);
  }
};

}  // namespace

MetricsCollectorPtr MakeTemperatureCollector() { return std::make_unique<TemperatureCollector>(); }

}  // namespace zhisuan::agent
