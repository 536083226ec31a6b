#pragma once
// The pure half of the kubelet device plugin: which devices a resource offers, what a container
// gets when kubelet allocates some of them, and which ones to prefer. No gRPC here; the server
// (device_plugin_server.h) translates these structs to and from the v1beta1 messages.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/device.h"
#include "common/status.h"

namespace zhisuan::agent {

// One device as ListAndWatch reports it. The ID is the accelerator's UUID (stable across reboots
// and driver reloads, unlike the index).
struct PluginDevice {
  std::string id;
  bool healthy = true;
  int numa_node = -1;  // -1: unknown (no topology hint is sent)

  friend bool operator==(const PluginDevice&, const PluginDevice&) = default;
};

struct ContainerMount {
  std::string container_path;
  std::string host_path;
  bool read_only = false;
  friend bool operator==(const ContainerMount&, const ContainerMount&) = default;
};

struct ContainerDevice {
  std::string container_path;
  std::string host_path;
  std::string permissions;  // "rw", "rwm"
  friend bool operator==(const ContainerDevice&, const ContainerDevice&) = default;
};

// What one container receives: ContainerAllocateResponse without the protobuf.
struct ContainerAllocation {
  std::map<std::string, std::string> envs;
  std::vector<ContainerMount> mounts;
  std::vector<ContainerDevice> devices;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> cdi_devices;  // fully qualified CDI names: "nvidia.com/gpu=<uuid>"
};

// The devices of one resource and their health. `unhealthy` maps a UUID to why.
class ResourceDevices {
 public:
  ResourceDevices(std::string resource_name, std::vector<Accelerator> accelerators);

  const std::string& resource_name() const { return resource_name_; }
  const std::vector<Accelerator>& accelerators() const { return accelerators_; }
  const Accelerator* Find(const std::string& id) const;

  // ListAndWatch's device list, in index order.
  std::vector<PluginDevice> List(const std::map<std::string, std::string>& unhealthy) const;

  // Allocate for one container. InvalidArgument for an ID this resource does not have,
  // FailedPrecondition for an unhealthy device: kubelet then fails the pod admission rather than
  // start a container on a broken device.
  StatusOr<ContainerAllocation> Allocate(const std::vector<std::string>& ids,
                                         const std::map<std::string, std::string>& unhealthy) const;

  // GetPreferredAllocation for one container: every must-include device, then devices from one
  // NUMA node so the container's accelerators share a memory domain. The node is the one holding
  // the must-include devices, else the one with most available devices, ties to the lowest node
  // id; if it runs out, the next by the same order. Unknown IDs are ignored. Deterministic.
  std::vector<std::string> Prefer(const std::vector<std::string>& available,
                                  const std::vector<std::string>& must_include,
                                  int allocation_size) const;

 private:
  std::string resource_name_;
  std::vector<Accelerator> accelerators_;
  std::map<std::string, size_t> by_id_;
};

// Per-vendor container wiring for `selected` (all of one vendor, in index order):
//   NVIDIA  NVIDIA_VISIBLE_DEVICES=<uuids> and CDI devices nvidia.com/gpu=<uuid>; the NVIDIA
//           container toolkit then adds device nodes and driver libraries
//   AMD     /dev/kfd and each device's /dev/dri/renderD* node (what the ROCm runtime opens)
//   Huawei  ASCEND_VISIBLE_DEVICES=<indices>, /dev/davinci<N> per device and the shared
//           /dev/davinci_manager, /dev/devmm_svm and /dev/hisi_hdc
//   others  each device's device nodes
ContainerAllocation VendorAllocation(Vendor vendor,
                                     const std::vector<const Accelerator*>& selected);

}  // namespace zhisuan::agent
