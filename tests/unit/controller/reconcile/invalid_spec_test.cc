// The planner on a pool whose spec the controller cannot use (issue 17): an older CRD let it
// through, so the observation keeps the pool with invalid_spec set instead of dropping it. The
// pool then reports Ready=False (InvalidSpec) naming the problem, binds nothing, keeps what it
// holds, and still releases its nodes and drops its finalizer when deleted.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/reconcile/conditions.h"
#include "tests/unit/controller/pool_fixtures.h"

namespace zhisuan::controller {
namespace {

using fixtures::H100Node;
using fixtures::MakeNode;
using fixtures::MakePool;
using fixtures::SnapshotBuilder;
using fixtures::T0;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A pool as the API server stores it when an older CRD accepted half a FLOPS.
Json InvalidPoolObject(bool deleting = false) {
  Json object = {{"metadata",
                  {{"namespace", "t"},
                   {"name", "p"},
                   {"uid", "uid-t/p"},
                   {"resourceVersion", "4"},
                   {"generation", 2},
                   {"creationTimestamp", "2026-11-18T00:00:00Z"}}},
                 {"spec", {{"capacity", {{"flops", "500m"}}}}}};
  if (deleting) {
    object["metadata"]["deletionTimestamp"] = "2026-11-18T01:00:00Z";
    object["metadata"]["finalizers"] = {std::string(api::kPoolFinalizer)};
  }
  return object;
}

PoolObservation InvalidPool(bool deleting = false) {
  auto observation = PoolObservationFromJson(InvalidPoolObject(deleting));
  EXPECT_TRUE(observation.ok()) << observation.status();
  return observation.value_or(PoolObservation{});
}

const PoolChange* ChangeFor(const PoolPlan& plan, const std::string& key) {
  for (const auto& change : plan.pool_changes) {
    if (change.pool_key == key) return &change;
  }
  return nullptr;
}

TEST(InvalidSpec, TheObservationKeepsThePoolAndSaysWhy) {
  const PoolObservation observation = InvalidPool();
  EXPECT_EQ(observation.pool.Key(), "t/p");
  EXPECT_THAT(observation.invalid_spec,
              HasSubstr("spec.capacity.flops must be between 1 (one FLOPS) and 1000000E"));
  EXPECT_EQ(observation.creation_timestamp, "2026-11-18T00:00:00Z");

  auto valid = PoolObservationFromJson({{"metadata", {{"namespace", "t"}, {"name", "q"}}},
                                        {"spec", {{"capacity", {{"accelerators", 8}}}}}});
  ASSERT_TRUE(valid.ok()) << valid.status();
  EXPECT_EQ(valid->invalid_spec, "");
}

TEST(InvalidSpec, ReportsReadyFalseBindsNothingAndKeepsItsMembers) {
  // n1 is already the pool's; n2 is free and would match the empty spec the pool decodes to.
  const ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(MakeNode("n1").Zone("a").BoundTo("t/p").Obj(), H100Node("n1", "a").compute_node)
          .Add(H100Node("n2", "a"))
          .Add(InvalidPool())
          .Obj();
  const PoolPlan plan = PlanPools(snapshot, T0(), PlannerConfig{});
  EXPECT_THAT(plan.node_changes, IsEmpty()) << "binds nothing and releases nothing";
  EXPECT_THAT(plan.waiting_pools, IsEmpty()) << "a pool that cannot be planned waits for nothing";
  const PoolChange* change = ChangeFor(plan, "t/p");
  ASSERT_NE(change, nullptr);
  ASSERT_TRUE(change->finalizers.has_value()) << "so that deleting it still releases n1";
  EXPECT_THAT(*change->finalizers, ElementsAre(std::string(api::kPoolFinalizer)));
  ASSERT_TRUE(change->status.has_value());
  EXPECT_EQ(change->status->observed_generation, 2);
  EXPECT_THAT(change->status->nodes, ElementsAre("n1"));
  const api::Condition* ready = api::FindCondition(change->status->conditions, "Ready");
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->status, "False");
  EXPECT_EQ(ready->reason, reasons::kInvalidSpec);
  EXPECT_EQ(ready->observed_generation, 2);
  EXPECT_THAT(ready->message, HasSubstr("spec.capacity.flops must be between 1 (one FLOPS)"));
  EXPECT_THAT(ready->message, HasSubstr("1 node it holds stay bound"));
  ASSERT_EQ(plan.events.size(), 1u);
  EXPECT_EQ(plan.events[0].type, PlannedEvent::Type::kWarning);
  EXPECT_EQ(plan.events[0].reason, "InvalidSpec");

  // Applied, the plan plans to nothing: no status rewrite and no repeated event.
  const PoolPlan again = PlanPools(ApplyPlan(snapshot, plan), T0(), PlannerConfig{});
  EXPECT_TRUE(again.Empty()) << again.pool_changes.size() << " pool changes, "
                             << again.events.size() << " events";
}

TEST(InvalidSpec, ItsMembersStayTakenForOtherPools) {
  const ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(MakeNode("n1").Zone("a").BoundTo("t/p").Obj(), H100Node("n1", "a").compute_node)
          .Add(InvalidPool())
          .Add(MakePool("t/other").Accelerators(8).Created("2026-11-17T00:00:00Z").Obj())
          .Obj();
  const PoolPlan plan = PlanPools(snapshot, T0(), PlannerConfig{});
  EXPECT_THAT(plan.node_changes, IsEmpty());
  EXPECT_TRUE(plan.waiting_pools.contains("t/other"));
}

TEST(InvalidSpec, ADeletedInvalidPoolReleasesItsNodesAndDropsItsFinalizer) {
  const ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(MakeNode("n1").Zone("a").BoundTo("t/p").Obj(), H100Node("n1", "a").compute_node)
          .Add(InvalidPool(/*deleting=*/true))
          .Obj();
  const PoolPlan plan = PlanPools(snapshot, T0(), PlannerConfig{});
  ASSERT_EQ(plan.node_changes.size(), 1u);
  EXPECT_EQ(plan.node_changes[0].node, "n1");
  EXPECT_EQ(plan.node_changes[0].to_binding, "");
  EXPECT_THAT(plan.node_changes[0].taints, IsEmpty());
  const PoolChange* change = ChangeFor(plan, "t/p");
  ASSERT_NE(change, nullptr);
  EXPECT_TRUE(change->RemovesFinalizer());
}

TEST(InvalidSpec, ItsConditionNamesTheProblemAndTheHeldNodes) {
  const PoolObservation observation = InvalidPool();
  const api::Condition none =
      stages::InvalidSpecCondition(observation.pool, "spec.x is wrong", 0, T0());
  EXPECT_EQ(none.type, "Ready");
  EXPECT_EQ(none.message,
            "the spec cannot be used: spec.x is wrong. Fix the spec; until then no "
            "node is bound");
  const api::Condition some =
      stages::InvalidSpecCondition(observation.pool, "spec.x is wrong", 3, T0());
  EXPECT_THAT(some.message, HasSubstr("and the 3 nodes it holds stay bound"));
}

}  // namespace
}  // namespace zhisuan::controller
