#include "agent/kubernetes_integration.h"

#include <algorithm>

#include "agent/dra/resource_slices.h"
#include "agent/publish/compute_node_status.h"
#include "agent/publish/node_labels.h"
#include "agent/resource_naming.h"
#include "api/meta.h"
#include "common/flags.h"
#include "common/log.h"
#include "common/strings.h"
#include "common/thread_guard.h"
#include "kube/config.h"
#include "kube/rest_client.h"

namespace zhisuan::agent {
namespace {

constexpr std::chrono::seconds kMaxRetryDelay{60};

// The publish loop waits publish_interval between comparisons, so zero would spin.
StatusOr<std::chrono::milliseconds> ParsePublishInterval(std::string_view flag,
                                                         std::string_view value) {
  ZHISUAN_ASSIGN_OR_RETURN(std::chrono::milliseconds interval, ParseDurationFlag(flag, value));
  if (interval <= std::chrono::milliseconds(0)) {
    return InvalidArgumentError(StrCat("--", flag, "=", value, ": must be longer than 0"));
  }
  return interval;
}

// A fraction from 0 to 1.
StatusOr<double> ParseFraction(std::string_view flag, std::string_view value) {
  const std::optional<double> number = ParseDouble(value);
  if (!number || !(*number >= 0 && *number <= 1)) {
    return InvalidArgumentError(StrCat("--", flag, "=", value, ": must be a number from 0 to 1"));
  }
  return *number;
}

}  // namespace

std::string KubernetesUsage() {
  return R"(Kubernetes:
  --kubeconfig=PATH          kubeconfig to use; default $KUBECONFIG, then the pod's service
                             account, then ~/.kube/config
  --kube-context=NAME        kubeconfig context (default: current-context)
  --advertise=MODE           device-plugin (default): kubelet device plugins;
                             node-status: patch Node status capacity (nodes without kubelet, kwok);
                             none: do not advertise extended resources
  --device-plugin-dir=DIR    kubelet device-plugin directory (default /var/lib/kubelet/device-plugins/)
  --resource-prefix=DOMAIN   advertise as DOMAIN/<vendor>-<kind> (zhisuan.io/nvidia-gpu) instead of
                             the vendor names (nvidia.com/gpu), to run beside a vendor plugin
  --publish=BOOL             publish Node labels and the ComputeNode (default true)
  --publish-interval=DUR     how often the desired state is compared with the published one; a
                             comparison is local and writes only on change (default 1s; any
                             duration above 0: 500ms, 1s, 2m, 1h)
  --energy-publish-threshold=FRACTION
                             republish the accelerators' average power in the ComputeNode only
                             when it moves by more than this fraction (default 0.1; 0..1)
  --kubernetes=BOOL          false: no API server and no kubelet at all (default true)
  --dra=BOOL                 publish the accelerators as DRA ResourceSlices (resource.k8s.io/v1,
                             Kubernetes 1.34+; docs/dra.md); needs the chart's dra.enabled RBAC
                             (default false)
  --dra-device-taints=EFFECT off, NoSchedule or NoExecute: keep an unhealthy device in its slice
                             with the taint zhisuan.io/unhealthy of that effect instead of leaving
                             it out. Alpha: needs the DRADeviceTaints feature gate in
                             kube-apiserver, kube-scheduler and kube-controller-manager; without
                             it in the API server the agent falls back to off (default off)
)";
}

StatusOr<KubernetesOptions> ExtractKubernetesFlags(std::vector<std::string>& args) {
  KubernetesOptions options;
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::optional<FlagArgument> flag = SplitFlagArgument(args[i]);
    if (!flag) {
      rest.push_back(args[i]);
      continue;
    }
    const std::string name(flag->name);
    static const std::vector<std::string> kFlags = {"kubeconfig",
                                                    "kube-context",
                                                    "advertise",
                                                    "device-plugin-dir",
                                                    "resource-prefix",
                                                    "publish",
                                                    "publish-interval",
                                                    "kubernetes",
                                                    "energy-publish-threshold",
                                                    "dra",
                                                    "dra-device-taints"};
    if (std::find(kFlags.begin(), kFlags.end(), name) == kFlags.end()) {
      rest.push_back(args[i]);
      continue;
    }
    std::string value;
    if (flag->value) {
      value = std::string(*flag->value);
    } else if (name == "publish" || name == "kubernetes" || name == "dra") {
      value = "true";  // a bare boolean flag
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return InvalidArgumentError(StrCat("--", name, " needs a value"));
    }
    if (name == "kubeconfig") {
      options.kubeconfig = value;
    } else if (name == "kube-context") {
      options.kube_context = value;
    } else if (name == "advertise") {
      if (value == "device-plugin") {
        options.advertise = AdvertiseMode::kDevicePlugin;
      } else if (value == "node-status") {
        options.advertise = AdvertiseMode::kNodeStatus;
      } else if (value == "none") {
        options.advertise = AdvertiseMode::kNone;
      } else {
        return InvalidArgumentError(
            StrCat("--advertise takes device-plugin, node-status or none, not \"", value, "\""));
      }
    } else if (name == "device-plugin-dir") {
      if (value.empty()) return InvalidArgumentError("--device-plugin-dir is empty");
      options.device_plugin_dir = value;
    } else if (name == "resource-prefix") {
      if (!value.empty()) ZHISUAN_RETURN_IF_ERROR(ValidateResourcePrefix(value));
      options.resource_prefix = value;
    } else if (name == "publish") {
      ZHISUAN_ASSIGN_OR_RETURN(options.publish, ParseBoolFlag(name, value));
    } else if (name == "kubernetes") {
      ZHISUAN_ASSIGN_OR_RETURN(options.enabled, ParseBoolFlag(name, value));
    } else if (name == "dra") {
      ZHISUAN_ASSIGN_OR_RETURN(options.dra, ParseBoolFlag(name, value));
    } else if (name == "dra-device-taints") {
      ZHISUAN_ASSIGN_OR_RETURN(options.dra_unhealthy_devices, dra::ParseUnhealthyDevices(value));
    } else if (name == "publish-interval") {
      ZHISUAN_ASSIGN_OR_RETURN(options.publish_interval, ParsePublishInterval(name, value));
    } else if (name == "energy-publish-threshold") {
      ZHISUAN_ASSIGN_OR_RETURN(options.energy_publish_threshold, ParseFraction(name, value));
    }
  }
  if (options.dra_unhealthy_devices != dra::UnhealthyDevices::kLeaveOut && !options.dra) {
    return InvalidArgumentError("--dra-device-taints needs --dra=true");
  }
  args = std::move(rest);
  return options;
}

KubernetesIntegration::KubernetesIntegration(KubernetesOptions options, std::string node_name,
                                             const AgentStateStore& store,
                                             DeviceHealthTracker& health, ClockPtr clock,
                                             kube::ApiClientPtr client)
    : options_(std::move(options)),
      node_name_(std::move(node_name)),
      store_(store),
      health_(health),
      clock_(std::move(clock)),
      client_(std::move(client)) {}

StatusOr<std::unique_ptr<KubernetesIntegration>> KubernetesIntegration::Start(
    const KubernetesOptions& options, std::string node_name, const AgentStateStore& store,
    DeviceHealthTracker& health, ClockPtr clock, kube::ApiClientPtr client) {
  if (node_name.empty()) return InvalidArgumentError("the node name is empty (--node-name)");
  const bool needs_api =
      options.publish || options.dra || options.advertise == AdvertiseMode::kNodeStatus;
  if (needs_api && client == nullptr) {
    ZHISUAN_ASSIGN_OR_RETURN(kube::ClientConfig config,
                             kube::ResolveClientConfig(options.kubeconfig, options.kube_context));
    config.user_agent = StrCat("zhisuan-agent/", ZHISUAN_VERSION);
    ZLOG(Info) << "Kubernetes API server " << config.server << " (" << config.source << ")";
    ZHISUAN_ASSIGN_OR_RETURN(client, kube::NewRestClient(config, clock));
  }
  std::unique_ptr<KubernetesIntegration> integration(new KubernetesIntegration(
      options, std::move(node_name), store, health, std::move(clock), std::move(client)));
  KubernetesIntegration& self = *integration;
  self.health_source_ = TrackerHealthSource(health);

  const auto state = store.Load();
  std::vector<Accelerator> accelerators;
  for (const auto& device : state->devices) accelerators.push_back(device.accelerator);
  if (options.advertise == AdvertiseMode::kDevicePlugin && !accelerators.empty()) {
    DevicePluginSetOptions plugin_options{.plugin_dir = options.device_plugin_dir,
                                          .resource_prefix = options.resource_prefix,
                                          .watch_interval = options.device_plugin_watch_interval};
    ZHISUAN_ASSIGN_OR_RETURN(
        self.device_plugins_,
        DevicePluginSet::Start(plugin_options, accelerators, *self.health_source_));
  }
  if (options.publish) {
    PublishPolicy policy;
    policy.average_power_threshold_ratio = options.energy_publish_threshold;
    self.publisher_ =
        std::make_unique<ComputeNodePublisher>(self.client_, self.node_name_, std::move(policy));
  }
  if (options.advertise == AdvertiseMode::kNodeStatus) {
    self.advertiser_ = std::make_unique<NodeResourceAdvertiser>(self.client_, self.node_name_);
  }
  if (options.dra) self.StartResourceSlices(accelerators);
  self.health_subscription_ =
      health.Subscribe([raw = &self](const std::string&, const DeviceHealth&) { raw->Wake(); });
  self.thread_ =
      std::thread([raw = &self] { RunGuarded("kubernetes-publish", [raw] { raw->Loop(); }); });
  return integration;
}

void KubernetesIntegration::StartResourceSlices(const std::vector<Accelerator>& accelerators) {
  std::vector<std::string> bus_ids;
  bus_ids.reserve(accelerators.size());
  for (const Accelerator& accelerator : accelerators) bus_ids.push_back(accelerator.pci_bus_id);
  pcie_roots_ = dra::PcieRoots(*MakeRootedFileReader(options_.sysfs_root), bus_ids);
  slice_publisher_ = std::make_unique<dra::ResourceSlicePublisher>(client_, node_name_, clock_);
  // The pool binding is the controller's label on the Node, which changes while the agent runs:
  // a watch on this one Node (a field selector) learns it without polling.
  kube::InformerOptions node_options;
  node_options.type = kube::kNodes;
  node_options.field_selector = StrCat("metadata.name=", node_name_);
  node_options.drop_managed_fields = true;
  own_node_ = std::make_unique<kube::Informer>(client_, std::move(node_options), clock_);
  kube::ResourceEventHandlers handlers;
  handlers.on_add = [this](const kube::ObjectPtr&) { Wake(); };
  handlers.on_update = [this](const kube::ObjectPtr&, const kube::ObjectPtr&) { Wake(); };
  own_node_->AddEventHandlers(std::move(handlers));
  own_node_->Start();
}

dra::SliceInputs KubernetesIntegration::SliceInputsNow() const {
  dra::SliceInputs inputs;
  inputs.node_name = node_name_;
  inputs.health = health_.Snapshot();
  inputs.pcie_roots = pcie_roots_;
  // Once the server has dropped a taint, tainting would publish unhealthy devices as allocatable.
  inputs.unhealthy = slice_publisher_->taints_dropped() ? dra::UnhealthyDevices::kLeaveOut
                                                        : options_.dra_unhealthy_devices;
  if (kube::ObjectPtr node = own_node_->store().Get(node_name_)) {
    const kube::Json& metadata = (*node)["metadata"];
    inputs.node_uid = metadata.value("uid", "");
    inputs.pool_binding =
        metadata.value("labels", kube::Json::object()).value(std::string(api::kPoolLabel), "");
  }
  return inputs;
}

KubernetesIntegration::~KubernetesIntegration() {
  health_.Unsubscribe(health_subscription_);
  if (own_node_) own_node_->Stop();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  device_plugins_.reset();
}

void KubernetesIntegration::Wake() {
  std::lock_guard lock(mu_);
  woken_ = true;
  wake_.notify_all();
}

uint64_t KubernetesIntegration::api_writes() const {
  return (publisher_ ? publisher_->writes() : 0) + (advertiser_ ? advertiser_->writes() : 0);
}

uint64_t KubernetesIntegration::successful_passes() const {
  std::lock_guard lock(mu_);
  return successful_passes_;
}

bool KubernetesIntegration::PublishOnce() {
  const auto state = store_.Load();
  if (!state->ready) return true;  // nothing discovered yet: nothing to say
  std::vector<Accelerator> accelerators;
  for (const auto& device : state->devices) accelerators.push_back(device.accelerator);
  const auto live_health = health_.Snapshot();
  Status failure;
  if (publisher_) {
    DesiredPublication desired{
        .node_name = node_name_,
        .labels = NodeLabelsFor(accelerators),
        .status = BuildComputeNodeStatus(*state, &live_health, clock_->WallNow()),
        .average_power_pending = state->accelerator_average_power.pending};
    auto written = publisher_->Publish(desired);
    if (!written.ok()) failure = written.status();
  }
  if (slice_publisher_ && own_node_->HasSynced()) {
    const bool taints_dropped_before = slice_publisher_->taints_dropped();
    auto written = slice_publisher_->Publish(dra::BuildResourceSlices(*state, SliceInputsNow()));
    if (!written.ok() && !taints_dropped_before && slice_publisher_->taints_dropped()) {
      // Said once, then republished at once with the unhealthy devices left out.
      ZLOG(Error) << written.status() << "; unhealthy devices now leave the slices instead";
      written = slice_publisher_->Publish(dra::BuildResourceSlices(*state, SliceInputsNow()));
    }
    if (!written.ok() && failure.ok()) failure = written.status();
  }
  if (advertiser_) {
    auto written = advertiser_->Advertise(
        CountResources(accelerators, options_.resource_prefix, health_source_->Unhealthy()));
    if (!written.ok() && failure.ok()) failure = written.status();
  }
  std::lock_guard lock(mu_);
  if (!failure.ok()) {
    if (failure.ToString() != last_error_) ZLOG(Warning) << failure << "; retrying";
    last_error_ = failure.ToString();
    return false;
  }
  if (!last_error_.empty()) ZLOG(Info) << "publishing to Kubernetes recovered";
  last_error_.clear();
  ++successful_passes_;
  return true;
}

void KubernetesIntegration::Loop() {
  std::chrono::milliseconds retry_delay = options_.publish_interval;
  std::chrono::milliseconds delay{0};
  while (true) {
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, delay, [this] { return stopping_ || woken_; });
      if (stopping_) return;
      woken_ = false;
    }
    if (PublishOnce()) {
      retry_delay = options_.publish_interval;
      delay = options_.publish_interval;
    } else {
      // Back off on failures (an unreachable or throttling server), up to a minute.
      retry_delay = std::min<std::chrono::milliseconds>(retry_delay * 2, kMaxRetryDelay);
      delay = retry_delay;
    }
  }
}

}  // namespace zhisuan::agent
