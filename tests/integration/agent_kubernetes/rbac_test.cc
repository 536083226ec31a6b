// The agent's ClusterRole and ClusterRoleBinding as the chart ships them (charts/zhisuan,
// rendered by `helm template`; docs/rbac-agent.md explains every rule) bound to its
// ServiceAccount: with a token for that account the publisher and the Node status advertiser
// succeed, and everything else an agent has no business doing is denied.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/dra/resource_slice_publisher.h"
#include "agent/dra/resource_slices.h"
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

// The chart's agent ClusterRole and its ClusterRoleBinding (release "zhisuan" in namespace
// zhisuan-system), from `helm template --show-only templates/rbac.yaml`; helm sits next to kubectl
// in the toolchain. `helm_args` are appended (e.g. --set ...).
std::string AgentRbacFromChart(const std::string& helm_args = "") {
  const std::string helm =
      (std::filesystem::path(SharedControlPlane().kubectl_path()).parent_path() / "helm").string();
  const std::string command = helm + " template zhisuan '" + harness::SourceDir() +
                              "/charts/zhisuan' --namespace zhisuan-system --kube-version 1.34.4" +
                              " --show-only templates/rbac.yaml " + helm_args + " 2>&1";
  std::string rendered;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) rendered.append(buffer, n);
    EXPECT_EQ(pclose(pipe), 0) << command << ": " << rendered;
  }
  std::string agent;
  size_t start = 0;
  while (start < rendered.size()) {
    size_t end = rendered.find("\n---", start);
    if (end == std::string::npos) end = rendered.size();
    const std::string doc = rendered.substr(start, end - start);
    if (doc.find("\n  name: zhisuan-agent\n") != std::string::npos &&
        (doc.find("\nkind: ClusterRole\n") != std::string::npos ||
         doc.find("\nkind: ClusterRoleBinding\n") != std::string::npos)) {
      agent += "---\n" + doc + "\n";
    }
    start = end + 4;
  }
  EXPECT_NE(agent.find("kind: ClusterRoleBinding"), std::string::npos) << rendered;
  return agent;
}

// kubectl auth can-i as the agent's ServiceAccount: "yes" or "no". kubectl prints its answer on
// the last line (a warning about cluster-scoped resources may come first).
std::string AgentCanI(const std::vector<std::string>& what) {
  std::vector<std::string> args = {"auth", "can-i"};
  args.insert(args.end(), what.begin(), what.end());
  args.push_back("--as=system:serviceaccount:zhisuan-system:zhisuan-agent");
  const std::string answer(StripWhitespace(SharedControlPlane().Kubectl(args).output));
  return answer.substr(answer.find_last_of('\n') + 1);
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
  const std::string rbac = AgentRbacFromChart();
  auto applied = plane.Kubectl({"apply", "-f", "-"}, rbac);
  ASSERT_EQ(applied.exit_code, 0) << applied.output << rbac;
  plane.Kubectl({"create", "namespace", "zhisuan-system"});
  ASSERT_EQ(plane.Kubectl({"create", "serviceaccount", "zhisuan-agent", "-n", "zhisuan-system"})
                .exit_code,
            0);
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
  EXPECT_TRUE(kube::IsForbidden(agent->List(api::kComputeNodes, "", {}).status()));
  EXPECT_TRUE(kube::IsForbidden(agent
                                    ->Create(kube::kEvents, "default",
                                             kube::Json{{"apiVersion", "v1"},
                                                        {"kind", "Event"},
                                                        {"metadata", {{"name", "forged"}}},
                                                        {"involvedObject", {{"kind", "Node"}}}})
                                    .status()));
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
  // Nothing beyond what the calls above use.
  for (const std::vector<std::string>& wider : std::vector<std::vector<std::string>>{
           {"list", "nodes"},
           {"watch", "nodes"},
           {"update", "nodes"},
           {"get", "nodes", "--subresource=status"},
           {"update", "computenodes.zhisuan.io"},
           {"get", "computenodes.zhisuan.io", "--subresource=status"},
           {"update", "computenodes.zhisuan.io", "--subresource=status"},
           {"create", "events", "-n", "default"},
           // The controller's drain (issue 17), never the agent's.
           {"create", "pods", "--subresource=eviction", "-n", "default"},
           {"list", "pods", "-A"},
           // Reviews only with POST /flops/measure enabled (issue 17), off by default.
           {"create", "tokenreviews.authentication.k8s.io"},
           {"create", "subjectaccessreviews.authorization.k8s.io"}}) {
    EXPECT_EQ(AgentCanI(wider), "no") << wider[0] << " " << wider[1];
  }

  // agent.flopsMeasureEndpoint=authenticated adds exactly the two reviews the endpoint makes:
  // create on tokenreviews and subjectaccessreviews, and nothing else.
  const std::string with_endpoint =
      AgentRbacFromChart("--set agent.flopsMeasureEndpoint=authenticated");
  ASSERT_NE(with_endpoint.find("tokenreviews"), std::string::npos) << with_endpoint;
  applied = plane.Kubectl({"apply", "-f", "-"}, with_endpoint);
  ASSERT_EQ(applied.exit_code, 0) << applied.output << with_endpoint;
  EXPECT_TRUE(testing::WaitFor(
      [] {
        return AgentCanI({"create", "tokenreviews.authentication.k8s.io"}) == "yes";
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(AgentCanI({"create", "subjectaccessreviews.authorization.k8s.io"}), "yes");
  for (const std::vector<std::string>& wider : std::vector<std::vector<std::string>>{
           {"get", "tokenreviews.authentication.k8s.io"},
           {"create", "localsubjectaccessreviews.authorization.k8s.io", "-n", "default"},
           {"create", "computenodes.zhisuan.io", "--subresource=measure"},
           {"list", "nodes"},
           {"get", "secrets", "-n", "tenant-a"}}) {
    EXPECT_EQ(AgentCanI(wider), "no") << wider[0] << " " << wider[1];
  }
  // Back to the default rules for whatever runs next against this control plane.
  EXPECT_EQ(plane.Kubectl({"apply", "-f", "-"}, rbac).exit_code, 0);
}

// dra.enabled adds the DRA slices (agent/dra/resource_slice_publisher.cc) and the watch on its
// own Node (its pool label): the real publisher creates, updates and deletes through the token.
TEST(AgentRbacTest, DraAddsTheSliceWritesAndTheNodeWatchOnly) {
  auto& plane = SharedControlPlane();
  const std::string rbac = AgentRbacFromChart();
  const std::string with_dra = AgentRbacFromChart("--set dra.enabled=true");
  ASSERT_NE(with_dra.find("resourceslices"), std::string::npos) << with_dra;
  plane.Kubectl({"create", "namespace", "zhisuan-system"});
  plane.Kubectl({"create", "serviceaccount", "zhisuan-agent", "-n", "zhisuan-system"});
  testing::CreateNode("rbac-dra-node");
  // Without the value: no DRA rights.
  ASSERT_EQ(plane.Kubectl({"apply", "-f", "-"}, rbac).exit_code, 0);
  EXPECT_TRUE(testing::WaitFor(
      [] {
        return AgentCanI({"create", "resourceslices.resource.k8s.io"}) == "no";
      },
      std::chrono::seconds(10)));
  auto applied = plane.Kubectl({"apply", "-f", "-"}, with_dra);
  ASSERT_EQ(applied.exit_code, 0) << applied.output << with_dra;
  EXPECT_TRUE(testing::WaitFor(
      [] {
        return AgentCanI({"create", "resourceslices.resource.k8s.io"}) == "yes";
      },
      std::chrono::seconds(10)));

  kube::ApiClientPtr agent = ServiceAccountClient();
  ASSERT_NE(agent, nullptr);
  kube::ListOptions own_node;
  own_node.field_selector = "metadata.name=rbac-dra-node";
  auto listed = agent->List(kube::kNodes, "", own_node);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->items.size(), 1u);

  AgentState state =
      testing::MakeState("rbac-dra-node", testing::MakeAccelerators(Vendor::kNvidia));
  dra::SliceInputs inputs;
  inputs.node_name = "rbac-dra-node";
  dra::ResourceSlicePublisher publisher(agent, "rbac-dra-node");
  auto created = publisher.Publish(dra::BuildResourceSlices(state, inputs));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(*created, 1);
  inputs.health[state.devices[0].accelerator.uuid].healthy = false;
  auto updated = publisher.Publish(dra::BuildResourceSlices(state, inputs));
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(*updated, 1);
  // 130 devices take two slices; back to 8 deletes the second.
  AgentState big = state;
  for (int i = 8; i < 130; ++i) {
    DeviceState device = state.devices[0];
    device.accelerator.pci_bus_id = StrCat("0001:", i, ":00.0");
    device.accelerator.uuid = StrCat("GPU-rbac-", i);
    big.devices.push_back(device);
  }
  ASSERT_TRUE(publisher.Publish(dra::BuildResourceSlices(big, inputs)).ok());
  auto shrunk = publisher.Publish(dra::BuildResourceSlices(state, inputs));
  ASSERT_TRUE(shrunk.ok()) << shrunk.status();
  EXPECT_EQ(*shrunk, 2);  // one update, one delete

  for (const std::vector<std::string>& wider : std::vector<std::vector<std::string>>{
           {"patch", "resourceslices.resource.k8s.io"},
           {"deletecollection", "resourceslices.resource.k8s.io"},
           {"create", "resourceclaims.resource.k8s.io", "-n", "default"},
           {"create", "resourceclaimtemplates.resource.k8s.io", "-n", "default"},
           {"create", "deviceclasses.resource.k8s.io"},
           {"update", "nodes"},
           {"get", "secrets", "-n", "default"}}) {
    EXPECT_EQ(AgentCanI(wider), "no") << wider[0] << " " << wider[1];
  }
  // Back to the default rules for whatever runs next against this control plane.
  EXPECT_EQ(plane.Kubectl({"apply", "-f", "-"}, rbac).exit_code, 0);
}

}  // namespace
}  // namespace zhisuan::agent
