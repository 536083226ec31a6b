// `zhisuan-controller --uninstall-cleanup` (what the chart's post-delete hook runs) against a real
// kube-apiserver: Nodes as the agent and the controller leave them, ComputeNodes, a pool holding
// the controller's finalizer, the controller's Lease and a still-running agent pod. The cleanup
// must wait for the pod, then leave no Zhisuan label, taint or object, so the pool can be deleted;
// a second run changes nothing. Its own executable, so its own control plane: the cleanup is
// cluster-wide.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <future>
#include <thread>

#include "api/group_version.h"
#include "common/strings.h"
#include "kube/config.h"
#include "kube/rest_client.h"
#include "tests/harness/control_plane_environment.h"

namespace zhisuan::controller {
namespace {

using harness::SharedControlPlane;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Json = nlohmann::json;

const kube::ResourceType kNamespaces{"", "v1", "namespaces", "Namespace", false};
const kube::ResourceType kServiceAccounts{"", "v1", "serviceaccounts", "ServiceAccount", true};
constexpr char kSystem[] = "zhisuan-system";

std::string ControllerBinary() {
  const char* dir = std::getenv("ZHISUAN_BINARY_DIR");  // NOLINT(concurrency-mt-unsafe)
  return StrCat(dir != nullptr ? dir : ".", "/controller/zhisuan-controller");
}

harness::CommandResult RunCleanup() {
  return harness::RunCommand(
      {ControllerBinary(), "--uninstall-cleanup",
       "--kubeconfig=" + SharedControlPlane().admin_kubeconfig(),
       // The chart's selector: the release's agents and controllers.
       "--uninstall-pod-selector=app.kubernetes.io/instance=zhisuan,"
       "app.kubernetes.io/component in (agent,controller)",
       StrCat("--uninstall-pod-namespace=", kSystem), "--uninstall-pod-wait=60s",
       StrCat("--leader-election-namespace=", kSystem)},
      "", std::chrono::seconds(120));
}

class UninstallCleanupTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const Status installed = SharedControlPlane().InstallCrds();
    ASSERT_TRUE(installed.ok()) << installed;
  }

  void SetUp() override {
    auto config = kube::LoadKubeconfig(SharedControlPlane().admin_kubeconfig());
    ASSERT_TRUE(config.ok()) << config.status();
    auto client = kube::NewRestClient(*config);
    ASSERT_TRUE(client.ok()) << client.status();
    api_ = *client;
  }

  void Create(const kube::ResourceType& type, const std::string& ns, const Json& object) {
    auto created = api_->Create(type, ns, object);
    ASSERT_TRUE(created.ok() || kube::IsAlreadyExists(created.status())) << created.status();
  }

  void CreateNode(const std::string& name, Json labels, Json taints) {
    labels["kubernetes.io/hostname"] = name;
    Create(kube::kNodes, "",
           {{"apiVersion", "v1"},
            {"kind", "Node"},
            {"metadata", {{"name", name}, {"labels", std::move(labels)}}},
            {"spec", {{"taints", std::move(taints)}}}});
  }

  // What the agent publishes on a node.
  static Json AgentLabels() {
    return {{"zhisuan.io/vendor", "nvidia"},
            {"zhisuan.io/product", "H100-SXM5"},
            {"zhisuan.io/accelerator-count", "8"},
            {"zhisuan.io/accelerator-memory", "80Gi"},
            {"zhisuan.io/architecture", "hopper"}};
  }

  void CreateFixtures() {
    Json bound = AgentLabels();
    bound["zhisuan.io/pool"] = "team-a.train";
    bound["zhisuan.io/rack"] = "r1";  // the operator's: stays
    CreateNode(
        "gpu-bound", bound,
        Json::array(
            {{{"key", "zhisuan.io/pool"}, {"value", "team-a.train"}, {"effect", "NoExecute"}},
             {{"key", "dedicated"}, {"value", "ml"}, {"effect", "NoSchedule"}}}));
    CreateNode("gpu-free", AgentLabels(), Json::array());
    CreateNode(
        "draining", {{"zhisuan.io/pool", "team-a.train"}},
        Json::array(
            {{{"key", "zhisuan.io/pool"}, {"value", "team-a.train"}, {"effect", "NoSchedule"}}}));
    for (const char* name : {"gpu-bound", "gpu-free"}) {
      Create(api::kComputeNodes, "",
             {{"apiVersion", "zhisuan.io/v1alpha1"},
              {"kind", "ComputeNode"},
              {"metadata", {{"name", name}}}});
    }
    for (const char* ns : {"team-a", kSystem}) {
      Create(kNamespaces, "",
             {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
    }
    Create(api::kComputePools, "team-a",
           {{"apiVersion", "zhisuan.io/v1alpha1"},
            {"kind", "ComputePool"},
            {"metadata",
             {{"name", "train"},
              {"namespace", "team-a"},
              {"finalizers", Json::array({"zhisuan.io/pool-cleanup"})}}},
            {"spec", {{"capacity", {{"accelerators", 8}}}}}});
    Create(kube::kLeases, kSystem,
           {{"apiVersion", "coordination.k8s.io/v1"},
            {"kind", "Lease"},
            {"metadata", {{"name", "zhisuan-controller"}}},
            {"spec", {{"holderIdentity", "zhisuan-controller-0"}}}});
    // No kube-controller-manager here to make the namespace's default ServiceAccount.
    Create(kServiceAccounts, kSystem,
           {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", "default"}}}});
    // An agent still running: never scheduled (no kubelet), so deleting it is immediate.
    Create(kube::kPods, kSystem,
           {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata",
             {{"name", "zhisuan-agent-x"},
              {"labels",
               {{"app.kubernetes.io/instance", "zhisuan"},
                {"app.kubernetes.io/component", "agent"}}}}},
            {"spec", {{"containers", Json::array({{{"name", "agent"}, {"image", "agent:1"}}})}}}});
  }

  // Every Zhisuan label or taint left on a node, as "node label key" lines.
  std::vector<std::string> Leftovers() {
    std::vector<std::string> left;
    auto nodes = api_->List(kube::kNodes, "", {});
    EXPECT_TRUE(nodes.ok()) << nodes.status();
    if (!nodes.ok()) return {"nodes not listed"};
    for (const Json& node : nodes->items) {
      const std::string name = node["metadata"]["name"];
      for (const auto& [key, value] : node["metadata"]["labels"].items()) {
        if (StartsWith(key, "zhisuan.io/") && key != "zhisuan.io/rack") {
          left.push_back(StrCat(name, " label ", key));
        }
      }
      for (const Json& taint : node.value("/spec/taints"_json_pointer, Json::array())) {
        if (StartsWith(taint.value("key", ""), "zhisuan.io/")) {
          left.push_back(StrCat(name, " taint ", taint.value("key", "")));
        }
      }
    }
    auto compute_nodes = api_->List(api::kComputeNodes, "", {});
    EXPECT_TRUE(compute_nodes.ok()) << compute_nodes.status();
    if (compute_nodes.ok()) {
      for (const Json& object : compute_nodes->items) {
        left.push_back(StrCat("computenode ", object["metadata"]["name"].get<std::string>()));
      }
    }
    return left;
  }

  std::map<std::string, std::string> NodeVersions() {
    std::map<std::string, std::string> versions;
    auto nodes = api_->List(kube::kNodes, "", {});
    if (nodes.ok()) {
      for (const Json& node : nodes->items) {
        versions[node["metadata"]["name"]] = node["metadata"]["resourceVersion"];
      }
    }
    return versions;
  }

  kube::ApiClientPtr api_;
};

TEST_F(UninstallCleanupTest, WaitsForTheAgentsThenLeavesNothingAndTheRerunChangesNothing) {
  CreateFixtures();
  ASSERT_FALSE(Leftovers().empty());

  auto cleanup = std::async(std::launch::async, RunCleanup);
  // While the agent pod runs, the cleanup only waits.
  ASSERT_EQ(cleanup.wait_for(std::chrono::seconds(3)), std::future_status::timeout)
      << cleanup.get().output;
  EXPECT_EQ(Leftovers().size(), 16U);
  ASSERT_TRUE(api_->Delete(kube::kPods, kSystem, "zhisuan-agent-x").ok());
  ASSERT_EQ(cleanup.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  const harness::CommandResult first = cleanup.get();
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_THAT(first.output, HasSubstr("3 node(s) unlabelled, 2 ComputeNode(s) deleted, "
                                      "1 ComputePool(s) released"));

  EXPECT_THAT(Leftovers(), IsEmpty());
  auto bound = api_->Get(kube::kNodes, "", "gpu-bound");
  ASSERT_TRUE(bound.ok()) << bound.status();
  EXPECT_EQ(bound->at("/metadata/labels/zhisuan.io~1rack"_json_pointer), "r1");
  EXPECT_EQ(bound->at("/metadata/labels/kubernetes.io~1hostname"_json_pointer), "gpu-bound");
  // Other taints stay (the API server adds node.kubernetes.io/not-ready to a new Node, too).
  EXPECT_THAT(
      bound->at("/spec/taints"_json_pointer),
      ::testing::Contains(Json({{"key", "dedicated"}, {"value", "ml"}, {"effect", "NoSchedule"}})));
  EXPECT_TRUE(kube::IsNotFound(api_->Get(kube::kLeases, kSystem, "zhisuan-controller").status()));

  // The pool is the tenant's and stays, released: deleting it no longer waits for a controller.
  auto pool = api_->Get(api::kComputePools, "team-a", "train");
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_FALSE(pool->contains("/metadata/finalizers"_json_pointer)) << pool->dump();
  ASSERT_TRUE(api_->Delete(api::kComputePools, "team-a", "train").ok());
  EXPECT_TRUE(kube::IsNotFound(api_->Get(api::kComputePools, "team-a", "train").status()));

  // Idempotent: a second run finds nothing to do and writes nothing.
  const auto versions = NodeVersions();
  const harness::CommandResult second = RunCleanup();
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_THAT(second.output, HasSubstr("0 node(s) unlabelled, 0 ComputeNode(s) deleted, "
                                       "0 ComputePool(s) released"));
  EXPECT_EQ(NodeVersions(), versions);
}

TEST_F(UninstallCleanupTest, FailsNamingWhatItCouldNotClean) {
  // A user allowed to read but not to write: every write fails, each error names its object.
  auto kubeconfig = SharedControlPlane().MintUserKubeconfig("reader", {"readers"});
  ASSERT_TRUE(kubeconfig.ok()) << kubeconfig.status();
  const auto role = SharedControlPlane().Kubectl(
      {"create", "clusterrole", "zhisuan-reader", "--verb=get,list",
       "--resource=nodes,pods,computenodes.zhisuan.io,computepools.zhisuan.io"});
  ASSERT_EQ(role.exit_code, 0) << role.output;
  const auto binding =
      SharedControlPlane().Kubectl({"create", "clusterrolebinding", "zhisuan-reader",
                                    "--clusterrole=zhisuan-reader", "--group=readers"});
  ASSERT_EQ(binding.exit_code, 0) << binding.output;
  CreateNode("forbidden-node", AgentLabels(), Json::array());

  const harness::CommandResult result =
      harness::RunCommand({ControllerBinary(), "--uninstall-cleanup", "--kubeconfig=" + *kubeconfig,
                           "--uninstall-pod-wait=0"},
                          "", std::chrono::seconds(60));
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr("patch nodes/forbidden-node: "));
  EXPECT_THAT(result.output, HasSubstr("the cleanup is safe to run again"));
}

}  // namespace
}  // namespace zhisuan::controller
