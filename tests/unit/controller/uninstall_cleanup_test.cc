#include "controller/uninstall_cleanup.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/group_version.h"
#include "api/meta.h"
#include "common/strings.h"
#include "controller/controller_config.h"
#include "tests/unit/kube/fake_api_client.h"

namespace zhisuan::controller {
namespace {

using kube::FakeApiClient;
using kube::Json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// A node as the agent and the controller leave it: the agent's labels, a pool binding (label and
// taint), and what is not Zhisuan's (a kubelet label, the operator's rack, another taint).
Json BoundNode(const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata",
           {{"name", name},
            {"labels",
             {{"kubernetes.io/hostname", name},
              {"zhisuan.io/rack", "r1"},
              {"zhisuan.io/vendor", "nvidia"},
              {"zhisuan.io/product", "H100-SXM5"},
              {"zhisuan.io/accelerator-count", "8"},
              {"zhisuan.io/accelerator-memory", "80Gi"},
              {"zhisuan.io/architecture", "hopper"},
              {"zhisuan.io/pool", "team-a.train"}}}}},
          {"spec",
           {{"taints", Json::array({{{"key", "gpu"}, {"effect", "NoSchedule"}},
                                    {{"key", "zhisuan.io/pool"},
                                     {"value", "team-a.train"},
                                     {"effect", "NoExecute"}}})}}}};
}

Json PlainNode(const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name}}}}}};
}

Json ComputeNode(const std::string& name) {
  return {{"apiVersion", "zhisuan.io/v1alpha1"},
          {"kind", "ComputeNode"},
          {"metadata", {{"name", name}}}};
}

Json Pool(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "zhisuan.io/v1alpha1"},
          {"kind", "ComputePool"},
          {"metadata",
           {{"namespace", ns},
            {"name", name},
            {"finalizers", Json::array({"example.com/keep", "zhisuan.io/pool-cleanup"})},
            {"annotations", {{"zhisuan.io/impaired-since", "{}"}, {"team", "a"}}}}},
          {"spec", {{"capacity", {{"accelerators", 8}}}}}};
}

Json Pod(const std::string& name, const std::string& component, const std::string& phase) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", name},
            {"namespace", "zhisuan-system"},
            {"labels", {{"app.kubernetes.io/component", component}}}}},
          {"status", {{"phase", phase}}}};
}

Json Labels(const Json& node) {
  return node.value("/metadata/labels"_json_pointer, Json::object());
}

TEST(NodeCleanupPatchTest, StripsZhisuansLabelsAndThePoolTaintOnly) {
  Json node = BoundNode("n1");
  node["metadata"]["resourceVersion"] = "42";
  std::optional<Json> patch = NodeCleanupPatch(node);
  ASSERT_TRUE(patch.has_value());
  EXPECT_EQ(patch->at("/metadata/resourceVersion"_json_pointer), "42");
  const Json labels = patch->at("/metadata/labels"_json_pointer);
  EXPECT_EQ(labels.size(), 6U);
  for (std::string_view key : ZhisuanNodeLabels()) {
    EXPECT_EQ(labels.at(std::string(key)), nullptr) << key;
  }
  EXPECT_EQ(patch->at("/spec/taints"_json_pointer),
            Json::array({{{"key", "gpu"}, {"effect", "NoSchedule"}}}));
}

TEST(NodeCleanupPatchTest, ALoneTaintIsClearedAndACleanNodeNeedsNoPatch) {
  Json tainted = PlainNode("n1");
  tainted["spec"]["taints"] = Json::array({{{"key", "zhisuan.io/pool"}, {"effect", "NoSchedule"}}});
  std::optional<Json> patch = NodeCleanupPatch(tainted);
  ASSERT_TRUE(patch.has_value());
  EXPECT_EQ(patch->at("/spec/taints"_json_pointer), nullptr);
  EXPECT_FALSE(patch->contains("/metadata/labels"_json_pointer));

  EXPECT_FALSE(NodeCleanupPatch(PlainNode("n2")).has_value());
  Json operators = PlainNode("n3");
  operators["metadata"]["labels"]["zhisuan.io/rack"] = "r1";
  operators["metadata"]["labels"]["zhisuan.io/node-in-a-box"] = "true";
  EXPECT_FALSE(NodeCleanupPatch(operators).has_value());
}

TEST(PoolReleasePatchTest, DropsOurFinalizerAndAnnotationsOnly) {
  std::optional<Json> patch = PoolReleasePatch(Pool("team-a", "train"));
  ASSERT_TRUE(patch.has_value());
  EXPECT_EQ(patch->at("/metadata/finalizers"_json_pointer), Json::array({"example.com/keep"}));
  EXPECT_EQ(patch->at("/metadata/annotations"_json_pointer),
            Json({{"zhisuan.io/impaired-since", nullptr}}));

  Json released = Pool("team-a", "train");
  released["metadata"].erase("finalizers");
  released["metadata"].erase("annotations");
  EXPECT_FALSE(PoolReleasePatch(released).has_value());
}

class UninstallCleanupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(api_->Create(kube::kNodes, "", BoundNode("n1")).ok());
    ASSERT_TRUE(api_->Create(kube::kNodes, "", BoundNode("n2")).ok());
    ASSERT_TRUE(api_->Create(kube::kNodes, "", PlainNode("cpu")).ok());
    ASSERT_TRUE(api_->Create(api::kComputeNodes, "", ComputeNode("n1")).ok());
    ASSERT_TRUE(api_->Create(api::kComputeNodes, "", ComputeNode("n2")).ok());
    ASSERT_TRUE(api_->Create(api::kComputePools, "team-a", Pool("team-a", "train")).ok());
    ASSERT_TRUE(api_->Create(kube::kLeases, "zhisuan-system",
                             {{"apiVersion", "coordination.k8s.io/v1"},
                              {"kind", "Lease"},
                              {"metadata", {{"name", "zhisuan-controller"}}}})
                    .ok());
  }

  UninstallCleanup Cleanup(std::string selector = "") {
    UninstallCleanupOptions options;
    options.enabled = true;
    options.pod_selector = std::move(selector);
    return {api_, clock_,
            [this](std::chrono::milliseconds delay) {
              ++sleeps_;
              if (on_sleep_) on_sleep_();
              clock_.Advance(delay);
            },
            options, LeaseName{"zhisuan-system", "zhisuan-controller"}};
  }

  void ExpectNothingLeft() {
    for (const Json& node : api_->Objects(kube::kNodes)) {
      EXPECT_FALSE(NodeCleanupPatch(node).has_value()) << node.dump();
      EXPECT_EQ(Labels(node).value("kubernetes.io/hostname", ""), NameOf(node));
    }
    EXPECT_THAT(api_->Objects(api::kComputeNodes), IsEmpty());
    auto pool = api_->Peek(api::kComputePools, "team-a", "train");
    ASSERT_TRUE(pool.has_value());
    EXPECT_EQ(pool->at("/metadata/finalizers"_json_pointer), Json::array({"example.com/keep"}));
    EXPECT_EQ(pool->at("/metadata/annotations"_json_pointer), Json({{"team", "a"}}));
    EXPECT_FALSE(api_->Peek(kube::kLeases, "zhisuan-system", "zhisuan-controller").has_value());
  }

  static std::string NameOf(const Json& object) {
    return object.value("/metadata/name"_json_pointer, std::string());
  }

  std::shared_ptr<FakeApiClient> api_ = std::make_shared<FakeApiClient>();
  FakeClock clock_;
  int sleeps_ = 0;
  std::function<void()> on_sleep_;
};

TEST_F(UninstallCleanupTest, LeavesNothingOfZhisuanAndARerunWritesNothing) {
  CleanupReport report = Cleanup().Run();
  EXPECT_THAT(report.errors, IsEmpty());
  EXPECT_EQ(report.nodes_cleaned, 2);
  EXPECT_EQ(report.compute_nodes_deleted, 2);
  EXPECT_EQ(report.pools_released, 1);
  EXPECT_TRUE(report.lease_deleted);
  ExpectNothingLeft();
  // The operator's labels and the other taint stay.
  auto n1 = api_->Peek(kube::kNodes, "", "n1");
  EXPECT_EQ(Labels(*n1).value("zhisuan.io/rack", ""), "r1");
  EXPECT_EQ(n1->at("/spec/taints"_json_pointer),
            Json::array({{{"key", "gpu"}, {"effect", "NoSchedule"}}}));

  const int patches = api_->CallCount(FakeApiClient::Verb::kPatch);
  report = Cleanup().Run();
  EXPECT_THAT(report.errors, IsEmpty());
  EXPECT_EQ(report.nodes_cleaned + report.compute_nodes_deleted + report.pools_released, 0);
  EXPECT_FALSE(report.lease_deleted);
  EXPECT_EQ(api_->CallCount(FakeApiClient::Verb::kPatch), patches);
}

TEST_F(UninstallCleanupTest, APoolBeingDeletedGoesOnceReleased) {
  ASSERT_TRUE(api_->Delete(api::kComputePools, "team-a", "train").ok());
  ASSERT_TRUE(api_->Peek(api::kComputePools, "team-a", "train").has_value());  // finalizers hold
  Json pool = *api_->Peek(api::kComputePools, "team-a", "train");
  pool["metadata"]["finalizers"] = Json::array({"zhisuan.io/pool-cleanup"});
  ASSERT_TRUE(api_->Update(api::kComputePools, pool).ok());
  CleanupReport report = Cleanup().Run();
  EXPECT_THAT(report.errors, IsEmpty());
  EXPECT_EQ(report.pools_released, 1);
  EXPECT_FALSE(api_->Peek(api::kComputePools, "team-a", "train").has_value());
}

TEST_F(UninstallCleanupTest, AConflictRereadsTheNode) {
  api_->InjectError(FakeApiClient::Verb::kPatch, AbortedError("the object has been modified"), 1,
                    "nodes");
  CleanupReport report = Cleanup().Run();
  EXPECT_THAT(report.errors, IsEmpty());
  EXPECT_EQ(api_->CallCount(FakeApiClient::Verb::kGet), 1);
  ExpectNothingLeft();
}

TEST_F(UninstallCleanupTest, ErrorsNameTheirObjectAndTheRestIsStillCleaned) {
  api_->InjectError(FakeApiClient::Verb::kDelete, PermissionDeniedError("forbidden"), 1,
                    "computenodes.zhisuan.io");
  api_->InjectError(FakeApiClient::Verb::kPatch, PermissionDeniedError("forbidden"), 1,
                    "computepools.zhisuan.io");
  CleanupReport report = Cleanup().Run();
  ASSERT_THAT(report.errors, SizeIs(2));
  EXPECT_EQ(report.errors[0].message(), "delete computenodes/n1: forbidden");
  EXPECT_EQ(report.errors[1].message(), "patch computepools/team-a/train: forbidden");
  EXPECT_EQ(report.nodes_cleaned, 2);
  EXPECT_EQ(report.compute_nodes_deleted, 1);
  // A second run finishes the job.
  report = Cleanup().Run();
  EXPECT_THAT(report.errors, IsEmpty());
  ExpectNothingLeft();
}

TEST_F(UninstallCleanupTest, WaitsForTheReleasesPodsFirst) {
  ASSERT_TRUE(api_->Create(kube::kPods, "zhisuan-system", Pod("agent-x", "agent", "Running")).ok());
  ASSERT_TRUE(api_->Create(kube::kPods, "zhisuan-system", Pod("done", "agent", "Succeeded")).ok());
  ASSERT_TRUE(api_->Create(kube::kPods, "zhisuan-system", Pod("other", "web", "Running")).ok());
  on_sleep_ = [this] {
    // The agent still writes while it runs; the cleanup must not start before it is gone.
    EXPECT_EQ(api_->Objects(api::kComputeNodes).size(), 2U);
    if (sleeps_ == 3) {
      EXPECT_TRUE(api_->Delete(kube::kPods, "zhisuan-system", "agent-x").ok());
    }
  };
  CleanupReport report = Cleanup("app.kubernetes.io/component=agent").Run();
  EXPECT_THAT(report.errors, IsEmpty());
  EXPECT_EQ(sleeps_, 3);
  ExpectNothingLeft();
}

TEST_F(UninstallCleanupTest, PodsThatOutstayTheWaitFailTheRunButTheCleanupHappens) {
  ASSERT_TRUE(api_->Create(kube::kPods, "zhisuan-system", Pod("agent-x", "agent", "Running")).ok());
  CleanupReport report = Cleanup("app.kubernetes.io/component=agent").Run();
  ASSERT_THAT(report.errors, SizeIs(1));
  EXPECT_EQ(report.errors[0].code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(report.errors[0].message(), HasSubstr("agent-x"));
  EXPECT_EQ(sleeps_, 60);
  ExpectNothingLeft();
}

TEST(UninstallCleanupFlagsTest, ParsedWithTheControllersGrammar) {
  auto config = ParseControllerFlags({"--uninstall-cleanup", "--uninstall-pod-selector",
                                      "app.kubernetes.io/instance=z,app.kubernetes.io/component "
                                      "in (agent,controller)",
                                      "--uninstall-pod-wait=90s"},
                                     "ops");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->uninstall.enabled);
  EXPECT_EQ(config->uninstall.pod_selector,
            "app.kubernetes.io/instance=z,app.kubernetes.io/component in (agent,controller)");
  EXPECT_EQ(config->uninstall.pod_namespace, "ops");
  EXPECT_EQ(config->uninstall.pod_wait, std::chrono::seconds(90));

  config = ParseControllerFlags({});
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config->uninstall.enabled);
  EXPECT_EQ(config->uninstall.pod_selector, "");
  EXPECT_EQ(config->uninstall.pod_namespace, "zhisuan-system");
  EXPECT_EQ(config->uninstall.pod_wait, std::chrono::seconds(60));
  EXPECT_EQ(ParseControllerFlags({"--uninstall-pod-namespace=x"})->uninstall.pod_namespace, "x");
  EXPECT_FALSE(ParseControllerFlags({"--uninstall-cleanup=false"})->uninstall.enabled);

  for (const std::string arg :
       {"--uninstall-cleanup=maybe", "--uninstall-pod-wait=soon", "--uninstall-pod-namespace="}) {
    auto bad = ParseControllerFlags({arg});
    ASSERT_FALSE(bad.ok()) << arg;
    EXPECT_THAT(bad.status().message(), ::testing::StartsWith(arg + ": ")) << arg;
  }
  const std::string usage = ControllerUsage();
  for (const char* flag : {"--uninstall-cleanup=", "--uninstall-pod-selector=",
                           "--uninstall-pod-namespace=", "--uninstall-pod-wait="}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace zhisuan::controller
