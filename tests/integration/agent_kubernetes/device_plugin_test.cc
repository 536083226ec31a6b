// The device plugin against a stand-in kubelet: registration, ListAndWatch, Allocate and
// GetPreferredAllocation over the real gRPC sockets, re-registration after a kubelet restart, and
// a health change reaching both ListAndWatch and the ComputeNode on a real API server within 5 s,
// then recovering after the quiet period.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "agent/deviceplugin/device_plugin_set.h"
#include "agent/kubernetes_integration.h"
#include "tests/harness/control_plane_environment.h"
#include "tests/integration/agent_kubernetes/test_support.h"
#include "tests/unit/agent/kubernetes/inventories.h"

namespace zhisuan::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// A ListAndWatch reader on its own thread, keeping every list it received.
class ListAndWatchReader {
 public:
  explicit ListAndWatchReader(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1beta1::DevicePlugin::NewStub(channel)) {
    thread_ = std::thread([this] {
      v1beta1::Empty request;
      auto stream = stub_->ListAndWatch(&context_, request);
      v1beta1::ListAndWatchResponse response;
      while (stream->Read(&response)) {
        std::lock_guard lock(mu_);
        lists_.push_back(response);
      }
      stream->Finish();
    });
  }
  ~ListAndWatchReader() {
    context_.TryCancel();
    thread_.join();
  }
  std::vector<v1beta1::ListAndWatchResponse> lists() const {
    std::lock_guard lock(mu_);
    return lists_;
  }
  // The health of `id` in the latest list; "" before the first.
  std::string LatestHealth(const std::string& id) const {
    std::lock_guard lock(mu_);
    if (lists_.empty()) return "";
    for (const auto& device : lists_.back().devices()) {
      if (device.id() == id) return device.health();
    }
    return "missing";
  }

 private:
  std::unique_ptr<v1beta1::DevicePlugin::Stub> stub_;
  grpc::ClientContext context_;
  mutable std::mutex mu_;
  std::vector<v1beta1::ListAndWatchResponse> lists_;
  std::thread thread_;
};

std::shared_ptr<grpc::Channel> Dial(const std::string& socket) {
  return grpc::CreateChannel("unix://" + socket, grpc::InsecureChannelCredentials());
}

// A health source tests flip by hand.
class ManualHealth final : public DeviceHealthSource {
 public:
  std::map<std::string, std::string> Unhealthy() const override {
    std::lock_guard lock(mu_);
    return unhealthy_;
  }
  int Subscribe(std::function<void()> on_change) override {
    std::lock_guard lock(mu_);
    listener_ = std::move(on_change);
    return 1;
  }
  void Unsubscribe(int) override {
    std::lock_guard lock(mu_);
    listener_ = nullptr;
  }
  void Set(const std::string& uuid, std::optional<std::string> reason) {
    std::function<void()> listener;
    {
      std::lock_guard lock(mu_);
      if (reason) {
        unhealthy_[uuid] = *reason;
      } else {
        unhealthy_.erase(uuid);
      }
      listener = listener_;
    }
    if (listener) listener();
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> unhealthy_;
  std::function<void()> listener_;
};

TEST(DevicePluginIntegrationTest, StandInKubeletRegistersAllocatesAndSurvivesARestart) {
  testing::TempDir dir;
  auto kubelet = std::make_unique<testing::KubeletStandIn>(dir.path());
  ManualHealth health;
  const auto accelerators = testing::MakeAccelerators(Vendor::kNvidia);
  auto plugins = DevicePluginSet::Start(
      {.plugin_dir = dir.path(), .resource_prefix = "", .watch_interval = 100ms}, accelerators,
      health);
  ASSERT_TRUE(plugins.ok()) << plugins.status();

  ASSERT_TRUE(kubelet->WaitForRequests(1, 5s));
  const v1beta1::RegisterRequest request = kubelet->requests()[0];
  EXPECT_EQ(request.version(), "v1beta1");
  EXPECT_EQ(request.resource_name(), "nvidia.com/gpu");
  EXPECT_TRUE(request.options().get_preferred_allocation_available());
  // The endpoint is a socket file in the same directory, as kubelet expects.
  const std::string endpoint = dir.path() + "/" + request.endpoint();
  EXPECT_EQ(request.endpoint().find('/'), std::string::npos);
  ASSERT_TRUE(std::filesystem::is_socket(endpoint));

  auto channel = Dial(endpoint);
  auto stub = v1beta1::DevicePlugin::NewStub(channel);
  {
    grpc::ClientContext context;
    v1beta1::DevicePluginOptions options;
    ASSERT_TRUE(stub->GetDevicePluginOptions(&context, v1beta1::Empty(), &options).ok());
    EXPECT_TRUE(options.get_preferred_allocation_available());
    EXPECT_FALSE(options.pre_start_required());
  }

  // ListAndWatch: the full list at once, with NUMA topology; again on every health change.
  ListAndWatchReader reader(channel);
  ASSERT_TRUE(testing::WaitFor([&] { return !reader.lists().empty(); }, 5s));
  {
    const auto first = reader.lists()[0];
    ASSERT_EQ(first.devices_size(), 8);
    EXPECT_EQ(first.devices(0).id(), accelerators[0].uuid);
    EXPECT_EQ(first.devices(0).health(), "Healthy");
    EXPECT_EQ(first.devices(5).topology().nodes(0).id(), 1);
  }
  health.Set(accelerators[2].uuid, "Xid 79 (GPU has fallen off the bus)");
  ASSERT_TRUE(testing::WaitFor(
      [&] { return reader.LatestHealth(accelerators[2].uuid) == "Unhealthy"; }, 5s));
  EXPECT_EQ(reader.lists().back().devices_size(), 8);  // the full list, not a delta

  // Allocate: NVIDIA wiring for healthy devices; the unhealthy one and unknown IDs are refused.
  {
    grpc::ClientContext context;
    v1beta1::AllocateRequest allocate;
    auto* container = allocate.add_container_requests();
    container->add_devicesids(accelerators[1].uuid);
    container->add_devicesids(accelerators[0].uuid);
    v1beta1::AllocateResponse response;
    ASSERT_TRUE(stub->Allocate(&context, allocate, &response).ok());
    ASSERT_EQ(response.container_responses_size(), 1);
    const auto& granted = response.container_responses(0);
    EXPECT_EQ(granted.envs().at("NVIDIA_VISIBLE_DEVICES"),
              accelerators[0].uuid + "," + accelerators[1].uuid);
    ASSERT_EQ(granted.cdi_devices_size(), 2);
    EXPECT_EQ(granted.cdi_devices(0).name(), "nvidia.com/gpu=" + accelerators[0].uuid);
  }
  {
    grpc::ClientContext context;
    v1beta1::AllocateRequest allocate;
    allocate.add_container_requests()->add_devicesids("GPU-not-on-this-node");
    v1beta1::AllocateResponse response;
    grpc::Status status = stub->Allocate(&context, allocate, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("unknown device ID \"GPU-not-on-this-node\""));
  }
  {
    grpc::ClientContext context;
    v1beta1::AllocateRequest allocate;
    allocate.add_container_requests()->add_devicesids(accelerators[2].uuid);
    v1beta1::AllocateResponse response;
    grpc::Status status = stub->Allocate(&context, allocate, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(status.error_message(), HasSubstr("Xid 79"));
  }
  // GetPreferredAllocation: NUMA node 1 has all four of its devices free, node 0 only two.
  {
    grpc::ClientContext context;
    v1beta1::PreferredAllocationRequest prefer;
    auto* container = prefer.add_container_requests();
    for (int i : {0, 1, 4, 5, 6, 7}) container->add_available_deviceids(accelerators[i].uuid);
    container->set_allocation_size(4);
    v1beta1::PreferredAllocationResponse response;
    ASSERT_TRUE(stub->GetPreferredAllocation(&context, prefer, &response).ok());
    ASSERT_EQ(response.container_responses_size(), 1);
    EXPECT_THAT(response.container_responses(0).deviceids(),
                ElementsAre(accelerators[4].uuid, accelerators[5].uuid, accelerators[6].uuid,
                            accelerators[7].uuid));
  }

  // Kubelet restarts: it deletes every socket in the directory and serves a new kubelet.sock.
  kubelet->Stop();
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    std::filesystem::remove(entry.path());
  }
  kubelet = std::make_unique<testing::KubeletStandIn>(dir.path());
  ASSERT_TRUE(kubelet->WaitForRequests(1, 5s)) << "no Register after the kubelet restart";
  EXPECT_EQ(kubelet->requests()[0].resource_name(), "nvidia.com/gpu");
  ASSERT_TRUE(testing::WaitFor([&] { return std::filesystem::is_socket(endpoint); }, 5s));
  // The new server answers, with the current health.
  ListAndWatchReader after(Dial(endpoint));
  ASSERT_TRUE(testing::WaitFor(
      [&] { return after.LatestHealth(accelerators[2].uuid) == "Unhealthy"; }, 5s));
  EXPECT_GE((*plugins)->registrations(), 2u);
}

TEST(DevicePluginIntegrationTest, PrefixedResourcesOnAMixedNodeEachRegister) {
  testing::TempDir dir;
  testing::KubeletStandIn kubelet(dir.path());
  ManualHealth health;
  auto accelerators = testing::MakeAccelerators(Vendor::kHuawei, 4);
  for (const auto& amd : testing::MakeAccelerators(Vendor::kAmd, 2)) accelerators.push_back(amd);
  auto plugins = DevicePluginSet::Start(
      {.plugin_dir = dir.path(), .resource_prefix = "zhisuan.io", .watch_interval = 100ms},
      accelerators, health);
  ASSERT_TRUE(plugins.ok()) << plugins.status();
  ASSERT_TRUE(kubelet.WaitForRequests(2, 5s));
  std::set<std::string> names;
  for (const auto& request : kubelet.requests()) names.insert(request.resource_name());
  EXPECT_THAT(names, ElementsAre("zhisuan.io/amd-gpu", "zhisuan.io/huawei-ascend910"));

  // Ascend wiring over the wire.
  auto stub = v1beta1::DevicePlugin::NewStub(
      Dial((*plugins)->SocketPathFor("zhisuan.io/huawei-ascend910")));
  grpc::ClientContext context;
  v1beta1::AllocateRequest allocate;
  allocate.add_container_requests()->add_devicesids(accelerators[3].uuid);
  v1beta1::AllocateResponse response;
  ASSERT_TRUE(stub->Allocate(&context, allocate, &response).ok());
  const auto& granted = response.container_responses(0);
  EXPECT_EQ(granted.envs().at("ASCEND_VISIBLE_DEVICES"), "3");
  std::vector<std::string> paths;
  for (const auto& device : granted.devices()) paths.push_back(device.host_path());
  EXPECT_THAT(paths, ElementsAre("/dev/davinci3", "/dev/davinci_manager", "/dev/devmm_svm",
                                 "/dev/hisi_hdc"));
}

// The whole Kubernetes side as RunAgent wires it: an Xid on one GPU turns it Unhealthy in
// ListAndWatch and in the ComputeNode within 5 s, and Healthy again after the quiet period.
TEST(DevicePluginIntegrationTest, HealthChangeReachesListAndWatchAndComputeNodeWithin5s) {
  testing::InstallCrds();
  testing::CreateNode("health-node");
  testing::TempDir dir;
  testing::KubeletStandIn kubelet(dir.path());

  auto clock = std::make_shared<FakeClock>();
  HealthPolicy policy;
  policy.quiet_period = std::chrono::seconds(300);
  DeviceHealthTracker tracker(policy, clock);
  const auto accelerators = testing::MakeAccelerators(Vendor::kNvidia);
  std::vector<std::string> uuids;
  for (const auto& accelerator : accelerators) uuids.push_back(accelerator.uuid);
  tracker.SetInventory(uuids);
  AgentStateStore store;
  store.Store(std::make_shared<const AgentState>(testing::MakeState("health-node", accelerators)));

  auto api = std::make_shared<testing::CountingApiClient>(testing::AdminClient());
  KubernetesOptions options;
  options.device_plugin_dir = dir.path();
  options.publish_interval = 1s;
  options.device_plugin_watch_interval = 100ms;
  auto kubernetes =
      KubernetesIntegration::Start(options, "health-node", store, tracker, clock, api);
  ASSERT_TRUE(kubernetes.ok()) << kubernetes.status();
  ASSERT_TRUE(kubelet.WaitForRequests(1, 5s));

  auto& plane = harness::SharedControlPlane();
  auto healthy_count = [&] {
    auto result = plane.Kubectl(
        {"get", "computenode", "health-node", "-o", "jsonpath={.status.healthyAcceleratorCount}"});
    return result.exit_code == 0 ? result.output : std::string();
  };
  ASSERT_TRUE(testing::WaitFor([&] { return healthy_count() == "8"; }, 10s));
  ListAndWatchReader reader(Dial((*kubernetes)->device_plugins()->SocketPathFor("nvidia.com/gpu")));
  ASSERT_TRUE(
      testing::WaitFor([&] { return reader.LatestHealth(accelerators[5].uuid) == "Healthy"; }, 5s));
  ASSERT_TRUE(testing::WaitFor([&] { return (*kubernetes)->successful_passes() >= 2; }, 5s));
  const uint64_t writes_before = (*kubernetes)->api_writes();

  const auto injected = std::chrono::steady_clock::now();
  tracker.OnEvent(
      {accelerators[5].uuid, HealthEvent::Kind::kXid, 79, "GPU has fallen off the bus"});
  EXPECT_TRUE(testing::WaitFor(
      [&] { return reader.LatestHealth(accelerators[5].uuid) == "Unhealthy"; }, 5s));
  EXPECT_TRUE(testing::WaitFor([&] { return healthy_count() == "7"; }, 5s));
  const auto took = std::chrono::steady_clock::now() - injected;
  EXPECT_LT(took, 5s);
  auto reason = plane.Kubectl({"get", "computenode", "health-node", "-o",
                               "jsonpath={.status.accelerators[5].health}: "
                               "{.status.accelerators[5].reason}"});
  EXPECT_EQ(reason.output, "Unhealthy: Xid 79 (GPU has fallen off the bus)");
  EXPECT_EQ((*kubernetes)->api_writes(), writes_before + 1);  // one status apply, nothing else

  // Quiet period over: the tracker recovers the device and both views follow.
  clock->Advance(std::chrono::seconds(301));
  tracker.Reevaluate();
  EXPECT_TRUE(
      testing::WaitFor([&] { return reader.LatestHealth(accelerators[5].uuid) == "Healthy"; }, 5s));
  EXPECT_TRUE(testing::WaitFor([&] { return healthy_count() == "8"; }, 5s));
  EXPECT_EQ((*kubernetes)->api_writes(), writes_before + 2);
  // Steady again: a few more passes write nothing.
  const uint64_t passes = (*kubernetes)->successful_passes();
  ASSERT_TRUE(
      testing::WaitFor([&] { return (*kubernetes)->successful_passes() >= passes + 2; }, 5s));
  EXPECT_EQ((*kubernetes)->api_writes(), writes_before + 2);
}

}  // namespace
}  // namespace zhisuan::agent
