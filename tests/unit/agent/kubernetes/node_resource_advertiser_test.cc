#include "agent/publish/node_resource_advertiser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/kubernetes_integration.h"
#include "tests/unit/agent/kubernetes/inventories.h"

namespace zhisuan::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MakeAccelerators;
using ::testing::Pair;
using Json = nlohmann::json;

TEST(NodeResourcesTest, CapacityCountsEveryDeviceAllocatableOnlyHealthyOnes) {
  auto accelerators = MakeAccelerators(Vendor::kNvidia);
  auto counts = CountResources(accelerators, "", {{accelerators[1].uuid, "Xid 79"}});
  EXPECT_THAT(counts, ElementsAre(Pair("nvidia.com/gpu", ResourceCount{8, 7})));
  EXPECT_THAT(CountResources(accelerators, "zhisuan.io", {}),
              ElementsAre(Pair("zhisuan.io/nvidia-gpu", ResourceCount{8, 8})));
}

TEST(NodeResourcesTest, PatchAddsEscapedPathsAndCreatesMissingMaps) {
  const Json kwok_node = {{"metadata", {{"name", "kwok-1"}}},
                          {"status", {{"capacity", {{"cpu", "32"}}}}}};
  auto patch = PlanNodeResourcePatch(kwok_node, {{"nvidia.com/gpu", {8, 7}}});
  ASSERT_TRUE(patch);
  EXPECT_EQ(*patch, Json::parse(R"([
    {"op":"add","path":"/status/capacity/nvidia.com~1gpu","value":"8"},
    {"op":"add","path":"/status/allocatable","value":{}},
    {"op":"add","path":"/status/allocatable/nvidia.com~1gpu","value":"7"}])"));
  // Applying the patch gives a node for which there is nothing left to do.
  const Json patched = kwok_node.patch(*patch);
  EXPECT_FALSE(PlanNodeResourcePatch(patched, {{"nvidia.com/gpu", {8, 7}}}));
  // Only the changed count is rewritten; other resources are left alone.
  auto recovered = PlanNodeResourcePatch(patched, {{"nvidia.com/gpu", {8, 8}}});
  ASSERT_TRUE(recovered);
  EXPECT_EQ(*recovered, Json::parse(R"([
    {"op":"add","path":"/status/allocatable/nvidia.com~1gpu","value":"8"}])"));
  EXPECT_EQ(EscapeJsonPointer("a~b/c"), "a~0b~1c");
}

// NodeResourceAdvertiser's writes are tested against the real API server
// (tests/integration/agent_kubernetes/): the in-memory fake applies a JSON patch on the status
// subresource to the status object rather than to the whole Node, unlike the real server.

TEST(KubernetesFlagsTest, ExtractsItsFlagsAndLeavesTheRest) {
  std::vector<std::string> args = {"--kubeconfig",
                                   "/etc/kube.conf",
                                   "--node-name=n1",
                                   "--advertise=node-status",
                                   "--resource-prefix=zhisuan.io",
                                   "--listen-address=:9400",
                                   "--publish-interval=250ms",
                                   "--device-plugin-dir=/tmp/dp"};
  auto options = ExtractKubernetesFlags(args);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->kubeconfig, "/etc/kube.conf");
  EXPECT_EQ(options->advertise, AdvertiseMode::kNodeStatus);
  EXPECT_EQ(options->resource_prefix, "zhisuan.io");
  EXPECT_EQ(options->publish_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(options->device_plugin_dir, "/tmp/dp");
  EXPECT_TRUE(options->publish);
  EXPECT_THAT(args, ElementsAre("--node-name=n1", "--listen-address=:9400"));
}

TEST(KubernetesFlagsTest, BadValuesNameTheFlag) {
  std::vector<std::string> advertise = {"--advertise=kubelet"};
  EXPECT_THAT(ExtractKubernetesFlags(advertise).status().message(), HasSubstr("--advertise"));
  std::vector<std::string> prefix = {"--resource-prefix=Not_A_Domain"};
  EXPECT_THAT(ExtractKubernetesFlags(prefix).status().message(), HasSubstr("--resource-prefix"));
  std::vector<std::string> publish = {"--publish=maybe"};
  EXPECT_THAT(ExtractKubernetesFlags(publish).status().message(), HasSubstr("--publish"));
  std::vector<std::string> dangling = {"--kubeconfig"};
  EXPECT_THAT(ExtractKubernetesFlags(dangling).status().message(), HasSubstr("needs a value"));
}

TEST(KubernetesFlagsTest, EnergyPublishThresholdIsAFraction) {
  std::vector<std::string> none;
  EXPECT_DOUBLE_EQ(ExtractKubernetesFlags(none).value().energy_publish_threshold, 0.1);
  std::vector<std::string> quarter = {"--energy-publish-threshold=0.25"};
  EXPECT_DOUBLE_EQ(ExtractKubernetesFlags(quarter).value().energy_publish_threshold, 0.25);
  EXPECT_TRUE(quarter.empty());
  for (const char* bad : {"--energy-publish-threshold=1.5", "--energy-publish-threshold=-0.1",
                          "--energy-publish-threshold=often"}) {
    std::vector<std::string> args = {bad};
    EXPECT_THAT(ExtractKubernetesFlags(args).status().message(),
                HasSubstr("--energy-publish-threshold"))
        << bad;
  }
}

TEST(KubernetesFlagsTest, DraDeviceTaintsTakeAnEffectAndNeedDra) {
  std::vector<std::string> none;
  EXPECT_EQ(ExtractKubernetesFlags(none).value().dra_unhealthy_devices,
            dra::UnhealthyDevices::kLeaveOut);
  std::vector<std::string> evict = {"--dra", "--dra-device-taints=NoExecute"};
  EXPECT_EQ(ExtractKubernetesFlags(evict).value().dra_unhealthy_devices,
            dra::UnhealthyDevices::kTaintNoExecute);
  std::vector<std::string> off = {"--dra=true", "--dra-device-taints", "off"};
  EXPECT_EQ(ExtractKubernetesFlags(off).value().dra_unhealthy_devices,
            dra::UnhealthyDevices::kLeaveOut);
  std::vector<std::string> lowercase = {"--dra", "--dra-device-taints=noschedule"};
  EXPECT_THAT(ExtractKubernetesFlags(lowercase).status().message(),
              HasSubstr("--dra-device-taints takes off, NoSchedule or NoExecute"));
  std::vector<std::string> without_dra = {"--dra-device-taints=NoSchedule"};
  EXPECT_THAT(ExtractKubernetesFlags(without_dra).status().message(),
              HasSubstr("--dra-device-taints needs --dra=true"));
}

}  // namespace
}  // namespace zhisuan::agent
