// Device memory: the total from discovery, the used amount from telemetry.
#include "agent/metrics/collector.h"

namespace zhisuan::agent {
namespace {

class MemoryCollector final : public MetricsCollector {
 public:
  std::string_view Name() const override { return "memory"; }
  Status Collect(const AgentState& state, MetricFamilies& out) const override {
    auto& total = AddGaugeFamily(out, "zhisuan_device_memory_total_bytes",
                                 "Device memory size; 0 where discovery could not tell.");
    auto& used = AddGaugeFamily(out, "zhisuan_device_memory_used_bytes", "Device memory in use.");
    for (const auto& device : state.devices) {
      AddSample(total, DeviceLabels(device.accelerator),
                static_cast<double>(device.accelerator.memory_bytes));
      if (device.telemetry.memory_used_bytes) {
        AddSample(used, DeviceLabels(device.accelerator), *device.telemetry.memory_used_bytes);
      }
    }
    return TelemetryStatus(state);
  }
};

}  // namespace

MetricsCollectorPtr MakeMemoryCollector() { return std::make_unique<MemoryCollector>(); }

}  // namespace zhisuan::agent
