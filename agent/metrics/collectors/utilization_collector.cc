// Busy fraction and current clock of each accelerator, as the vendor library reports them.
#include "agent/metrics/collector.h"

namespace zhisuan::agent {
namespace {

class UtilizationCollector final : public MetricsCollector {
 public:
  std::string_view Name() const override { return "utilization"; }
  Status Collect(const AgentState& state, MetricFamilies& out) const override {
    auto& utilization = AddGaugeFamily(out, "zhisuan_device_utilization_ratio",
                                       "Fraction of the last sample period the device was busy.");
    auto& clock = AddGaugeFamily(out, "zhisuan_device_clock_hertz", "Current core clock.");
    for (const auto& device : state.devices) {
      const DeviceTelemetry& t = device.telemetry;
      if (t.utilization_ratio) {
        AddSample(utilization, DeviceLabels(device.accelerator), *t.utilization_ratio);
      }
      if (t.clock_mhz) AddSample(clock, DeviceLabels(device.accelerator), *t.clock_mhz * 1e6);
    }
    return TelemetryStatus(state);
  }
};

}  // namespace

MetricsCollectorPtr MakeUtilizationCollector() { return std::make_unique<UtilizationCollector>(); }

}  // namespace zhisuan::agent
