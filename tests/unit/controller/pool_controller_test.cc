// The reconcile loop (informers -> queue -> plan -> executor) against the in-memory API server.
// It runs on real threads, so it waits with bounded polls; the planning itself is covered with
// fake time in pool_planner_test.cc.
#include "controller/pool_controller.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "api/group_version.h"
#include "common/strings.h"
#include "tests/unit/controller/pool_fixtures.h"
#include "tests/unit/kube/fake_api_client.h"

namespace zhisuan::controller {
namespace {

using kube::FakeApiClient;

Json NodeObject(const std::string& name, bool ready) {
  return {
      {"apiVersion", "v1"},
      {"kind", "Node"},
      {"metadata", {{"name", name}}},
      {"status",
       {{"conditions", Json::array({{{"type", "Ready"}, {"status", ready ? "True" : "False"}}})}}}};
}

Json ComputeNodeObject(const std::string& name) {
  api::ComputeNode node =
      fixtures::MakeComputeNode(name).Accelerators(8, "H100-SXM5", "989.4T").Obj();
  return {{"apiVersion", "zhisuan.io/v1alpha1"},
          {"kind", "ComputeNode"},
          {"metadata", {{"name", name}}},
          {"status", api::ToJson(node.status)}};
}

Json PoolObject(const std::string& name, const std::string& created) {
  return {{"apiVersion", "zhisuan.io/v1alpha1"},
          {"kind", "ComputePool"},
          {"metadata", {{"namespace", "t"}, {"name", name}, {"creationTimestamp", created}}},
          {"spec", {{"capacity", {{"accelerators", 8}}}}}};
}

bool Eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 200; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return done();
}

class PoolControllerTest : public ::testing::Test {
 protected:
  std::string Binding(const std::string& node) {
    auto object = api_->Peek(kube::kNodes, "", node);
    if (!object) return "<gone>";
    return object->value("/metadata/labels/zhisuan.io~1pool"_json_pointer, std::string());
  }
  void SetReady(const std::string& node, bool ready) {
    Json object = *api_->Peek(kube::kNodes, "", node);
    object["status"] = NodeObject(node, ready)["status"];
    ASSERT_TRUE(api_->UpdateStatus(kube::kNodes, object).ok());
  }

  std::shared_ptr<FakeApiClient> api_ = std::make_shared<FakeApiClient>();
};

TEST_F(PoolControllerTest, NodeEventsReachTheirPoolAndWaitingPools) {
  for (const char* name : {"n1", "n2"}) {
    ASSERT_TRUE(api_->Create(kube::kNodes, "", NodeObject(name, true)).ok());
    ASSERT_TRUE(api_->Create(api::kComputeNodes, "", ComputeNodeObject(name)).ok());
  }
  ASSERT_TRUE(api_->Create(api::kComputePools, "t", PoolObject("a", "2026-11-18T00:00:00Z")).ok());
  PoolControllerOptions options;
  options.planner.health_grace = std::chrono::seconds(0);
  PoolController controller(api_, nullptr, nullptr, options);
  controller.StartInformers();
  ASSERT_TRUE(controller.WaitForSync(std::chrono::seconds(5)));
  controller.StartWorkers();

  ASSERT_TRUE(Eventually([&] { return Binding("n1") == "t.a"; }));
  EXPECT_EQ(Binding("n2"), "");

  // The member fails: its pool is found through the binding index and repaired.
  SetReady("n1", false);
  ASSERT_TRUE(Eventually([&] { return Binding("n2") == "t.a" && Binding("n1").empty(); }))
      << Binding("n1") << " " << Binding("n2");

  // A second pool waits; a node that becomes usable reaches it without any pool event.
  ASSERT_TRUE(api_->Create(api::kComputePools, "t", PoolObject("b", "2026-11-18T01:00:00Z")).ok());
  ASSERT_TRUE(Eventually([&] {
    auto pool = api_->Peek(api::kComputePools, "t", "b");
    return pool && pool->value("/status/nodeCount"_json_pointer, -1) == 0;
  }));
  SetReady("n1", true);
  ASSERT_TRUE(Eventually([&] { return Binding("n1") == "t.b"; }));
  EXPECT_EQ(Binding("n2"), "t.a");
  controller.Stop();
}

// The informer keeps only the metadata of a pool: the planner reads the decoded cache, so a
// pool's spec and status would otherwise be held twice.
TEST_F(PoolControllerTest, ThePoolStoreKeepsOnlyMetadata) {
  ASSERT_TRUE(api_->Create(kube::kNodes, "", NodeObject("n1", true)).ok());
  ASSERT_TRUE(api_->Create(api::kComputeNodes, "", ComputeNodeObject("n1")).ok());
  Json pool = PoolObject("a", "2026-11-18T00:00:00Z");
  Json values = Json::array();
  for (int i = 0; i < 64; ++i) values.push_back("z" + std::to_string(i));
  pool["spec"]["nodeSelector"] = {
      {"matchExpressions", {{{"key", "zone"}, {"operator", "NotIn"}, {"values", values}}}}};
  pool["metadata"]["annotations"] = {{"note", std::string(4096, 'x')}};
  ASSERT_TRUE(api_->Create(api::kComputePools, "t", pool).ok());
  PoolController controller(api_, nullptr, nullptr, PoolControllerOptions{});
  controller.StartInformers();
  ASSERT_TRUE(controller.WaitForSync(std::chrono::seconds(5)));
  const kube::ObjectPtr stored = controller.StoredPool("t/a");
  ASSERT_NE(stored, nullptr);
  EXPECT_FALSE(stored->contains("spec"));
  EXPECT_FALSE(stored->contains("status"));
  EXPECT_FALSE(stored->at("metadata").contains("annotations"));
  EXPECT_EQ(stored->at("metadata").value("name", ""), "a");
  EXPECT_EQ(stored->at("metadata").value("namespace", ""), "t");

  // Planned from the decoded cache, the pool still binds by its full spec.
  controller.StartWorkers();
  EXPECT_TRUE(Eventually([&] { return Binding("n1") == "t.a"; }));
  controller.Stop();
}

// A pool whose spec the controller cannot use (the fake API server applies no CRD, as an older
// CRD would not): it is reported, not dropped, and its deletion still completes.
TEST_F(PoolControllerTest, AnInvalidPoolIsReportedAndItsDeletionCompletes) {
  ASSERT_TRUE(api_->Create(kube::kNodes, "", NodeObject("n1", true)).ok());
  ASSERT_TRUE(api_->Create(api::kComputeNodes, "", ComputeNodeObject("n1")).ok());
  Json pool = PoolObject("bad", "2026-11-18T00:00:00Z");
  pool["spec"]["nodeSelector"] = {{"matchLabels", {{"zhisuan.io/pool", "t.other"}}}};
  ASSERT_TRUE(api_->Create(api::kComputePools, "t", pool).ok());
  PoolController controller(api_, nullptr, nullptr, PoolControllerOptions{});
  controller.StartInformers();
  ASSERT_TRUE(controller.WaitForSync(std::chrono::seconds(5)));
  controller.StartWorkers();
  auto ready = [&]() -> Json {
    auto object = api_->Peek(api::kComputePools, "t", "bad");
    if (!object) return nullptr;
    for (const auto& condition : object->value("/status/conditions"_json_pointer, Json::array())) {
      if (condition.value("type", "") == "Ready") return condition;
    }
    return nullptr;
  };
  ASSERT_TRUE(Eventually([&] { return !ready().is_null(); }));
  EXPECT_EQ(ready().value("status", ""), "False");
  EXPECT_EQ(ready().value("reason", ""), "InvalidSpec");
  EXPECT_THAT(ready().value("message", ""),
              ::testing::HasSubstr("spec.nodeSelector.matchLabels must not use the key"));
  EXPECT_EQ(Binding("n1"), "") << "an invalid pool binds nothing";
  auto stored = api_->Peek(api::kComputePools, "t", "bad");
  ASSERT_TRUE(stored);
  EXPECT_THAT(stored->value("/metadata/finalizers"_json_pointer, Json::array()).dump(),
              ::testing::HasSubstr("zhisuan.io/pool-cleanup"));

  ASSERT_TRUE(api_->Delete(api::kComputePools, "t", "bad").ok());
  EXPECT_TRUE(Eventually([&] { return !api_->Peek(api::kComputePools, "t", "bad"); }))
      << "the finalizer is dropped and the pool goes";
  controller.Stop();
}

}  // namespace
}  // namespace zhisuan::controller
