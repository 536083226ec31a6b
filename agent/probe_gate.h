#pragma once
// Which accelerators a FLOPS probe may run on. A probe saturates the device, so it is skipped when
//   - the device was busier than the threshold in the latest sample, or
//   - the kubelet lists it as allocated to a pod (pod-resources API), however idle it looks: a
//     tenant's pod may be between kernels, and its device is not the agent's to borrow, or
//   - its allocation cannot be known: the pod-resources API failed, or its socket is absent while
//     the agent advertises devices through a device plugin (pods may hold them; unknown is not
//     free). Without a device plugin (--advertise=node-status or none, --kubernetes=false: kwok
//     and demo nodes, no kubelet) an absent socket means nothing is allocated.
// Each skip names its reason, which reaches the measurement's status and the probe's log line.

#include <optional>
#include <string>
#include <string_view>

#include "agent/agent_state.h"
#include "agent/podresources/pod_resources_client.h"

namespace zhisuan::agent {

struct ProbeGateOptions {
  double busy_utilization_ratio = 0.05;
  // True in device-plugin mode: an absent pod-resources socket then skips every accelerator.
  bool pod_resources_required = true;
};

class ProbeGate {
 public:
  // `store` must outlive the gate; `pod_resources` may be null (treated as an absent socket).
  ProbeGate(const AgentStateStore& store, PodResourcesSourcePtr pod_resources,
            ProbeGateOptions options);
  // Why the device at `pci_bus_id` must not be probed, or nullopt.
  std::optional<std::string> SkipReason(std::string_view pci_bus_id) const;

 private:
  const AgentStateStore& store_;
  const PodResourcesSourcePtr pod_resources_;
  const ProbeGateOptions options_;
};

}  // namespace zhisuan::agent
