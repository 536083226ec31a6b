// The drain stage (issue 17: a pool's nodes were not exclusive). A node changing hands keeps the
// NoSchedule pool taint, its pods of other namespaces are evicted and the pool does not count it
// until they are gone or --drain-timeout has passed; then the taint becomes NoExecute. Everything
// the drain needs is read from the snapshot, so a restarted controller carries on.
#include "controller/reconcile/drain.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/controller/pool_fixtures.h"

namespace zhisuan::controller {
namespace {

using fixtures::H100Node;
using fixtures::MakeNode;
using fixtures::MakePod;
using fixtures::MakePool;
using fixtures::SnapshotBuilder;
using fixtures::T0;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

PlannerConfig Config() {
  PlannerConfig config;
  config.drain_timeout = seconds(300);
  config.drain_exempt_namespaces = {"kube-system", "zhisuan-system"};
  return config;
}

std::vector<std::string> Keys(const std::vector<const PodInfo*>& pods) {
  std::vector<std::string> keys;
  for (const PodInfo* pod : pods) keys.push_back(pod->Key());
  return keys;
}

std::vector<std::string> Evicted(const PoolPlan& plan) {
  std::vector<std::string> keys;
  for (const auto& eviction : plan.evictions) {
    keys.push_back(StrCat(eviction.pod_namespace, "/", eviction.name, "@", eviction.node));
  }
  return keys;
}

const PoolChange* ChangeOf(const PoolPlan& plan, std::string_view key) {
  for (const auto& change : plan.pool_changes) {
    if (change.pool_key == key) return &change;
  }
  return nullptr;
}

api::Condition Capacity(const api::ComputePoolStatus& status) {
  const api::Condition* condition =
      api::FindCondition(status.conditions, api::kConditionCapacitySatisfied);
  return condition != nullptr ? *condition : api::Condition{};
}

const Taint kDraining{"zhisuan.io/pool", "t.p", "NoSchedule"};
const Taint kExclusive{"zhisuan.io/pool", "t.p", "NoExecute"};

TEST(PodsToDrain, OtherNamespacesButNotDaemonsMirrorsFinishedOrExempt) {
  const std::vector<PodInfo> pods = {MakePod("other/web").On("n1").Obj(),
                                     MakePod("t/own").On("n1").Obj(),
                                     MakePod("other/ds").On("n1").DaemonSet().Obj(),
                                     MakePod("other/static").On("n1").Mirror().Obj(),
                                     MakePod("other/done").On("n1").Finished().Obj(),
                                     MakePod("kube-system/dns").On("n1").Obj(),
                                     MakePod("zhisuan-system/x").On("n1").Obj(),
                                     MakePod("third/job").On("n1").Terminating().Obj()};
  std::vector<const PodInfo*> on_node;
  for (const auto& pod : pods) on_node.push_back(&pod);
  const auto exempt = Config().drain_exempt_namespaces;
  EXPECT_THAT(Keys(stages::PodsToDrain(on_node, "t", exempt)),
              ElementsAre("other/web", "third/job"));
  // A release has no new owner: the old tenant's pods go too.
  EXPECT_THAT(Keys(stages::PodsToDrain(on_node, "", exempt)),
              ElementsAre("other/web", "t/own", "third/job"));
}

TEST(AssessDrain, StartsNowEndsAtTheDeadlineAndNeverReopensAHandedOverNode) {
  const PodInfo foreign = MakePod("other/web").On("n1").Obj();
  const std::vector<const PodInfo*> pods = {&foreign};
  const NodeInfo fresh = MakeNode("n1").Obj();
  stages::DrainState state = stages::AssessDrain(fresh, "t.p", "t", pods, {}, Config(), T0());
  EXPECT_TRUE(state.draining);
  EXPECT_EQ(state.since, T0());
  EXPECT_EQ(state.deadline, T0() + seconds(300));
  EXPECT_THAT(Keys(state.pods), ElementsAre("other/web"));

  // Where a restarted controller finds the drain: the pool's annotation.
  const std::map<std::string, WallTime> since = {{"n1", T0() - seconds(200)}};
  state = stages::AssessDrain(fresh, "t.p", "t", pods, since, Config(), T0());
  EXPECT_TRUE(state.draining);
  EXPECT_EQ(state.deadline, T0() + seconds(100));
  state = stages::AssessDrain(fresh, "t.p", "t", pods, since, Config(), T0() + seconds(100));
  EXPECT_FALSE(state.draining);  // the taint manager takes over

  // Nothing to drain, or the node already carries the NoExecute taint of this binding.
  EXPECT_FALSE(stages::AssessDrain(fresh, "t.p", "t", {}, {}, Config(), T0()).draining);
  const NodeInfo handed_over = MakeNode("n1").BoundTo("t/p").Obj();
  EXPECT_TRUE(stages::HandedOver(handed_over, "t.p"));
  EXPECT_FALSE(stages::AssessDrain(handed_over, "t.p", "t", pods, {}, Config(), T0()).draining);
  // The NoSchedule taint of before issue 17 is not handed over.
  const NodeInfo old_taint =
      MakeNode("n1").Label("zhisuan.io/pool", "t.p").Taint("zhisuan.io/pool", "t.p").Obj();
  EXPECT_FALSE(stages::HandedOver(old_taint, "t.p"));
  EXPECT_TRUE(stages::AssessDrain(old_taint, "t.p", "t", pods, {}, Config(), T0()).draining);
}

// The whole way: bind with a foreign pod on the node, evict it, count the node once it is gone.
TEST(PlanPoolsDrain, BindingANodeWithAForeignPodDrainsItBeforeCountingIt) {
  ClusterSnapshot snapshot = SnapshotBuilder()
                                 .Add(H100Node("n1", "z1"))
                                 .Add(MakePod("other/web").On("n1").Obj())
                                 .Add(MakePod("other/agent").On("n1").DaemonSet().Obj())
                                 .Add(MakePool("t/p").Accelerators(8).Finalized().Obj())
                                 .Obj();
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  ASSERT_EQ(plan.node_changes.size(), 1u);
  EXPECT_EQ(plan.node_changes[0].to_binding, "t.p");
  EXPECT_THAT(plan.node_changes[0].taints, ElementsAre(kDraining));
  EXPECT_THAT(Evicted(plan), ElementsAre("other/web@n1"));
  EXPECT_EQ(plan.evictions[0].pool_key, "t/p");
  EXPECT_EQ(plan.evictions[0].uid, "uid-other-web");
  const PoolChange* change = ChangeOf(plan, "t/p");
  ASSERT_NE(change, nullptr);
  ASSERT_TRUE(change->status.has_value());
  EXPECT_THAT(change->status->nodes, IsEmpty());  // not counted yet
  EXPECT_EQ(change->status->accelerator_count, 0);
  const api::Condition capacity = Capacity(*change->status);
  EXPECT_EQ(capacity.status, "False");
  EXPECT_EQ(capacity.reason, reasons::kDraining);
  EXPECT_THAT(capacity.message, HasSubstr("n1 (1 pod of other namespaces: other/web"));
  EXPECT_THAT(change->status->draining_members,
              ElementsAre(api::MemberSince{"n1", FormatWallTime(T0())}));
  EXPECT_LE(plan.requeue_after.at("t/p"), seconds(10));
  // Tenants tolerate only the NoExecute taint, so none of theirs lands while it drains.
  EXPECT_EQ(change->status->scheduling_tolerations[0].effect, "NoExecute");

  // The eviction is granted and the pod is gone: the taint becomes NoExecute, the node counts.
  snapshot = ApplyPlan(snapshot, plan);
  plan = PlanPools(snapshot, T0() + seconds(5), Config());
  ASSERT_EQ(plan.node_changes.size(), 1u);
  EXPECT_THAT(plan.node_changes[0].taints, ElementsAre(kExclusive));
  EXPECT_THAT(plan.evictions, IsEmpty());
  change = ChangeOf(plan, "t/p");
  ASSERT_NE(change, nullptr);
  ASSERT_TRUE(change->status.has_value());
  EXPECT_THAT(change->status->nodes, ElementsAre("n1"));
  EXPECT_EQ(Capacity(*change->status).status, "True");
  EXPECT_THAT(change->status->draining_members, IsEmpty());

  snapshot = ApplyPlan(snapshot, plan);
  plan = PlanPools(snapshot, T0() + seconds(6), Config());
  EXPECT_TRUE(plan.Empty());
  EXPECT_THAT(plan.evictions, IsEmpty());
}

// A PodDisruptionBudget refuses the eviction: the node stays out until the deadline, which a
// restarted controller reads from the pool; then the NoExecute taint goes on and the node counts.
TEST(PlanPoolsDrain, ARefusedEvictionKeepsTheNodeOutUntilTheDeadline) {
  ClusterSnapshot snapshot = SnapshotBuilder()
                                 .Add(H100Node("n1", "z1"))
                                 .Add(MakePod("other/guarded").On("n1").Obj())
                                 .Add(MakePool("t/p").Accelerators(8).Finalized().Obj())
                                 .Obj();
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  const SharedValues<PodInfo> pods = snapshot.pods;
  snapshot = ApplyPlan(snapshot, plan);
  snapshot.pods = pods;  // refused: still there

  plan = PlanPools(snapshot, T0() + seconds(200), Config());
  EXPECT_THAT(plan.node_changes, IsEmpty());
  EXPECT_THAT(Evicted(plan), ElementsAre("other/guarded@n1"));  // tried again
  EXPECT_EQ(plan.requeue_after.at("t/p"), seconds(10));
  plan = PlanPools(snapshot, T0() + seconds(295), Config());
  EXPECT_EQ(plan.requeue_after.at("t/p"), seconds(5));  // the deadline comes first

  plan = PlanPools(snapshot, T0() + seconds(300), Config());
  ASSERT_EQ(plan.node_changes.size(), 1u);
  EXPECT_THAT(plan.node_changes[0].taints, ElementsAre(kExclusive));
  EXPECT_THAT(plan.evictions, IsEmpty());  // the taint manager deletes it
  const PoolChange* change = ChangeOf(plan, "t/p");
  ASSERT_NE(change, nullptr);
  ASSERT_TRUE(change->status.has_value());
  EXPECT_THAT(change->status->nodes, ElementsAre("n1"));
  EXPECT_EQ(Capacity(*change->status).status, "True");

  // Handed over: the pod still terminating there does not reopen the drain.
  snapshot = ApplyPlan(snapshot, plan);
  snapshot.pods = pods;
  EXPECT_TRUE(PlanPools(snapshot, T0() + seconds(301), Config()).Empty());
}

// Nodes bound before issue 17 carry the NoSchedule taint; with nothing foreign on them the
// controller replaces it with the NoExecute one and keeps counting them.
TEST(PlanPoolsDrain, ReplacesTheOldNoScheduleTaintOfABoundNode) {
  const ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(fixtures::Machine{MakeNode("n1")
                                     .Label("zhisuan.io/pool", "t.p")
                                     .Taint("zhisuan.io/pool", "t.p", "NoSchedule")
                                     .Obj(),
                                 H100Node("n1", "z1").compute_node})
          .Add(MakePod("t/own").On("n1").Obj())
          .Add(MakePool("t/p").Accelerators(8).Finalized().Obj())
          .Obj();
  const PoolPlan plan = PlanPools(snapshot, T0(), Config());
  ASSERT_EQ(plan.node_changes.size(), 1u);
  EXPECT_EQ(plan.node_changes[0].from_binding, "t.p");
  EXPECT_THAT(plan.node_changes[0].taints, ElementsAre(kExclusive));
  EXPECT_THAT(plan.evictions, IsEmpty());
  const PoolChange* change = ChangeOf(plan, "t/p");
  ASSERT_NE(change, nullptr);
  ASSERT_TRUE(change->status.has_value());
  EXPECT_THAT(change->status->nodes, ElementsAre("n1"));
}

// Released (here: its pool is deleted), the node's tenant pods are evicted with the unbind.
TEST(PlanPoolsDrain, ReleasingANodeEvictsItsTenantsPods) {
  const ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(fixtures::Machine{MakeNode("n1").BoundTo("t/p").Obj(),
                                 H100Node("n1", "z1").compute_node})
          .Add(MakePod("t/train").On("n1").Obj())
          .Add(MakePod("t/ds").On("n1").DaemonSet().Obj())
          .Add(MakePool("t/p").Accelerators(8).Finalized().Deleting().Obj())
          .Obj();
  const PoolPlan plan = PlanPools(snapshot, T0(), Config());
  ASSERT_EQ(plan.node_changes.size(), 1u);
  EXPECT_EQ(plan.node_changes[0].to_binding, "");
  EXPECT_THAT(Evicted(plan), ElementsAre("t/train@n1"));
  EXPECT_EQ(plan.evictions[0].pool_key, "t/p");
}

// Moved between pools: the new owner drains the old tenant's pods before it counts the node.
TEST(PlanPoolsDrain, ANodeMovedToAnotherPoolIsDrainedOfTheOldTenant) {
  const ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(fixtures::Machine{MakeNode("n1").BoundTo("old/p").Obj(),
                                 H100Node("n1", "z1").compute_node})
          .Add(MakePod("old/train").On("n1").Obj())
          .Add(MakePool("old/p").Accelerators(8).Finalized().Deleting().Obj())
          .Add(MakePool("t/p").Accelerators(8).Finalized().Obj())
          .Obj();
  const PoolPlan plan = PlanPools(snapshot, T0(), Config());
  ASSERT_EQ(plan.node_changes.size(), 1u);
  EXPECT_EQ(plan.node_changes[0].to_binding, "t.p");
  EXPECT_THAT(plan.node_changes[0].taints, ElementsAre(kDraining));
  EXPECT_THAT(Evicted(plan), ElementsAre("old/train@n1"));
  EXPECT_EQ(plan.evictions[0].pool_key, "t/p");
}

}  // namespace
}  // namespace zhisuan::controller
