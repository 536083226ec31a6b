#pragma once
// Which devices the kubelet has allocated to pods, from its pod-resources API
// (/var/lib/kubelet/pod-resources/kubelet.sock, v1.PodResourcesLister/List). The FLOPS probe reads
// it so that it never runs on a device a pod holds, however idle the device looks.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace zhisuan::agent {

struct AllocatedDevice {
  std::string pod_namespace;
  std::string pod;
  std::string container;
  std::string resource_name;
  std::string device_id;
};

class PodResourcesSource {
 public:
  virtual ~PodResourcesSource() = default;
  // Every device allocated to a container. NotFound when the socket does not exist (no kubelet);
  // Unavailable when it exists and the call fails.
  virtual StatusOr<std::vector<AllocatedDevice>> ListAllocatedDevices() = 0;
};
using PodResourcesSourcePtr = std::unique_ptr<PodResourcesSource>;

PodResourcesSourcePtr MakePodResourcesClient(
    std::string socket_path, std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace zhisuan::agent
