#include "agent/probe_gate.h"

#include "common/strings.h"

namespace zhisuan::agent {

ProbeGate::ProbeGate(const AgentStateStore& store, PodResourcesSourcePtr pod_resources,
                     ProbeGateOptions options)
    : store_(store), pod_resources_(std::move(pod_resources)), options_(options) {}

std::optional<std::string> ProbeGate::SkipReason(std::string_view pci_bus_id) const {
  const auto state = store_.Load();
  std::string uuid;
  for (const auto& device : state->devices) {
    if (device.accelerator.pci_bus_id != pci_bus_id) continue;
    uuid = device.accelerator.uuid;
    const double utilization = device.telemetry.utilization_ratio.value_or(0);
    if (utilization > options_.busy_utilization_ratio) {
      return StrCat("device busy (utilization ", utilization, " > ",
                    options_.busy_utilization_ratio, ")");
    }
  }
  StatusOr<std::vector<AllocatedDevice>> allocated =
      pod_resources_ != nullptr
          ? pod_resources_->ListAllocatedDevices()
          : StatusOr<std::vector<AllocatedDevice>>(NotFoundError("no pod-resources source"));
  if (!allocated.ok()) {
    if (allocated.status().code() == StatusCode::kNotFound && !options_.pod_resources_required) {
      return std::nullopt;
    }
    return StrCat("allocation unknown (", allocated.status().message(), ")");
  }
  // Device plugins name devices by UUID (ours and NVIDIA's) or by PCI bus id; either matches,
  // whatever the resource name.
  for (const auto& device : *allocated) {
    if ((!uuid.empty() && device.device_id == uuid) || AsciiLower(device.device_id) == pci_bus_id) {
      return StrCat("allocated to pod ", device.pod_namespace, "/", device.pod, " (",
                    device.resource_name, ")");
    }
  }
  return std::nullopt;
}

}  // namespace zhisuan::agent
