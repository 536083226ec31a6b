// Energy consumed, as the device's own monotonic counter reports it (NVML: since driver load).
// Exported as a counter so rate() gives average watts over any window, which is more accurate than
// averaging instantaneous power samples.
#include "agent/metrics/collector.h"

namespace zhisuan::agent {
namespace {

class EnergyCollector final : public MetricsCollector {
 public:
  std::string_view Name() const override { return "energy"; }
  Status Collect(const AgentState& state, MetricFamilies& out) const override {
    auto& energy = AddCounterFamily(out, "zhisuan_device_energy_joules_total",
                                    "Energy consumed since the driver loaded.");
    for (const auto& device : state.devices) {
      if (device.telemetry.energy_joules) {
        AddSample(energy, DeviceLabels(device.accelerator), *device.telemetry.energy_joules);
      }
    }
    return TelemetryStatus(state);
  }
};

}  // namespace

MetricsCollectorPtr MakeEnergyCollector() { return std::make_unique<EnergyCollector>(); }

}  // namespace zhisuan::agent
