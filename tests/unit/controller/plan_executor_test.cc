#include "controller/plan_executor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/group_version.h"
#include "common/strings.h"
#include "tests/unit/controller/pool_fixtures.h"
#include "tests/unit/kube/fake_api_client.h"

namespace zhisuan::controller {
namespace {

using kube::FakeApiClient;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct RecordedEvent {
  std::string kind, name, type, reason, message;
};

class RecordingEventSink final : public EventSink {
 public:
  void Emit(const kube::ObjectReference& object, kube::EventType type, std::string_view reason,
            std::string_view message) override {
    events.push_back({object.kind, object.name,
                      type == kube::EventType::kWarning ? "Warning" : "Normal", std::string(reason),
                      std::string(message)});
  }
  std::vector<std::string> Reasons() const {
    std::vector<std::string> reasons;
    for (const auto& event : events) reasons.push_back(event.reason);
    return reasons;
  }
  std::vector<RecordedEvent> events;
};

Json NodeObject(std::string name, std::string zone) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", name}, {"labels", {{"topology.kubernetes.io/zone", zone}}}}},
          {"spec", {{"taints", Json::array({{{"key", "gpu"}, {"effect", "NoSchedule"}}})}}},
          {"status", {{"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
}

Json ComputeNodeObject(std::string name) {
  api::ComputeNode node =
      fixtures::MakeComputeNode(name).Accelerators(8, "H100-SXM5", "989.4T").Obj();
  return {{"apiVersion", "zhisuan.io/v1alpha1"},
          {"kind", "ComputeNode"},
          {"metadata", {{"name", name}}},
          {"status", api::ToJson(node.status)}};
}

Json PoolObject(std::string ns, std::string name, int accelerators) {
  return {{"apiVersion", "zhisuan.io/v1alpha1"},
          {"kind", "ComputePool"},
          {"metadata", {{"namespace", ns}, {"name", name}}},
          {"spec", {{"capacity", {{"accelerators", accelerators}}}}}};
}

class PlanExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 1; i <= 3; ++i) {
      ASSERT_TRUE(api_->Create(kube::kNodes, "", NodeObject(StrCat("n", i), "a")).ok());
      ASSERT_TRUE(api_->Create(api::kComputeNodes, "", ComputeNodeObject(StrCat("n", i))).ok());
    }
  }

  ClusterSnapshot Snapshot() {
    ClusterSnapshot snapshot =
        SnapshotFromObjects(api_->Objects(api::kComputePools), api_->Objects(kube::kNodes),
                            api_->Objects(api::kComputeNodes));
    for (const Json& object : api_->Objects(kube::kPods)) {
      if (auto pod = PodInfoFromJson(object); pod.ok()) snapshot.pods.push_back(*pod);
    }
    return snapshot;
  }
  PoolPlan Plan() { return PlanPools(Snapshot(), fixtures::T0(), PlannerConfig{}); }
  Json Node(std::string_view name) { return *api_->Peek(kube::kNodes, "", name); }
  Json Pool(std::string_view ns, std::string_view name) {
    return api_->Peek(api::kComputePools, ns, name).value_or(Json());
  }

  std::shared_ptr<FakeApiClient> api_ = std::make_shared<FakeApiClient>();
  RecordingEventSink events_;
  PlanExecutor executor_{api_, &events_};
};

Json PodObject(std::string ns, std::string name, std::string node) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"namespace", ns}, {"name", name}}},
          {"spec", {{"nodeName", node}}},
          {"status", {{"phase", "Running"}}}};
}

// Issue 17: the pods of other namespaces on a node the plan binds are evicted, through the
// eviction API, after the node write; a 429 (a PodDisruptionBudget) is expected, not a failure.
TEST_F(PlanExecutorTest, EvictsForeignPodsAfterTheNodeWrite) {
  ASSERT_TRUE(api_->Create(kube::kPods, "other", PodObject("other", "web", "n1")).ok());
  ASSERT_TRUE(api_->Create(kube::kPods, "other", PodObject("other", "db", "n1")).ok());
  ASSERT_TRUE(api_->Create(api::kComputePools, "team-a", PoolObject("team-a", "train", 8)).ok());
  api_->InjectError(FakeApiClient::Verb::kCreate, ResourceExhaustedError("Cannot evict pod"), 1,
                    "pods/eviction");
  const PoolPlan plan = Plan();
  ASSERT_EQ(plan.evictions.size(), 2u);
  ExecutionResult result = executor_.Execute(plan);
  EXPECT_TRUE(result.Complete()) << result.first_error;
  EXPECT_EQ(result.evictions, 1);
  EXPECT_EQ(result.evictions_refused, 1);
  // The node first, tainted NoSchedule while it drains; then the evictions.
  std::vector<std::string> order;
  for (const auto& request : api_->Requests()) {
    if (request.verb == FakeApiClient::Verb::kPatch && request.resource == "nodes") {
      order.push_back("node " + request.name);
    }
    if (request.resource == "pods/eviction") {
      order.push_back("evict " + request.name);
      EXPECT_EQ(request.body, EvictionBody(plan.evictions[order.size() == 2 ? 0 : 1]));
    }
  }
  EXPECT_THAT(order, ElementsAre("node n1", "evict db", "evict web"));
  EXPECT_EQ(Node("n1")["spec"]["taints"][1]["effect"], "NoSchedule");
  EXPECT_EQ(api_->Objects(kube::kPods).size(), 1u);  // the refused one is still there
  const Json pool = Pool("team-a", "train");
  EXPECT_EQ(pool["status"]["drainingMembers"].size(), 1u);
  EXPECT_FALSE(pool["metadata"].contains("annotations"));
  EXPECT_EQ(pool["status"]["conditions"].size(), 4u);

  // Tried again, granted: the node counts and the taint becomes NoExecute.
  result = executor_.Execute(Plan());
  EXPECT_EQ(result.evictions, 1);
  EXPECT_THAT(api_->Objects(kube::kPods), IsEmpty());
  result = executor_.Execute(Plan());
  EXPECT_TRUE(result.Complete()) << result.first_error;
  EXPECT_EQ(Node("n1")["spec"]["taints"][1]["effect"], "NoExecute");
  EXPECT_EQ(Pool("team-a", "train")["status"]["nodes"], Json::array({"n1"}));
  EXPECT_TRUE(Plan().Empty());
}

TEST_F(PlanExecutorTest, BindsWritesStatusAndConvergesToAnEmptyPlan) {
  ASSERT_TRUE(api_->Create(api::kComputePools, "team-a", PoolObject("team-a", "train", 16)).ok());
  ExecutionResult result = executor_.Execute(Plan());
  EXPECT_TRUE(result.Complete()) << result.first_error;
  EXPECT_EQ(result.node_writes, 2);
  EXPECT_EQ(result.pool_writes, 2);  // finalizer, status

  const Json n1 = Node("n1");
  EXPECT_EQ(n1["metadata"]["labels"]["zhisuan.io/pool"], "team-a.train");
  EXPECT_EQ(n1["spec"]["taints"], Json::parse(R"([{"key": "gpu", "effect": "NoSchedule"},
                            {"key": "zhisuan.io/pool", "value": "team-a.train",
                             "effect": "NoExecute"}])"));
  EXPECT_FALSE(Node("n3")["metadata"]["labels"].contains("zhisuan.io/pool"));

  const Json pool = Pool("team-a", "train");
  EXPECT_EQ(pool["metadata"]["finalizers"], Json::array({"zhisuan.io/pool-cleanup"}));
  EXPECT_EQ(pool["status"]["nodes"], Json::array({"n1", "n2"}));
  EXPECT_EQ(pool["status"]["acceleratorCount"], 16);
  EXPECT_EQ(pool["status"]["scheduling"]["nodeSelector"]["zhisuan.io/pool"], "team-a.train");
  EXPECT_THAT(events_.Reasons(), ElementsAre("NodeBound", "NodeBound"));
  EXPECT_EQ(events_.events[0].kind, "ComputePool");

  // Level-triggered and idempotent: the next plan, from what was written, is empty.
  const int patches = api_->CallCount(FakeApiClient::Verb::kPatch);
  PoolPlan again = Plan();
  EXPECT_TRUE(again.Empty());

  executor_.Execute(again);
  EXPECT_EQ(api_->CallCount(FakeApiClient::Verb::kPatch), patches);
}

TEST_F(PlanExecutorTest, ConflictOnANodeLeavesStatusAndEventsForTheNextPlan) {
  ASSERT_TRUE(api_->Create(api::kComputePools, "t", PoolObject("t", "p", 16)).ok());
  PoolPlan plan = Plan();
  // Someone else writes n1 after the plan read it.
  Json n1 = Node("n1");
  n1["metadata"]["labels"]["other"] = "write";
  ASSERT_TRUE(api_->Update(kube::kNodes, n1).ok());

  ExecutionResult result = executor_.Execute(plan);
  EXPECT_THAT(result.conflicted_pools, ElementsAre("t/p"));
  EXPECT_TRUE(kube::IsConflict(result.first_error)) << result.first_error;
  EXPECT_FALSE(Node("n1")["metadata"]["labels"].contains("zhisuan.io/pool"));
  EXPECT_FALSE(Pool("t", "p").contains("status"));
  EXPECT_THAT(events_.Reasons(), IsEmpty());

  // Re-planned from fresh state, it completes.
  result = executor_.Execute(Plan());
  EXPECT_TRUE(result.Complete()) << result.first_error;
  EXPECT_EQ(Node("n1")["metadata"]["labels"]["zhisuan.io/pool"], "t.p");
  EXPECT_TRUE(Plan().Empty());
}

TEST_F(PlanExecutorTest, NoNodeIsBoundBeforeTheFinalizerIsWritten) {
  ASSERT_TRUE(api_->Create(api::kComputePools, "t", PoolObject("t", "p", 8)).ok());
  api_->InjectError(FakeApiClient::Verb::kPatch, UnavailableError("etcd leader changed"), 1,
                    "computepools.zhisuan.io");
  ExecutionResult result = executor_.Execute(Plan());
  EXPECT_THAT(result.failed_pools, ElementsAre("t/p"));
  EXPECT_EQ(result.node_writes, 0);
  EXPECT_EQ(api_->CallCount(FakeApiClient::Verb::kPatch), 1);
  EXPECT_FALSE(Node("n1")["metadata"]["labels"].contains("zhisuan.io/pool"));
}

TEST_F(PlanExecutorTest, DeletionUnbindsThenRemovesFinalizerAndThePoolGoes) {
  ASSERT_TRUE(api_->Create(api::kComputePools, "t", PoolObject("t", "p", 8)).ok());
  ASSERT_TRUE(executor_.Execute(Plan()).Complete());
  ASSERT_EQ(Node("n1")["metadata"]["labels"]["zhisuan.io/pool"], "t.p");
  ASSERT_TRUE(api_->Delete(api::kComputePools, "t", "p").ok());
  ASSERT_TRUE(Pool("t", "p").is_object()) << "the finalizer holds it";

  // An unbind that fails keeps the finalizer.
  api_->InjectError(FakeApiClient::Verb::kPatch, UnavailableError("timeout"), 1, "nodes");
  ExecutionResult result = executor_.Execute(Plan());
  EXPECT_THAT(result.failed_pools, ElementsAre("t/p"));
  EXPECT_TRUE(Pool("t", "p").is_object());

  result = executor_.Execute(Plan());
  EXPECT_TRUE(result.Complete()) << result.first_error;
  EXPECT_TRUE(Pool("t", "p").is_null());
  const Json n1 = Node("n1");
  EXPECT_FALSE(n1["metadata"]["labels"].contains("zhisuan.io/pool"));
  EXPECT_EQ(n1["spec"]["taints"], Json::parse(R"([{"key": "gpu", "effect": "NoSchedule"}])"));
}

// The bind's reply was lost (an API server restart), so the cache the plan came from never saw it:
// removing the finalizer on that plan would leave n1 bound to a pool that no longer exists.
TEST_F(PlanExecutorTest, FinalizerStaysWhileALiveNodeStillCarriesTheBinding) {
  ASSERT_TRUE(api_->Create(api::kComputePools, "t", PoolObject("t", "p", 8)).ok());
  ASSERT_TRUE(executor_.Execute(Plan()).Complete());
  const Json bound_n1 = Node("n1");
  ASSERT_EQ(bound_n1["metadata"]["labels"]["zhisuan.io/pool"], "t.p");
  ASSERT_TRUE(api_->Delete(api::kComputePools, "t", "p").ok());

  // A plan made from a cache in which n1 was never bound: nothing to unbind, so it only
  // removes the finalizer.
  Json stale_n1 = bound_n1;
  stale_n1["metadata"]["labels"].erase("zhisuan.io/pool");
  stale_n1["spec"]["taints"] = Json::parse(R"([{"key": "gpu", "effect": "NoSchedule"}])");
  std::vector<Json> stale_nodes = api_->Objects(kube::kNodes);
  for (Json& node : stale_nodes) {
    if (node["metadata"]["name"] == "n1") node = stale_n1;
  }
  const PoolPlan stale_plan =
      PlanPools(SnapshotFromObjects(api_->Objects(api::kComputePools), stale_nodes,
                                    api_->Objects(api::kComputeNodes)),
                fixtures::T0(), PlannerConfig{});
  ASSERT_TRUE(stale_plan.node_changes.empty());
  ASSERT_EQ(stale_plan.pool_changes.size(), 1u);
  ASSERT_TRUE(stale_plan.pool_changes[0].RemovesFinalizer());

  ExecutionResult result = executor_.Execute(stale_plan);
  EXPECT_FALSE(result.Complete());
  EXPECT_NE(result.first_error.message().find("node n1 still carries"), std::string::npos)
      << result.first_error;
  EXPECT_TRUE(Pool("t", "p").is_object()) << "the finalizer must hold the pool";

  // Once the plan sees the binding, the deletion goes through cleanly.
  result = executor_.Execute(Plan());
  EXPECT_TRUE(result.Complete()) << result.first_error;
  EXPECT_TRUE(Pool("t", "p").is_null());
  EXPECT_FALSE(Node("n1")["metadata"]["labels"].contains("zhisuan.io/pool"));
}

TEST_F(PlanExecutorTest, WarnsOnceAboutAnUndecodableComputeNode) {
  Json broken = ComputeNodeObject("n9");
  broken["status"]["accelerators"] = "many";
  ASSERT_TRUE(api_->Create(api::kComputeNodes, "", broken).ok());
  PoolPlan plan = Plan();
  EXPECT_TRUE(plan.Empty());
  executor_.Execute(plan);
  executor_.Execute(Plan());
  ASSERT_EQ(events_.events.size(), 1u);
  EXPECT_EQ(events_.events[0].kind, "ComputeNode");
  EXPECT_EQ(events_.events[0].name, "n9");
  EXPECT_EQ(events_.events[0].type, "Warning");
  EXPECT_EQ(events_.events[0].reason, "IgnoredComputeNode");

  // Rewritten but still broken: a new version is worth one new warning, and only one.
  Json stored = *api_->Get(api::kComputeNodes, "", "n9");
  stored["status"]["accelerators"] = "still many";
  ASSERT_TRUE(api_->UpdateStatus(api::kComputeNodes, stored).ok());
  executor_.Execute(Plan());
  executor_.Execute(Plan());
  EXPECT_EQ(events_.events.size(), 2u);
}

TEST(PoolStatusPatch, ClearsCarbonFiguresThatAreGone) {
  api::ComputePoolStatus status;
  const Json patch = PoolStatusPatch(status);
  EXPECT_TRUE(patch["status"]["carbonFreeRatio"].is_null());
  EXPECT_TRUE(patch["status"].contains("carbonFreeRatio"));
  status.carbon_free_ratio = 0.5;
  EXPECT_EQ(PoolStatusPatch(status)["status"]["carbonFreeRatio"], 0.5);
}

TEST(NodeBindingPatch, UnbindDeletesTheLabelAndCarriesTheResourceVersion) {
  NodeChange change;
  change.node = "n1";
  change.resource_version = "77";
  change.from_binding = "t.p";
  const Json patch = NodeBindingPatch(change);
  EXPECT_EQ(patch["metadata"]["resourceVersion"], "77");
  EXPECT_TRUE(patch["metadata"]["labels"]["zhisuan.io/pool"].is_null());
  EXPECT_EQ(patch["spec"]["taints"], Json::array());
}

// Issue 17: every write is gated on leadership. A plan made while leading, applied after the
// Lease was lost mid-way, writes nothing after the gate closed: here the finalizer landed, then
// leadership went, so neither node is bound, no status is written and no event is sent.
TEST_F(PlanExecutorTest, APlanAppliedAfterLosingLeadershipWritesNothingFurther) {
  ASSERT_TRUE(api_->Create(api::kComputePools, "t", PoolObject("t", "p", 16)).ok());
  const PoolPlan plan = Plan();
  ASSERT_EQ(plan.node_changes.size(), 2u);
  int asked = 0;
  PlanExecutor gated(api_, &events_, [&asked] { return ++asked <= 1; });  // leads for 1 write
  const int patches_before = api_->CallCount(FakeApiClient::Verb::kPatch);

  ExecutionResult result = gated.Execute(plan);
  EXPECT_EQ(api_->CallCount(FakeApiClient::Verb::kPatch) - patches_before, 1);
  EXPECT_EQ(result.pool_writes, 1);
  EXPECT_EQ(result.node_writes, 0);
  EXPECT_TRUE(result.lost_leadership);
  EXPECT_THAT(result.failed_pools, ElementsAre("t/p"));
  EXPECT_EQ(Pool("t", "p")["metadata"]["finalizers"], Json::array({"zhisuan.io/pool-cleanup"}));
  EXPECT_FALSE(Pool("t", "p").contains("status"));
  EXPECT_FALSE(Node("n1")["metadata"]["labels"].contains("zhisuan.io/pool"));
  EXPECT_FALSE(Node("n2")["metadata"]["labels"].contains("zhisuan.io/pool"));
  EXPECT_THAT(events_.Reasons(), IsEmpty());
  EXPECT_EQ(asked, 2) << "once closed, the gate is not asked again: nothing more is written";
}

TEST_F(PlanExecutorTest, AReplicaThatDoesNotLeadWritesNothing) {
  ASSERT_TRUE(api_->Create(api::kComputePools, "t", PoolObject("t", "p", 8)).ok());
  PlanExecutor standby(api_, &events_, [] { return false; });
  const int patches_before = api_->CallCount(FakeApiClient::Verb::kPatch);
  ExecutionResult result = standby.Execute(Plan());
  EXPECT_EQ(api_->CallCount(FakeApiClient::Verb::kPatch), patches_before);
  EXPECT_EQ(result.node_writes + result.pool_writes, 0);
  EXPECT_FALSE(result.Complete());
  EXPECT_THAT(events_.Reasons(), IsEmpty());
  // The same plan through an open gate writes it all.
  EXPECT_TRUE(executor_.Execute(Plan()).Complete());
  EXPECT_EQ(Node("n1")["metadata"]["labels"]["zhisuan.io/pool"], "t.p");
}

}  // namespace
}  // namespace zhisuan::controller
