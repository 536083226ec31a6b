// Issue 17, "lost and stale state": what the planner makes of a pool that is gone but still named
// by its nodes (orphans.h), of an agent that died (AgentInfo), of a ComputeNode deleted under a
// member, and of the grace clocks that older controllers kept in tenant-writable annotations.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "controller/reconcile/orphans.h"
#include "controller/reconcile/pool_planner.h"
#include "tests/unit/controller/pool_fixtures.h"
#include "tests/unit/controller/reconcile/test_snapshots.h"

namespace zhisuan::controller {
namespace {

using fixtures::H100Node;
using fixtures::MakeComputeNode;
using fixtures::MakeNode;
using fixtures::MakePod;
using fixtures::MakePool;
using fixtures::SnapshotBuilder;
using fixtures::T0;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

PlannerConfig Config(bool require_ready_agent = false) {
  PlannerConfig config;
  config.health_grace = seconds(60);
  config.require_ready_agent = require_ready_agent;
  return config;
}

std::vector<std::string> MembersAfter(const ClusterSnapshot& snapshot, const PoolPlan& plan,
                                      const std::string& binding) {
  std::vector<std::string> members;
  for (const auto& node : ApplyPlan(snapshot, plan).nodes) {
    if (node.PoolBinding() == binding) members.push_back(node.name);
  }
  std::sort(members.begin(), members.end());
  return members;
}

const PoolChange* ChangeOf(const PoolPlan& plan, const std::string& pool_key) {
  for (const auto& change : plan.pool_changes) {
    if (change.pool_key == pool_key) return &change;
  }
  return nullptr;
}

std::string CapacityReason(const PoolChange& change) {
  if (!change.status) return "";
  const api::Condition* condition =
      api::FindCondition(change.status->conditions, api::kConditionCapacitySatisfied);
  return condition == nullptr ? "" : condition->reason;
}

AgentInfo Agent(const std::string& node, bool ready, WallTime since) {
  return {node, "zhisuan-system/agent-" + node, ready, since};
}

// --- Orphaned bindings ---

TEST(PlanOrphanReleases, ReleasesOnlyNodesWhosePoolTheLiveListLacks) {
  ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(MakeNode("gone-1").BoundTo("t/gone").Taint("team", "x").Obj(),
               MakeComputeNode("gone-1").Obj())
          .Add(MakeNode("kept").BoundTo("t/live").Obj(), MakeComputeNode("kept").Obj())
          .Add(H100Node("free", "a"))
          .Add(MakePod("t/train").On("gone-1").Obj())
          .Add(MakePod("kube-system/proxy").On("gone-1").Obj())
          .Add(MakePod("zhisuan-system/agent").On("gone-1").DaemonSet().Obj())
          .Obj();
  snapshot.nodes[0].resource_version = "41";
  // The cache still lists the deleted pool: only the live List decides.
  snapshot.pools.push_back(MakePool("t/gone").Accelerators(8).Finalized().Obj());

  const PoolPlan plan = PlanOrphanReleases(snapshot, {"t.live"}, Config());
  ASSERT_EQ(plan.node_changes.size(), 1u);
  const NodeChange& change = plan.node_changes[0];
  EXPECT_EQ(change.node, "gone-1");
  EXPECT_EQ(change.resource_version, "41");  // conditional: a node rebound since is left alone
  EXPECT_EQ(change.from_binding, "t.gone");
  EXPECT_EQ(change.to_binding, "");
  EXPECT_EQ(change.from_pool, OrphanKey("t.gone"));
  EXPECT_THAT(change.taints, ElementsAre(Taint{"team", "x", "NoSchedule"}));
  // The old tenant's pods leave with the node, as on any release; node daemons stay.
  ASSERT_EQ(plan.evictions.size(), 1u);
  EXPECT_EQ(plan.evictions[0].name, "train");
  EXPECT_EQ(plan.evictions[0].pool_key, OrphanKey("t.gone"));
  EXPECT_THAT(plan.events, IsEmpty());

  // A pool the informer has not seen yet, but the live List has, keeps its node.
  EXPECT_THAT(PlanOrphanReleases(snapshot, {"t.live", "t.gone"}, Config()).node_changes, IsEmpty());
}

// --- Dead agents ---

TEST(AgentReadiness, AMemberWhoseAgentDiedStopsCountingAfterTheGraceAndCountsAgainWhenReady) {
  ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(MakeNode("n1").Zone("a").BoundTo("t/p").Obj(),
               MakeComputeNode("n1").Accelerators(8, "H100-SXM5", "1P").Obj())
          .Add(H100Node("spare", "a"))
          .Add(MakePool("t/p").Accelerators(8).Finalized().Obj())
          .Obj();
  snapshot.agents.push_back(Agent("n1", true, T0() - seconds(3600)));
  snapshot.agents.push_back(Agent("spare", true, T0() - seconds(3600)));
  snapshot = ApplyPlan(snapshot, PlanPools(snapshot, T0(), Config(true)));
  ASSERT_TRUE(PlanPools(snapshot, T0(), Config(true)).Empty());

  // The agent's container died 30 s ago (the kubelet cleared Ready): within the grace it counts.
  snapshot.agents[0].ready = false;
  snapshot.agents[0].since = T0() - seconds(30);
  PoolPlan plan = PlanPools(snapshot, T0(), Config(true));
  EXPECT_THAT(plan.node_changes, IsEmpty());
  EXPECT_EQ(plan.requeue_after.at("t/p"), seconds(30));  // when the grace, from the pod, ends
  const PoolChange* change = ChangeOf(plan, "t/p");
  ASSERT_NE(change, nullptr);
  ASSERT_TRUE(change->status.has_value());
  EXPECT_THAT(change->status->impaired_members,
              ElementsAre(api::MemberSince{"n1", FormatWallTime(T0() - seconds(30))}));
  snapshot = ApplyPlan(snapshot, plan);

  // Past it: the spare replaces n1, whose agent is not Ready.
  plan = PlanPools(snapshot, T0() + seconds(31), Config(true));
  EXPECT_THAT(MembersAfter(snapshot, plan, "t.p"), ElementsAre("spare"));
  bool said_why = false;
  for (const auto& event : plan.events) {
    said_why = said_why || (event.reason == "NodeUnbound" &&
                            event.message.find("agent pod zhisuan-system/agent-n1 not Ready") !=
                                std::string::npos);
  }
  EXPECT_TRUE(said_why);
  snapshot = ApplyPlan(snapshot, plan);

  // Now spare's agent dies too, long ago: the pool is degraded, and n1, free with its agent not
  // Ready, is no candidate.
  snapshot.agents[1].ready = false;
  plan = PlanPools(snapshot, T0() + seconds(32), Config(true));
  EXPECT_THAT(MembersAfter(snapshot, plan, "t.p"), ElementsAre("spare"));
  ASSERT_NE(ChangeOf(plan, "t/p"), nullptr);
  EXPECT_EQ(CapacityReason(*ChangeOf(plan, "t/p")), "CapacityDegraded");
  snapshot = ApplyPlan(snapshot, plan);
  // n1's agent is Ready again: it counts again, and replaces spare.
  snapshot.agents[0].ready = true;
  plan = PlanPools(snapshot, T0() + seconds(33), Config(true));
  EXPECT_THAT(MembersAfter(snapshot, plan, "t.p"), ElementsAre("n1"));
}

TEST(AgentReadiness, ANodeWithoutAnAgentPodIsNotJudgedByPodReadiness) {
  const ClusterSnapshot snapshot = SnapshotBuilder()
                                       .Add(H100Node("n1", "a"))
                                       .Add(MakePool("t/p").Accelerators(8).Finalized().Obj())
                                       .Obj();
  // Its agent runs outside the DaemonSet (a kwok node's host process): the node counts with or
  // without --agent-pod-selector, and nothing is marked impaired.
  for (bool observe_agents : {false, true}) {
    const PoolPlan plan = PlanPools(snapshot, T0(), Config(observe_agents));
    EXPECT_THAT(MembersAfter(snapshot, plan, "t.p"), ElementsAre("n1")) << observe_agents;
    ASSERT_NE(ChangeOf(plan, "t/p"), nullptr);
    EXPECT_THAT(ChangeOf(plan, "t/p")->status->impaired_members, IsEmpty()) << observe_agents;
  }
}

// --- A ComputeNode deleted under a member ---

TEST(MissingComputeNode, AMemberKeepsItsLastKnownCapacityThroughTheGrace) {
  ClusterSnapshot snapshot = SnapshotBuilder()
                                 .Add(H100Node("n1", "a"))
                                 .Add(H100Node("spare", "a"))
                                 .Add(MakePool("t/p").Accelerators(8).Finalized().Obj())
                                 .Obj();
  snapshot = ApplyPlan(snapshot, PlanPools(snapshot, T0(), Config()));
  const std::string member = snapshot.nodes[0].PoolBinding() == "t.p" ? "n1" : "spare";
  const std::string other = member == "n1" ? "spare" : "n1";
  // Deleted: the cache keeps its last state apart from the live ones.
  for (size_t i = 0; i < snapshot.compute_nodes.size(); ++i) {
    if (std::as_const(snapshot.compute_nodes)[i].name != member) continue;
    snapshot.deleted_compute_nodes.push_back(std::as_const(snapshot.compute_nodes)[i]);
  }
  snapshot.compute_nodes.EraseIf([&](const api::ComputeNode& c) { return c.name == member; });

  PoolPlan plan = PlanPools(snapshot, T0() + seconds(10), Config());
  EXPECT_THAT(plan.node_changes, IsEmpty());  // no release, no spare taken
  ASSERT_NE(ChangeOf(plan, "t/p"), nullptr);
  EXPECT_THAT(ChangeOf(plan, "t/p")->status->impaired_members,
              ElementsAre(api::MemberSince{member, FormatWallTime(T0() + seconds(10))}));
  EXPECT_EQ(ChangeOf(plan, "t/p")->status->accelerator_count, 8);
  snapshot = ApplyPlan(snapshot, plan);

  // Recreated within the grace: the clock stops, nothing moved.
  ClusterSnapshot recreated = snapshot;
  recreated.compute_nodes.push_back(recreated.deleted_compute_nodes[0]);
  recreated.deleted_compute_nodes.clear();
  plan = PlanPools(recreated, T0() + seconds(40), Config());
  EXPECT_THAT(plan.node_changes, IsEmpty());
  ASSERT_NE(ChangeOf(plan, "t/p"), nullptr);
  EXPECT_THAT(ChangeOf(plan, "t/p")->status->impaired_members, IsEmpty());

  // Not recreated: after the grace the other node replaces it.
  plan = PlanPools(snapshot, T0() + seconds(70), Config());
  EXPECT_THAT(MembersAfter(snapshot, plan, "t.p"), ElementsAre(other));
}

TEST(MissingComputeNode, WithoutALastStateTheMemberIsStillHeldThroughTheGrace) {
  // A controller that restarted after the delete never saw the ComputeNode: the member counts
  // for nothing, so a spare covers the pool meanwhile, yet it is not released before its grace
  // ends.
  PoolObservation pool = MakePool("t/p").Accelerators(8).Finalized().Obj();
  api::Condition satisfied;
  satisfied.type = "CapacitySatisfied";
  satisfied.status = "True";
  satisfied.reason = "Satisfied";
  pool.pool.status.conditions.push_back(satisfied);
  ClusterSnapshot snapshot = SnapshotBuilder()
                                 .AddNodeOnly(MakeNode("n1").Zone("a").BoundTo("t/p").Obj())
                                 .Add(H100Node("spare", "a"))
                                 .Add(pool)
                                 .Obj();
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  EXPECT_THAT(MembersAfter(snapshot, plan, "t.p"), ElementsAre("n1", "spare"));
  snapshot = ApplyPlan(snapshot, plan);
  EXPECT_THAT(MembersAfter(snapshot, PlanPools(snapshot, T0() + seconds(59), Config()), "t.p"),
              ElementsAre("n1", "spare"));
  plan = PlanPools(snapshot, T0() + seconds(60), Config());
  EXPECT_THAT(MembersAfter(snapshot, plan, "t.p"), ElementsAre("spare"));
}

// --- Grace clocks where tenants cannot write ---

TEST(GraceClocks, TheLegacyAnnotationIsIgnoredAndRemoved) {
  ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(MakeNode("n1").Zone("a").BoundTo("t/p").NotReady().Obj(),
               MakeComputeNode("n1").Accelerators(8, "H100-SXM5", "1P").Obj())
          .Add(H100Node("spare", "a"))
          .Add(MakePool("t/p").Accelerators(8).Finalized().Obj())
          .Obj();
  // The status clock says n1 has been NotReady for an hour; a tenant's annotation (read by older
  // controllers) claiming it only just began changes nothing.
  snapshot.pools[0].impaired_since["n1"] = T0() - seconds(3600);
  snapshot.pools[0].pool.status.impaired_members = {{"n1", FormatWallTime(T0() - seconds(3600))}};
  ClusterSnapshot annotated = snapshot;
  annotated.pools[0].legacy_clock_annotations = true;
  const PoolPlan plain = PlanPools(snapshot, T0(), Config());
  const PoolPlan plan = PlanPools(annotated, T0(), Config());
  EXPECT_EQ(plan.node_changes, plain.node_changes);
  EXPECT_THAT(MembersAfter(annotated, plan, "t.p"), ElementsAre("spare"));
  ASSERT_NE(ChangeOf(plan, "t/p"), nullptr);
  EXPECT_TRUE(ChangeOf(plan, "t/p")->remove_legacy_annotations);
  EXPECT_TRUE(ChangeOf(plan, "t/p")->ChangesMetadata());
  ASSERT_NE(ChangeOf(plain, "t/p"), nullptr);
  EXPECT_FALSE(ChangeOf(plain, "t/p")->remove_legacy_annotations);
}

}  // namespace
}  // namespace zhisuan::controller
