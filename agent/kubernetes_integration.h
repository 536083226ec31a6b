#pragma once
// The agent's Kubernetes side, wired in one place so main.cc (RunAgent) adds one call:
//   auto kubernetes = StartKubernetesIntegration(options, node_name, store, health, clock);
// after the first discovery. It
//   - advertises the accelerators: kubelet device plugins (--advertise=device-plugin, default) or
//     a Node status patch (--advertise=node-status, for kwok nodes without a kubelet), or not at
//     all (--advertise=none);
//   - publishes the zhisuan.io/ Node labels and the ComputeNode, writing only on change;
//   - wakes at once on a health change, so a failing device reaches ListAndWatch and the
//     ComputeNode within a second, and otherwise compares (locally, no API call) every
//     --publish-interval.
// Runs in-cluster (service account, no flags) or out of cluster (--kubeconfig, --node-name).

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent_state.h"
#include "agent/deviceplugin/device_plugin_set.h"
#include "agent/dra/resource_slice_publisher.h"
#include "agent/dra/resource_slices.h"
#include "agent/publish/compute_node_publisher.h"
#include "agent/publish/node_resource_advertiser.h"
#include "kube/client.h"
#include "kube/informer.h"

namespace zhisuan::agent {

enum class AdvertiseMode { kDevicePlugin, kNodeStatus, kNone };

struct KubernetesOptions {
  bool enabled = true;       // --kubernetes=false: metrics only, no API server, no kubelet
  std::string kubeconfig;    // --kubeconfig; "" tries $KUBECONFIG, in-cluster, ~/.kube/config
  std::string kube_context;  // --kube-context
  AdvertiseMode advertise = AdvertiseMode::kDevicePlugin;              // --advertise
  std::string device_plugin_dir = "/var/lib/kubelet/device-plugins/";  // --device-plugin-dir
  std::string resource_prefix;  // --resource-prefix, e.g. zhisuan.io; "" keeps vendor names
  bool publish = true;          // --publish=false: no labels, no ComputeNode
  std::chrono::milliseconds publish_interval{1000};  // --publish-interval
  // --energy-publish-threshold: the fraction by which the average power must move to be
  // republished (PublishPolicy::average_power_threshold_ratio).
  double energy_publish_threshold = PublishPolicy{}.average_power_threshold_ratio;
  std::chrono::milliseconds device_plugin_watch_interval{1000};
  // --dra: publish the accelerators as DRA ResourceSlices (docs/dra.md). Off by default: it needs
  // resource.k8s.io/v1 (Kubernetes 1.34) and the chart's dra.enabled RBAC.
  bool dra = false;
  // --dra-device-taints: an unhealthy device stays in its slice with a taint rather than leaving
  // it. Alpha in 1.34 (the DRADeviceTaints gate); off by default.
  dra::UnhealthyDevices dra_unhealthy_devices = dra::UnhealthyDevices::kLeaveOut;
  std::string sysfs_root = "/sys";  // where the slices' PCIe roots are read (the discovery root)
};

// Removes the Kubernetes flags from `args` (both --name=value and --name value) and returns them,
// leaving the rest for ParseAgentConfig. Errors name the flag.
StatusOr<KubernetesOptions> ExtractKubernetesFlags(std::vector<std::string>& args);
std::string KubernetesUsage();

class KubernetesIntegration {
 public:
  // `client` null: resolved from options (kubeconfig or in-cluster). `store` must hold a
  // discovered inventory (AgentState::ready); `store` and `health` must outlive the integration.
  static StatusOr<std::unique_ptr<KubernetesIntegration>> Start(
      const KubernetesOptions& options, std::string node_name, const AgentStateStore& store,
      DeviceHealthTracker& health, ClockPtr clock, kube::ApiClientPtr client = nullptr);
  ~KubernetesIntegration();
  KubernetesIntegration(const KubernetesIntegration&) = delete;
  KubernetesIntegration& operator=(const KubernetesIntegration&) = delete;

  // Compare and publish now rather than at the next interval.
  void Wake();
  // Writes to the API server so far (labels, ComputeNode, Node status).
  uint64_t api_writes() const;
  // ResourceSlice writes so far (--dra).
  uint64_t slice_writes() const { return slice_publisher_ ? slice_publisher_->writes() : 0; }
  // Publish passes that ended with everything the agent wants on the server.
  uint64_t successful_passes() const;
  const DevicePluginSet* device_plugins() const { return device_plugins_.get(); }

 private:
  KubernetesIntegration(KubernetesOptions options, std::string node_name,
                        const AgentStateStore& store, DeviceHealthTracker& health, ClockPtr clock,
                        kube::ApiClientPtr client);
  // One pass: build the desired publication and write what differs. Returns false on failure.
  bool PublishOnce();
  void StartResourceSlices(const std::vector<Accelerator>& accelerators);
  dra::SliceInputs SliceInputsNow() const;
  void Loop();

  const KubernetesOptions options_;
  const std::string node_name_;
  const AgentStateStore& store_;
  DeviceHealthTracker& health_;
  const ClockPtr clock_;
  const kube::ApiClientPtr client_;
  std::unique_ptr<DeviceHealthSource> health_source_;
  std::unique_ptr<DevicePluginSet> device_plugins_;
  std::unique_ptr<ComputeNodePublisher> publisher_;
  std::unique_ptr<NodeResourceAdvertiser> advertiser_;
  // --dra: the node's own Node (its pool label and uid) and the slices' writer.
  std::unique_ptr<kube::Informer> own_node_;
  std::unique_ptr<dra::ResourceSlicePublisher> slice_publisher_;
  std::map<std::string, std::string> pcie_roots_;
  int health_subscription_ = 0;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool woken_ = false;
  bool stopping_ = false;
  uint64_t successful_passes_ = 0;
  std::string last_error_;  // logged once per distinct error, not once per retry
  std::thread thread_;
};

// The one call for RunAgent; see the header comment.
inline StatusOr<std::unique_ptr<KubernetesIntegration>> StartKubernetesIntegration(
    const KubernetesOptions& options, std::string node_name, const AgentStateStore& store,
    DeviceHealthTracker& health, ClockPtr clock) {
  return KubernetesIntegration::Start(options, std::move(node_name), store, health,
                                      std::move(clock));
}

}  // namespace zhisuan::agent
