// Publishing against a real kube-apiserver: three agents (an H100, an MI300X and an Ascend 910B
// node) label their Nodes and publish ComputeNodes that `kubectl get computenodes` shows; restarted
// agents with nothing changed write nothing; Node status advertising for kwok-style nodes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/publish/compute_node_publisher.h"
#include "agent/publish/compute_node_status.h"
#include "agent/publish/node_labels.h"
#include "agent/publish/node_resource_advertiser.h"
#include "tests/harness/control_plane_environment.h"
#include "tests/integration/agent_kubernetes/test_support.h"
#include "tests/unit/agent/kubernetes/inventories.h"

namespace zhisuan::agent {
namespace {

using harness::SharedControlPlane;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

struct FleetNode {
  std::string name;
  Vendor vendor;
};
const std::vector<FleetNode> kFleet = {{"h100-node", Vendor::kNvidia},
                                       {"mi300x-node", Vendor::kAmd},
                                       {"ascend-node", Vendor::kHuawei}};

DesiredPublication DesiredFor(const std::string& node, const AgentState& state) {
  std::vector<Accelerator> accelerators;
  for (const auto& device : state.devices) accelerators.push_back(device.accelerator);
  return {node, NodeLabelsFor(accelerators),
          BuildComputeNodeStatus(state, nullptr, std::chrono::system_clock::now())};
}

class PublishIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing::InstallCrds();
    for (const auto& node : kFleet) testing::CreateNode(node.name);
  }
};

std::string ResourceVersion(const std::string& kind, const std::string& name) {
  auto result = SharedControlPlane().Kubectl(
      {"get", kind, name, "-o", "jsonpath={.metadata.resourceVersion}"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  return result.output;
}

TEST_F(PublishIntegrationTest, ThreeAgentsPublishLabelsAndComputeNodesThenRestartWritesNothing) {
  // First start: each agent writes its labels, its ComputeNode and the status.
  for (const auto& node : kFleet) {
    auto client = std::make_shared<testing::CountingApiClient>(testing::AdminClient());
    ComputeNodePublisher publisher(client, node.name);
    const AgentState state = testing::MakeState(node.name, testing::MakeAccelerators(node.vendor));
    auto written = publisher.Publish(DesiredFor(node.name, state));
    ASSERT_TRUE(written.ok()) << written.status();
    EXPECT_EQ(*written, 3) << node.name;
    // Asked again at once: the server already shows it.
    EXPECT_EQ(publisher.Publish(DesiredFor(node.name, state)).value_or(-1), 0) << node.name;
    EXPECT_EQ(client->writes(), 3);
  }

  auto& plane = SharedControlPlane();
  auto table = plane.Kubectl({"get", "computenodes"});
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_THAT(table.output, MatchesRegex("(.|\n)*h100-node +8 +8 +7915T +0.97(.|\n)*"));
  EXPECT_THAT(table.output, MatchesRegex("(.|\n)*mi300x-node +8 +8 +[0-9.]+[TP] +0.97(.|\n)*"));
  EXPECT_THAT(table.output, HasSubstr("ascend-node"));
  auto labels = plane.Kubectl({"get", "nodes", "-L", "zhisuan.io/vendor", "-L",
                               "zhisuan.io/product", "-L", "zhisuan.io/accelerator-memory"});
  EXPECT_THAT(labels.output, MatchesRegex("(.|\n)*h100-node .*nvidia +H100-SXM5 +80Gi(.|\n)*"));
  EXPECT_THAT(labels.output, MatchesRegex("(.|\n)*mi300x-node .*amd +MI300X +192Gi(.|\n)*"));
  EXPECT_THAT(labels.output, MatchesRegex("(.|\n)*ascend-node .*huawei +Ascend910B +64Gi(.|\n)*"));

  // The ComputeNode is owned by its Node.
  auto owner = plane.Kubectl({"get", "computenode", "h100-node", "-o",
                              "jsonpath={.metadata.ownerReferences[0].kind}/"
                              "{.metadata.ownerReferences[0].uid}"});
  auto node_uid = plane.Kubectl({"get", "node", "h100-node", "-o", "jsonpath={.metadata.uid}"});
  EXPECT_EQ(owner.output, "Node/" + node_uid.output);

  // Restart: new publishers (new clients, nothing cached) with nothing changed make zero writes,
  // and the objects' resourceVersions do not move.
  std::map<std::string, std::pair<std::string, std::string>> versions;
  for (const auto& node : kFleet) {
    versions[node.name] = {ResourceVersion("node", node.name),
                           ResourceVersion("computenode", node.name)};
  }
  for (const auto& node : kFleet) {
    auto client = std::make_shared<testing::CountingApiClient>(testing::AdminClient());
    ComputeNodePublisher restarted(client, node.name);
    const AgentState state = testing::MakeState(node.name, testing::MakeAccelerators(node.vendor));
    auto written = restarted.Publish(DesiredFor(node.name, state));
    ASSERT_TRUE(written.ok()) << written.status();
    EXPECT_EQ(*written, 0) << node.name;
    EXPECT_EQ(client->writes(), 0) << node.name;
    EXPECT_EQ(client->reads(), 2) << node.name;  // one GET of the Node, one of the ComputeNode
  }
  for (const auto& node : kFleet) {
    EXPECT_EQ(versions[node.name].first, ResourceVersion("node", node.name));
    EXPECT_EQ(versions[node.name].second, ResourceVersion("computenode", node.name));
  }

  // Another writer's label on the same Node is not the agent's business: still no write, and the
  // label survives the agent's next change.
  ASSERT_EQ(plane.Kubectl({"label", "node", "h100-node", "rack=r12"}).exit_code, 0);
  auto client = std::make_shared<testing::CountingApiClient>(testing::AdminClient());
  ComputeNodePublisher publisher(client, "h100-node");
  AgentState state = testing::MakeState("h100-node", testing::MakeAccelerators(Vendor::kNvidia));
  EXPECT_EQ(publisher.Publish(DesiredFor("h100-node", state)).value_or(-1), 0);
  state.devices.pop_back();  // a GPU vanished from the inventory
  EXPECT_EQ(publisher.Publish(DesiredFor("h100-node", state)).value_or(-1), 2);  // labels+status
  auto count = plane.Kubectl({"get", "node", "h100-node", "-o",
                              "jsonpath={.metadata.labels.zhisuan\\.io/accelerator-count} "
                              "{.metadata.labels.rack}"});
  EXPECT_EQ(count.output, "7 r12");
}

// Issue 17: the agent writes only on change, so a ComputeNode deleted behind its back (by hand,
// or by a cleanup) would stay gone. The publisher re-reads it every kComputeNodeRecheck (one GET,
// no write) and recreates it; the controller keeps the member through its grace meanwhile.
TEST_F(PublishIntegrationTest, ADeletedComputeNodeIsRecreatedWithinAMinute) {
  auto client = std::make_shared<testing::CountingApiClient>(testing::AdminClient());
  auto clock = std::make_shared<FakeClock>();
  ComputeNodePublisher publisher(client, "ascend-node", {}, clock);
  const AgentState state =
      testing::MakeState("ascend-node", testing::MakeAccelerators(Vendor::kHuawei));
  ASSERT_TRUE(publisher.Publish(DesiredFor("ascend-node", state)).ok());
  auto& plane = SharedControlPlane();
  ASSERT_EQ(plane.Kubectl({"delete", "computenode", "ascend-node"}).exit_code, 0);

  // Within the recheck interval nothing is read or written.
  const uint64_t reads = client->reads();
  clock->Advance(kComputeNodeRecheck - std::chrono::seconds(1));
  EXPECT_EQ(publisher.Publish(DesiredFor("ascend-node", state)).value_or(-1), 0);
  EXPECT_EQ(client->reads(), reads);
  // Then one GET finds it gone, and the same pass recreates it, status included.
  clock->Advance(std::chrono::seconds(1));
  EXPECT_EQ(publisher.Publish(DesiredFor("ascend-node", state)).value_or(-1), 2);
  EXPECT_EQ(client->reads(), reads + 1);
  auto count = plane.Kubectl(
      {"get", "computenode", "ascend-node", "-o", "jsonpath={.status.acceleratorCount}"});
  EXPECT_EQ(count.exit_code, 0) << count.output;
  EXPECT_EQ(count.output, "8");
  EXPECT_LE(kComputeNodeRecheck, std::chrono::seconds(60));
}

TEST_F(PublishIntegrationTest, NodeStatusAdvertisingForKwokNodes) {
  testing::CreateNode("kwok-node-1");
  auto& plane = SharedControlPlane();
  auto client = std::make_shared<testing::CountingApiClient>(testing::AdminClient());
  NodeResourceAdvertiser advertiser(client, "kwok-node-1");
  auto accelerators = testing::MakeAccelerators(Vendor::kNvidia);
  auto written = advertiser.Advertise(CountResources(accelerators, "", {}));
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(*written, 1);
  EXPECT_EQ(advertiser.Advertise(CountResources(accelerators, "", {})).value_or(-1), 0);
  auto shown = plane.Kubectl({"get", "node", "kwok-node-1", "-o",
                              "jsonpath={.status.capacity.nvidia\\.com/gpu} "
                              "{.status.allocatable.nvidia\\.com/gpu}"});
  EXPECT_EQ(shown.output, "8 8");

  // One GPU fails: allocatable drops, capacity stays.
  EXPECT_EQ(
      advertiser.Advertise(CountResources(accelerators, "", {{accelerators[0].uuid, "Xid 79"}}))
          .value_or(-1),
      1);
  shown = plane.Kubectl({"get", "node", "kwok-node-1", "-o",
                         "jsonpath={.status.capacity.nvidia\\.com/gpu} "
                         "{.status.allocatable.nvidia\\.com/gpu}"});
  EXPECT_EQ(shown.output, "8 7");

  // A restarted agent compares with the server: nothing to write.
  auto fresh = std::make_shared<testing::CountingApiClient>(testing::AdminClient());
  NodeResourceAdvertiser restarted(fresh, "kwok-node-1");
  EXPECT_EQ(
      restarted.Advertise(CountResources(accelerators, "", {{accelerators[0].uuid, "Xid 79"}}))
          .value_or(-1),
      0);
  EXPECT_EQ(fresh->writes(), 0);
  EXPECT_EQ(client->writes(), 2);
}

}  // namespace
}  // namespace zhisuan::agent
