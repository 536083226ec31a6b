// The agent's ClusterRole (docs/rbac-agent.md, applied verbatim) bound to a ServiceAccount: with a
// token for that account the publisher and the Node status advertiser succeed, and everything
// else an agent has no business doing is denied.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "agent/publish/compute_node_publisher.h"
#include "agent/publish/compute_node_status.h"
#include "agent/publish/node_labels.h"
#include "agent/publish/node_resource_advertiser.h"
#include "api/group_version.h"
#include "kube/config.h"
#include "kube/rest_client.h"
#include "tests/harness/control_plane_environment.h"
#include "tests/integration/agent_kubernetes/test_support.h"
#include "tests/unit/agent/kubernetes/inventories.h"

namespace zhisuan::agent {
namespace {

using harness::SharedControlPlane;

// The ```yaml block of docs/rbac-agent.md: the single source of the agent's ClusterRole.
std::string ClusterRoleFromDocs() {
  std::ifstream file(harness::SourceDir() + "/docs/rbac-agent.md");
  std::stringstream text;
  text << file.rdbuf();
  const std::string doc = text.str();
  const size_t start = doc.find("```yaml\n");
  const size_t end = doc.find("```", start + 8);
  EXPECT_NE(start, std::string::npos);
  return doc.substr(start + 8, end - start - 8);
}

kube::ApiClientPtr ServiceAccountClient() {
  auto& plane = SharedControlPlane();
  auto token =
      plane.Kubectl({"create", "token", "zhisuan-agent", "-n", "zhisuan-system", "--duration=1h"});
  EXPECT_EQ(token.exit_code, 0) << token.output;
  kube::ClientConfig config;
  config.server = plane.server_url();
  std::ifstream ca(plane.ca_file());
  std::stringstream pem;
  pem << ca.rdbuf();
  config.ca_pem = pem.str();
  config.bearer_token = std::string(StripWhitespace(token.output));
  config.max_attempts = 1;
  auto client = kube::NewRestClient(config);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *client : nullptr;
}

TEST(AgentRbacTest, ServiceAccountCanPublishAndNothingMore) {
  testing::InstallCrds();
  auto& plane = SharedControlPlane();
  const std::string role = ClusterRoleFromDocs();
  ASSERT_EQ(plane.Kubectl({"apply", "-f", "-"}, role).exit_code, 0) << role;
  plane.Kubectl({"create", "namespace", "zhisuan-system"});
  ASSERT_EQ(plane.Kubectl({"create", "serviceaccount", "zhisuan-agent", "-n", "zhisuan-system"})
                .exit_code,
            0);
  auto bound =
      plane.Kubectl({"create", "clusterrolebinding", "zhisuan-agent", "--clusterrole=zhisuan-agent",
                     "--serviceaccount=zhisuan-system:zhisuan-agent"});
  ASSERT_EQ(bound.exit_code, 0) << bound.output;
  testing::CreateNode("rbac-node");
  plane.Kubectl({"create", "namespace", "tenant-a"});
  plane.Kubectl({"create", "secret", "generic", "db", "-n", "tenant-a", "--from-literal=k=v"});

  kube::ApiClientPtr agent = ServiceAccountClient();
  ASSERT_NE(agent, nullptr);

  // Allowed: everything publishing and advertising needs.
  const AgentState state = testing::MakeState("rbac-node", testing::MakeAccelerators(Vendor::kAmd));
  std::vector<Accelerator> accelerators;
  for (const auto& device : state.devices) accelerators.push_back(device.accelerator);
  ComputeNodePublisher publisher(agent, "rbac-node");
  auto written =
      publisher.Publish({"rbac-node", NodeLabelsFor(accelerators),
                         BuildComputeNodeStatus(state, nullptr, std::chrono::system_clock::now())});
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(*written, 3);
  NodeResourceAdvertiser advertiser(agent, "rbac-node");
  auto advertised = advertiser.Advertise(CountResources(accelerators, "", {}));
  ASSERT_TRUE(advertised.ok()) << advertised.status();
  auto shown = plane.Kubectl(
      {"get", "node", "rbac-node", "-o", "jsonpath={.status.capacity.amd\\.com/gpu}"});
  EXPECT_EQ(shown.output, "8");

  // Denied: destructive or unrelated access.
  const kube::ResourceType secrets{"", "v1", "secrets", "Secret", true};
  EXPECT_TRUE(kube::IsForbidden(agent->Delete(kube::kNodes, "", "rbac-node")));
  EXPECT_TRUE(kube::IsForbidden(agent->Get(secrets, "tenant-a", "db").status()));
  EXPECT_TRUE(kube::IsForbidden(agent->List(kube::kNodes, "", {}).status()));
  EXPECT_TRUE(kube::IsForbidden(agent->Delete(api::kComputeNodes, "", "rbac-node")));
  EXPECT_TRUE(kube::IsForbidden(agent
                                    ->Create(api::kComputePools, "tenant-a",
                                             kube::Json{{"apiVersion", "zhisuan.io/v1alpha1"},
                                                        {"kind", "ComputePool"},
                                                        {"metadata", {{"name", "stolen"}}},
                                                        {"spec", kube::Json::object()}})
                                    .status()));
  auto node = agent->Get(kube::kNodes, "", "rbac-node");
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_TRUE(kube::IsForbidden(agent->Update(kube::kNodes, *node).status()));
  EXPECT_TRUE(kube::IsForbidden(
      agent->Patch(kube::kPods, "tenant-a", "any", kube::PatchType::kMerge, kube::Json::object())
          .status()));
  auto can = plane.Kubectl(
      {"auth", "can-i", "--list", "--as=system:serviceaccount:zhisuan-system:zhisuan-agent"});
  EXPECT_EQ(can.output.find("secrets"), std::string::npos) << can.output;
}

}  // namespace
}  // namespace zhisuan::agent
