// zhisuan_device_info: identity of every accelerator, the series other per-device metrics join on.
#include "agent/metrics/collector.h"
#include "common/strings.h"

namespace zhisuan::agent {
namespace {

class DeviceInfoCollector final : public MetricsCollector {
 public:
  std::string_view Name() const override { return "device_info"; }
  Status Collect(const AgentState& state, MetricFamilies& out) const override {
    auto& info = AddGaugeFamily(out, "zhisuan_device_info",
                                "Accelerator identity; always 1. Join on uuid for pci_bus_id, "
                                "architecture and the discovery backend.");
    for (const auto& device : state.devices) {
      const Accelerator& a = device.accelerator;
      MetricLabels labels = DeviceLabels(a);
      labels.push_back({"pci_bus_id", a.pci_bus_id});
      labels.push_back({"architecture", a.architecture});
      labels.push_back({"backend", a.backend});
      labels.push_back({"numa_node", StrCat(a.numa_node)});
      AddSample(info, std::move(labels), 1);
    }
    return OkStatus();
  }
};

}  // namespace

MetricsCollectorPtr MakeDeviceInfoCollector() { return std::make_unique<DeviceInfoCollector>(); }

}  // namespace zhisuan::agent
