#include "agent/probe_gate.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "agent/podresources/proto/api.grpc.pb.h"

namespace zhisuan::agent {
namespace {

// The kubelet's pod-resources service, in process, on a Unix socket.
class FakePodResourcesLister final : public v1::PodResourcesLister::Service {
 public:
  v1::ListPodResourcesResponse response;
  grpc::Status List(grpc::ServerContext*, const v1::ListPodResourcesRequest*,
                    v1::ListPodResourcesResponse* out) override {
    *out = response;
    return grpc::Status::OK;
  }
};

class ProbeGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("zhisuan-pr-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    socket_ = (dir_ / "kubelet.sock").string();
    auto state = std::make_shared<AgentState>();
    for (const char* bus_id : {"0000:17:00.0", "0000:2a:00.0", "0000:3b:00.0"}) {
      DeviceState device;
      device.accelerator.pci_bus_id = bus_id;
      device.accelerator.uuid = std::string("GPU-") + bus_id;
      device.telemetry.utilization_ratio = 0.0;
      state->devices.push_back(device);
    }
    state->devices[2].telemetry.utilization_ratio = 0.9;
    store_.Store(state);
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    std::filesystem::remove_all(dir_);
  }
  void StartKubelet() {
    auto* pod = lister_.response.add_pod_resources();
    pod->set_name("trainer");
    pod->set_namespace_("tenant-a");
    auto* container = pod->add_containers();
    container->set_name("main");
    auto* devices = container->add_devices();
    devices->set_resource_name("nvidia.com/gpu");
    devices->add_device_ids("GPU-0000:17:00.0");
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix://" + socket_, grpc::InsecureServerCredentials());
    builder.RegisterService(&lister_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  ProbeGate Gate(bool required) {
    return ProbeGate(store_, MakePodResourcesClient(socket_, std::chrono::seconds(5)),
                     {.busy_utilization_ratio = 0.05, .pod_resources_required = required});
  }

  std::filesystem::path dir_;
  std::string socket_;
  AgentStateStore store_;
  FakePodResourcesLister lister_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(ProbeGateTest, SkipsDevicesAllocatedToPodsAndBusyOnes) {
  StartKubelet();
  const ProbeGate gate = Gate(true);
  EXPECT_EQ(gate.SkipReason("0000:17:00.0"), "allocated to pod tenant-a/trainer (nvidia.com/gpu)");
  EXPECT_EQ(gate.SkipReason("0000:2a:00.0"), std::nullopt);
  ASSERT_TRUE(gate.SkipReason("0000:3b:00.0").has_value());
  EXPECT_NE(gate.SkipReason("0000:3b:00.0")->find("device busy"), std::string::npos);
}

TEST_F(ProbeGateTest, PciBusIdsMatchToo) {
  lister_.response.add_pod_resources()->add_containers()->add_devices()->add_device_ids(
      "0000:2A:00.0");
  StartKubelet();
  EXPECT_TRUE(Gate(true).SkipReason("0000:2a:00.0").has_value());
}

TEST_F(ProbeGateTest, NoSocketInDevicePluginModeSkipsEveryDevice) {
  const ProbeGate gate = Gate(true);
  const auto reason = gate.SkipReason("0000:2a:00.0");
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("allocation unknown"), std::string::npos) << *reason;
}

TEST_F(ProbeGateTest, NoSocketWithoutADevicePluginMeansNothingIsAllocated) {
  EXPECT_EQ(Gate(false).SkipReason("0000:2a:00.0"), std::nullopt);
}

TEST_F(ProbeGateTest, AFailingKubeletIsUnknownEvenWithoutADevicePlugin) {
  // A socket nobody serves: the call fails, which is not "absent".
  StartKubelet();
  server_->Shutdown();
  server_.reset();
  ProbeGate gate(store_, MakePodResourcesClient(socket_, std::chrono::milliseconds(500)),
                 {.busy_utilization_ratio = 0.05, .pod_resources_required = false});
  if (std::filesystem::exists(socket_)) {
    const auto reason = gate.SkipReason("0000:2a:00.0");
    ASSERT_TRUE(reason.has_value());
    EXPECT_NE(reason->find("allocation unknown"), std::string::npos) << *reason;
  }
}

}  // namespace
}  // namespace zhisuan::agent
