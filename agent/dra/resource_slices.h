#pragma once
// The ResourceSlices (resource.k8s.io/v1) that publish a node's accelerators to Dynamic Resource
// Allocation, built from the agent's snapshot with no I/O: one pool per node (named after the
// node), one device per accelerator (an unhealthy one left out, or tainted with
// --dra-device-taints), at most kMaxDevicesPerSlice devices per slice. The attribute names, types
// and units are the DRA API of Zhisuan and are documented with a CEL selector each in
// docs/dra.md; the publisher (resource_slice_publisher.h) writes what differs.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/agent_state.h"
#include "common/file_reader.h"
#include "common/status.h"
#include "kube/client.h"

namespace zhisuan::agent::dra {

inline const kube::ResourceType kResourceSlices{"resource.k8s.io", "v1", "resourceslices",
                                                "ResourceSlice", false};

// API limits (resource.k8s.io/v1): devices per slice, attributes plus capacities per device.
inline constexpr size_t kMaxDevicesPerSlice = 128;
inline constexpr size_t kMaxAttributesAndCapacitiesPerDevice = 32;

// What an unhealthy device becomes (--dra-device-taints). kLeaveOut is the GA behaviour: the device
// leaves the slice until it recovers. The taints (resource.k8s.io/v1 Device.taints) are alpha in
// Kubernetes 1.34, honoured only with the DRADeviceTaints feature gate on in kube-apiserver,
// kube-scheduler and kube-controller-manager: the device stays visible with a taint keyed
// kUnhealthyTaintKey, NoSchedule keeping it from new claims and NoExecute also evicting the pods
// whose claims hold it.
enum class UnhealthyDevices { kLeaveOut, kTaintNoSchedule, kTaintNoExecute };
inline constexpr std::string_view kUnhealthyTaintKey = "zhisuan.io/unhealthy";

// "off", "NoSchedule" or "NoExecute" (the flag's and the chart's spelling).
StatusOr<UnhealthyDevices> ParseUnhealthyDevices(std::string_view value);

struct SliceInputs {
  std::string node_name;
  std::string node_uid;      // the Node's uid, for the slices' owner reference; "" leaves it out
  std::string pool_binding;  // the Node's zhisuan.io/pool label; "" while unbound
  // Live health by UUID (DeviceHealthTracker::Snapshot); a device missing here uses the snapshot's.
  std::map<std::string, DeviceHealth> health;
  // PCI bus id -> PCIe root ("pci0000:15"), as PcieRoots finds them.
  std::map<std::string, std::string> pcie_roots;
  UnhealthyDevices unhealthy = UnhealthyDevices::kLeaveOut;
};

// One accelerator as a resource.k8s.io/v1 Device: name (DraDeviceName), attributes, capacity.
kube::Json BuildDevice(const DeviceState& device, const AgentState& state,
                       const SliceInputs& inputs);

// The node's slices, in order, each complete except spec.pool.generation (the publisher's). An
// unhealthy device is left out or tainted (SliceInputs::unhealthy), so the scheduler cannot
// allocate it; it returns, untainted, when it recovers.
// A node with no allocatable device still has one empty slice, which keeps its pool known.
std::vector<kube::Json> BuildResourceSlices(const AgentState& state, const SliceInputs& inputs);

// The name of the node's index-th slice: "<node>-zhisuan-<index>".
std::string SliceName(const std::string& node_name, size_t index);

// The PCIe root complex of each PCI device, from the /sys/bus/pci/devices/<bus id> symlink
// ("../../../devices/pci0000:15/0000:15:01.0/0000:17:00.0" -> "pci0000:15"). Devices whose link
// cannot be read (fixture trees, non-PCI devices) are absent: the attribute is then left out.
std::map<std::string, std::string> PcieRoots(const FileReader& sysfs,
                                             const std::vector<std::string>& pci_bus_ids);

// A non-negative integer as the API server writes a DecimalSI quantity (192000000000 -> "192G",
// 85520809984 -> "85520809984"), so that what the agent sends compares equal to what it reads.
std::string CanonicalQuantity(uint64_t value);

}  // namespace zhisuan::agent::dra
