#include "controller/reconcile/pool_planner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "common/strings.h"
#include "tests/unit/controller/pool_fixtures.h"

namespace zhisuan::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace fixtures;  // NOLINT(google-build-using-namespace): the builders are the point

using std::chrono::seconds;

PlannerConfig Config() {
  PlannerConfig config;
  config.carbon_grace = seconds(600);
  config.carbon_free_ratio_margin = 0.1;
  config.carbon_intensity_margin = 50;
  config.health_grace = seconds(60);
  return config;
}

// Nodes bound to `pool_key` once `plan` is applied to `snapshot`, sorted.
std::vector<std::string> MembersAfter(const ClusterSnapshot& snapshot, const PoolPlan& plan,
                                      std::string_view pool_key) {
  const auto slash = pool_key.find('/');
  const std::string binding =
      api::PoolBindingValue(pool_key.substr(0, slash), pool_key.substr(slash + 1));
  std::vector<std::string> members;
  for (const auto& node : ApplyPlan(snapshot, plan).nodes) {
    if (node.PoolBinding() == binding) members.push_back(node.name);
  }
  std::sort(members.begin(), members.end());
  return members;
}

bool HasChangeFor(const PoolPlan& plan, std::string_view pool_key) {
  for (const auto& change : plan.pool_changes) {
    if (change.pool_key == pool_key) return true;
  }
  return false;
}

// The plan's change to `pool_key`; an empty change (and a test failure) when there is none.
PoolChange ChangeFor(const PoolPlan& plan, std::string_view pool_key) {
  for (const auto& change : plan.pool_changes) {
    if (change.pool_key == pool_key) return change;
  }
  ADD_FAILURE() << "the plan does not change " << pool_key;
  return {};
}

// A condition of `status`; an empty one (and a test failure) when it is missing.
api::Condition ConditionOf(const std::optional<api::ComputePoolStatus>& status,
                           std::string_view type) {
  if (!status) {
    ADD_FAILURE() << "no status";
    return {};
  }
  const api::Condition* condition = api::FindCondition(status->conditions, type);
  if (condition == nullptr) {
    ADD_FAILURE() << "no condition " << type;
    return {};
  }
  return *condition;
}

api::Condition ConditionOf(const api::ComputePoolStatus& status, std::string_view type) {
  return ConditionOf(std::optional<api::ComputePoolStatus>(status), type);
}

api::Condition ConditionAfter(const PoolPlan& plan, std::string_view pool_key,
                              std::string_view type) {
  return ConditionOf(ChangeFor(plan, pool_key).status, type);
}

std::vector<std::string> EventReasons(const PoolPlan& plan) {
  std::vector<std::string> reasons;
  for (const auto& event : plan.events) reasons.push_back(event.reason);
  return reasons;
}

// Plans, applies, and plans again until nothing changes; returns the converged snapshot. Fails the
// test when that takes more than `max_rounds` plans, which would mean the planner oscillates.
ClusterSnapshot Converge(ClusterSnapshot snapshot, WallTime now, int max_rounds = 3) {
  for (int round = 0; round < max_rounds; ++round) {
    PoolPlan plan = PlanPools(snapshot, now, Config());
    if (plan.Empty()) return snapshot;
    snapshot = ApplyPlan(std::move(snapshot), plan);
  }
  ADD_FAILURE() << "no fixed point after " << max_rounds << " plans";
  return snapshot;
}

// --- Binding a new pool ---

TEST(PlanPools, SatisfiedPoolBindsFewestNodesAndReportsStatus) {
  ClusterSnapshot snapshot = SnapshotBuilder()
                                 .Add(H100Node("n1", "kunming-a"))
                                 .Add(H100Node("n2", "kunming-a"))
                                 .Add(H100Node("n3", "kunming-a"))
                                 .Add(H100Node("n4", "kunming-a"))
                                 .Add(MakePool("team-a/train").Flops("20P").Obj())
                                 .Obj();
  PoolPlan plan = PlanPools(snapshot, T0(), Config());

  // 7.9P per node: three cover 20P; ties go by name.
  EXPECT_THAT(MembersAfter(snapshot, plan, "team-a/train"), ElementsAre("n1", "n2", "n3"));
  ASSERT_EQ(plan.node_changes.size(), 3u);
  const NodeChange& change = plan.node_changes[0];
  EXPECT_EQ(change.node, "n1");
  EXPECT_EQ(change.resource_version, "1");
  EXPECT_EQ(change.from_binding, "");
  EXPECT_EQ(change.to_binding, "team-a.train");
  EXPECT_EQ(change.to_pool, "team-a/train");
  EXPECT_THAT(change.taints, ElementsAre(Taint{"zhisuan.io/pool", "team-a.train", "NoExecute"}));

  const PoolChange pool = ChangeFor(plan, "team-a/train");
  EXPECT_TRUE(pool.AddsFinalizer());
  ASSERT_TRUE(pool.status.has_value());
  const api::ComputePoolStatus& status = *pool.status;
  EXPECT_EQ(status.observed_generation, 1);
  EXPECT_THAT(status.nodes, ElementsAre("n1", "n2", "n3"));
  EXPECT_EQ(status.accelerator_count, 24);
  EXPECT_DOUBLE_EQ(status.flops, Quantity("23.75P"));  // 24 x 989.4T, as the API stores it
  EXPECT_EQ(status.carbon_free_ratio, 1.0);
  EXPECT_EQ(status.carbon_intensity, 10.0);
  EXPECT_EQ(status.scheduling_node_selector,
            (std::map<std::string, std::string>{{"zhisuan.io/pool", "team-a.train"}}));
  EXPECT_THAT(
      status.scheduling_tolerations,
      ElementsAre(api::Toleration{"zhisuan.io/pool", "Equal", "team-a.train", "NoExecute"}));
  for (std::string_view type :
       {api::kConditionReady, api::kConditionCapacitySatisfied, api::kConditionCarbonCompliant,
        api::kConditionAcceleratorsHealthy}) {
    const api::Condition condition = ConditionOf(status, type);
    EXPECT_EQ(condition.status, "True") << type << ": " << condition.message;
    EXPECT_EQ(condition.observed_generation, 1);
    EXPECT_EQ(condition.last_transition_time, FormatWallTime(T0()));
  }
  EXPECT_EQ(ConditionOf(status, api::kConditionCapacitySatisfied).message,
            "20P bf16 requested; 23.75P bf16 bound on 3 nodes");
  EXPECT_THAT(EventReasons(plan), ElementsAre("NodeBound", "NodeBound", "NodeBound"));
  EXPECT_EQ(plan.events[0].message, "bound node n1 (7915T bf16)");
  EXPECT_THAT(plan.waiting_pools, IsEmpty());
}

TEST(PlanPools, AcceleratorCountPoolCountsOnlyMatchingHealthyDevices) {
  ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(MakeNode("h100").Obj(),
               MakeComputeNode("h100").Accelerators(8, "H100-SXM5", "989.4T").Obj())
          .Add(MakeNode("h200").Obj(), MakeComputeNode("h200")
                                           .Accelerators(8, "H200-SXM", "989.4T")
                                           .Unhealthy(0, "XID 79")
                                           .Obj())
          .Add(MakeNode("mi300").Obj(),
               MakeComputeNode("mi300")
                   .Accelerators(8, "MI300X", "1307T", api::Precision::kBf16, "amd")
                   .Obj())
          .Add(MakePool("t/p")
                   .Accelerators(15)
                   .Vendor("nvidia")
                   .Products({"H100-SXM5", "H200-SXM"})
                   .Obj())
          .Obj();
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  EXPECT_THAT(MembersAfter(snapshot, plan, "t/p"), ElementsAre("h100", "h200"));
  const PoolChange pool = ChangeFor(plan, "t/p");
  ASSERT_TRUE(pool.status.has_value());
  EXPECT_EQ(pool.status->accelerator_count, 15);
  api::Condition health = ConditionOf(pool.status, api::kConditionAcceleratorsHealthy);
  EXPECT_EQ(health.status, "False");
  EXPECT_EQ(health.message, "h200: 1 of 8 accelerators unhealthy (XID 79)");
}

TEST(PlanPools, WaitingPoolIsNotRewrittenWhenOnlyTheBreakdownOfOtherNodesMoves) {
  ClusterSnapshot snapshot = SnapshotBuilder()
                                 .Add(H100Node("n1", "kunming-a"))
                                 .Add(H100Node("n2", "kunming-a"))
                                 .Add(H100Node("n3", "ulanqab-b", /*carbon_free=*/0.3))
                                 .Add(MakePool("t/big").Flops("20P").MinCarbonFree(0.9).Obj())
                                 .Obj();
  snapshot = Converge(snapshot, T0());
  ASSERT_EQ(snapshot.pools.size(), 1u);
  const api::Condition* written = api::FindCondition(snapshot.pools[0].pool.status.conditions,
                                                     api::kConditionCapacitySatisfied);
  ASSERT_NE(written, nullptr);
  EXPECT_THAT(written->message, HasSubstr("1 out of carbon policy"));

  // Another node the pool cannot use appears: the breakdown would now say "2 out of carbon
  // policy", but the shortfall (need 20P, 15.83P eligible) is unchanged, so nothing is written
  // and no event repeats.
  Machine grid = H100Node("n4", "ulanqab-b", /*carbon_free=*/0.3);
  snapshot.nodes.push_back(grid.node);
  snapshot.compute_nodes.push_back(grid.compute_node);
  PoolPlan plan = PlanPools(snapshot, T0() + seconds(5), Config());
  EXPECT_TRUE(plan.Empty()) << "pool changes: " << plan.pool_changes.size()
                            << ", events: " << plan.events.size();
  EXPECT_THAT(plan.waiting_pools, ElementsAre("t/big"));

  // A change to the shortfall itself refreshes the whole message, breakdown included.
  snapshot.nodes[0].ready = false;
  plan = PlanPools(snapshot, T0() + seconds(10), Config());
  api::Condition capacity = ConditionAfter(plan, "t/big", api::kConditionCapacitySatisfied);
  EXPECT_THAT(capacity.message, HasSubstr("only 7915T bf16 eligible"));
  EXPECT_THAT(capacity.message, HasSubstr("2 out of carbon policy"));
  EXPECT_THAT(EventReasons(plan), ElementsAre("Unsatisfiable"));
}

TEST(PlanPools, UnsatisfiablePoolBindsNothingAndSaysWhatIsMissing) {
  ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(H100Node("n1", "kunming-a"))
          .Add(H100Node("n2", "kunming-a"))
          .Add(H100Node("n3", "ulanqab-b", /*carbon_free=*/0.3))
          .Add(MakeNode("n4").Zone("kunming-a").NotReady().Obj(),
               MakeComputeNode("n4").Accelerators(8, "H100-SXM5", "989.4T").Obj())
          .Add(MakePool("t/big").Flops("20P").MinCarbonFree(0.9).Obj())
          .Obj();
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  EXPECT_THAT(plan.node_changes, IsEmpty());
  api::Condition capacity = ConditionAfter(plan, "t/big", api::kConditionCapacitySatisfied);
  EXPECT_EQ(capacity.status, "False");
  EXPECT_EQ(capacity.reason, "InsufficientCapacity");
  EXPECT_EQ(capacity.message,
            "need 20P bf16; only 15.83P bf16 eligible (free: 15.83P bf16 on 2 nodes in zone "
            "kunming-a); nodes not eligible: 1 not Ready or cordoned, 1 out of carbon policy; "
            "nothing is bound until the whole request fits (spec.allocation AllOrNothing)");
  api::Condition ready = ConditionAfter(plan, "t/big", api::kConditionReady);
  EXPECT_EQ(ready.status, "False");
  EXPECT_EQ(ready.reason, "InsufficientCapacity");
  EXPECT_EQ(ready.message, capacity.message);
  EXPECT_THAT(EventReasons(plan), ElementsAre("Unsatisfiable"));
  EXPECT_EQ(plan.events[0].type, PlannedEvent::Type::kWarning);
  EXPECT_THAT(plan.waiting_pools, ElementsAre("t/big"));
  // The finalizer goes on anyway: the pool may bind later.
  EXPECT_TRUE(ChangeFor(plan, "t/big").AddsFinalizer());
}

TEST(PlanPools, PartialPoolBindsWhatIsEligible) {
  ClusterSnapshot snapshot = SnapshotBuilder()
                                 .Add(H100Node("n1", "a"))
                                 .Add(H100Node("n2", "b"))
                                 .Add(MakePool("t/p").Accelerators(64).Partial().Obj())
                                 .Obj();
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  EXPECT_THAT(MembersAfter(snapshot, plan, "t/p"), ElementsAre("n1", "n2"));
  api::Condition capacity = ConditionAfter(plan, "t/p", api::kConditionCapacitySatisfied);
  EXPECT_EQ(capacity.reason, "PartiallySatisfied");
  EXPECT_EQ(capacity.message, "need 64 accelerators; 16 accelerators bound on 2 nodes");
  EXPECT_THAT(plan.waiting_pools, ElementsAre("t/p"));
}

// --- Carbon and topology ---

TEST(PlanPools, ZeroCarbonPoolPicksOnlyCarbonFreeZones) {
  ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(H100Node("coal-1", "ordos", 0.15))
          .Add(H100Node("coal-2", "ordos", 0.15))
          .Add(H100Node("coal-3", "ordos", 0.15))
          .Add(H100Node("hydro-1", "yaan", 1.0))
          .Add(H100Node("hydro-2", "yaan", 1.0))
          .Add(H100Node("wind-1", "ulanqab", 0.95))
          .Add(MakePool("t/green").Accelerators(16).MinCarbonFree(1.0).Obj())
          .Add(MakePool("t/any").Accelerators(24).Created("2026-11-19T00:00:00Z").Obj())
          .Obj();
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  EXPECT_THAT(MembersAfter(snapshot, plan, "t/green"), ElementsAre("hydro-1", "hydro-2"));
  // The pool without a policy (created later) gets one zone with enough nodes: the coal one.
  EXPECT_THAT(MembersAfter(snapshot, plan, "t/any"), ElementsAre("coal-1", "coal-2", "coal-3"));
  const PoolChange green = ChangeFor(plan, "t/green");
  EXPECT_EQ(green.status->carbon_free_ratio, 1.0);
  EXPECT_EQ(ConditionOf(green.status, api::kConditionCarbonCompliant).message,
            "all 2 nodes meet carbon-free ratio >= 1");
}

TEST(PlanPools, CarbonFiguresAreEnergyWeighted) {
  ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(MakeNode("big").Obj(), MakeComputeNode("big")
                                          .Accelerators(8, "H100-SXM5", "989.4T")
                                          .CarbonFree(1.0)
                                          .Intensity(0)
                                          .AveragePower(9000)
                                          .Obj())
          .Add(MakeNode("small").Obj(), MakeComputeNode("small")
                                            .Accelerators(8, "H100-SXM5", "989.4T")
                                            .CarbonFree(0.5)
                                            .Intensity(400)
                                            .AveragePower(1000)
                                            .Obj())
          .Add(MakePool("t/p").Accelerators(16).Obj())
          .Obj();
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  const PoolChange pool = ChangeFor(plan, "t/p");
  EXPECT_DOUBLE_EQ(*pool.status->carbon_free_ratio, 0.95);
  EXPECT_DOUBLE_EQ(*pool.status->carbon_intensity, 40);

  // One member without an energy figure yet: left out and counted, never a plain average.
  snapshot.compute_nodes[1].status.energy.average_power_watts.reset();
  plan = PlanPools(snapshot, T0(), Config());
  EXPECT_DOUBLE_EQ(*ChangeFor(plan, "t/p").status->carbon_free_ratio, 1.0);
  EXPECT_EQ(ChangeFor(plan, "t/p").status->carbon_uncounted_nodes, 1);
}

// Issue 18: nodes whose agents have no energy profile report no carbon. A pool with a carbon
// policy never takes them, and says why; a pool without one does, and reports no carbon figures
// for them rather than a 0.
TEST(PlanPools, NodesWithUnknownCarbonServeOnlyPoolsWithoutACarbonPolicy) {
  auto unknown = [](std::string name) {
    return Machine{
        MakeNode(name).Zone("x").Obj(),
        MakeComputeNode(name).Accelerators(8, "H100-SXM5", "989.4T").NoEnergyData().Obj()};
  };
  ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(unknown("unknown-1"))
          .Add(unknown("unknown-2"))
          .Add(H100Node("green-1", "y"))
          .Add(MakePool("t/clean").Accelerators(16).MaxIntensity(100).Obj())
          .Add(MakePool("t/any").Accelerators(16).Created("2026-11-19T00:00:00Z").Obj())
          .Obj();
  const PoolPlan plan = PlanPools(snapshot, T0(), Config());
  EXPECT_THAT(MembersAfter(snapshot, plan, "t/clean"), IsEmpty());
  EXPECT_THAT(
      ConditionOf(ChangeFor(plan, "t/clean").status, api::kConditionCapacitySatisfied).message,
      HasSubstr("nodes not eligible: 2 with unknown carbon"));
  EXPECT_THAT(MembersAfter(snapshot, plan, "t/any"), ElementsAre("unknown-1", "unknown-2"));
  const PoolChange any = ChangeFor(plan, "t/any");
  ASSERT_TRUE(any.status);
  EXPECT_FALSE(any.status->carbon_free_ratio.has_value());
  EXPECT_FALSE(any.status->carbon_intensity.has_value());
  EXPECT_EQ(ConditionOf(any.status, api::kConditionCarbonCompliant).reason,
            reasons::kNoCarbonPolicy);
}

// A member whose carbon becomes unknown is out of policy at once: replaced by a compliant spare
// when there is one, else kept (it may be fixed) with CarbonCompliant False naming it.
TEST(PlanPools, AMemberWhoseCarbonBecomesUnknownIsReplacedOrNamed) {
  const Machine gone_dark{
      MakeNode("n1").Zone("x").BoundTo("t/clean").Obj(),
      MakeComputeNode("n1").Accelerators(8, "H100-SXM5", "989.4T").NoEnergyData().Obj()};
  // Partial: an AllOrNothing pool never satisfied would release its members whatever their carbon.
  const PoolObservation pool =
      MakePool("t/clean").Accelerators(8).MaxIntensity(100).Partial().Obj();
  ClusterSnapshot alone = SnapshotBuilder().Add(gone_dark).Add(pool).Obj();
  PoolPlan plan = PlanPools(alone, T0(), Config());
  EXPECT_THAT(MembersAfter(alone, plan, "t/clean"), ElementsAre("n1"));
  const api::Condition carbon =
      ConditionOf(ChangeFor(plan, "t/clean").status, api::kConditionCarbonCompliant);
  EXPECT_EQ(carbon.status, "False");
  EXPECT_THAT(carbon.message, HasSubstr("n1: out of carbon policy: carbon intensity unknown"));
  EXPECT_THAT(carbon.message, HasSubstr("n1 reports no carbon figure the policy sets"));

  ClusterSnapshot spare = SnapshotBuilder().Add(gone_dark).Add(H100Node("n2", "x")).Add(pool).Obj();
  plan = PlanPools(spare, T0(), Config());
  EXPECT_THAT(MembersAfter(spare, plan, "t/clean"), ElementsAre("n2"));
}

TEST(PlanPools, PrefersOneZoneThenOneRack) {
  ClusterSnapshot snapshot = SnapshotBuilder()
                                 .Add(H100Node("a-1", "a"))
                                 .Add(H100Node("a-2", "a"))
                                 .Add(H100Node("b-1", "b"))
                                 .Add(H100Node("b-2", "b"))
                                 .Add(H100Node("b-3", "b"))
                                 .Add(MakePool("t/p").Accelerators(24).Obj())
                                 .Obj();
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  EXPECT_THAT(MembersAfter(snapshot, plan, "t/p"), ElementsAre("b-1", "b-2", "b-3"));

  // Within a zone, one rack that covers the request wins over names.
  snapshot.nodes[2].labels[std::string(kRackLabel)] = "r1";
  snapshot.nodes[3].labels[std::string(kRackLabel)] = "r2";
  snapshot.nodes[4].labels[std::string(kRackLabel)] = "r2";
  snapshot.pools[0].pool.spec.accelerators = 16;
  plan = PlanPools(snapshot, T0(), Config());
  EXPECT_THAT(MembersAfter(snapshot, plan, "t/p"), ElementsAre("b-2", "b-3"));
}

TEST(PlanPools, SpillsAcrossZonesBiggestZoneFirstWhenNoZoneSuffices) {
  ClusterSnapshot snapshot = SnapshotBuilder()
                                 .Add(H100Node("a-1", "a"))
                                 .Add(H100Node("b-1", "b"))
                                 .Add(H100Node("b-2", "b"))
                                 .Add(H100Node("c-1", "c"))
                                 .Add(MakePool("t/p").Accelerators(24).Obj())
                                 .Obj();
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  EXPECT_THAT(MembersAfter(snapshot, plan, "t/p"), ElementsAre("a-1", "b-1", "b-2"));
}

// --- Existing pools ---

TEST(PlanPools, KeepsMembersEvenWhenBetterNodesAppear) {
  ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(MakeNode("old-1").Zone("a").BoundTo("t/p").Obj(),
               MakeComputeNode("old-1").Accelerators(8, "H100-SXM5", "989.4T").Obj())
          .Add(MakeNode("old-2").Zone("b").BoundTo("t/p").Obj(),
               MakeComputeNode("old-2").Accelerators(8, "H100-SXM5", "989.4T").Obj())
          .Add(MakeNode("new").Zone("a").Obj(),
               MakeComputeNode("new").Accelerators(8, "B200", "2250T").Obj())
          .Add(MakePool("t/p").Flops("15P").Finalized().Obj())
          .Obj();
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  EXPECT_THAT(plan.node_changes, IsEmpty());
  EXPECT_THAT(MembersAfter(snapshot, plan, "t/p"), ElementsAre("old-1", "old-2"));
}

TEST(PlanPools, RepairsHalfBoundMemberByAddingItsTaint) {
  ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(MakeNode("n1").Label("zhisuan.io/pool", "t.p").Taint("gpu", "x").Obj(),
               MakeComputeNode("n1").Accelerators(8, "H100-SXM5", "989.4T").Obj())
          .Add(MakePool("t/p").Accelerators(8).Finalized().Obj())
          .Obj();
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  ASSERT_EQ(plan.node_changes.size(), 1u);
  EXPECT_EQ(plan.node_changes[0].to_binding, "t.p");
  EXPECT_THAT(
      plan.node_changes[0].taints,
      ElementsAre(Taint{"gpu", "x", "NoSchedule"}, Taint{"zhisuan.io/pool", "t.p", "NoExecute"}));
}

TEST(PlanPools, ReplacesNotReadyMemberAfterHealthGrace) {
  ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(MakeNode("n1").Zone("a").BoundTo("t/p").Obj(),
               MakeComputeNode("n1").Accelerators(8, "H100-SXM5", "989.4T").Obj())
          .Add(MakeNode("n2").Zone("a").BoundTo("t/p").Obj(),
               MakeComputeNode("n2").Accelerators(8, "H100-SXM5", "989.4T").Obj())
          .Add(H100Node("spare", "a"))
          .Add(MakePool("t/p").Accelerators(16).Finalized().Obj())
          .Obj();
  snapshot = Converge(snapshot, T0() - seconds(3600));  // the pool as it was before n2 failed
  snapshot.nodes[1].ready = false;

  // Within the grace period: n2 stays, the pool remembers since when, and asks to be re-planned
  // when the grace ends.
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  EXPECT_THAT(plan.node_changes, IsEmpty());
  const PoolChange pool = ChangeFor(plan, "t/p");
  ASSERT_TRUE(pool.status.has_value());
  EXPECT_THAT(pool.status->impaired_members,
              ElementsAre(api::MemberSince{"n2", "2026-11-18T11:06:40Z"}));
  EXPECT_EQ(plan.requeue_after.at("t/p"), seconds(60));
  api::Condition health = ConditionOf(pool.status, api::kConditionAcceleratorsHealthy);
  EXPECT_EQ(health.status, "False");
  EXPECT_EQ(health.message, "n2: node not Ready since 2026-11-18T11:06:40Z");
  snapshot = ApplyPlan(snapshot, plan);
  EXPECT_TRUE(PlanPools(snapshot, T0() + seconds(30), Config()).Empty());

  // Past it: the spare replaces n2.
  plan = PlanPools(snapshot, T0() + seconds(61), Config());
  EXPECT_THAT(MembersAfter(snapshot, plan, "t/p"), ElementsAre("n1", "spare"));
  EXPECT_THAT(EventReasons(plan), ElementsAre("NodeUnbound", "NodeBound", "PoolRepaired"));
  EXPECT_EQ(plan.events[2].message, "replaced n2 with spare");
  ASSERT_TRUE(ChangeFor(plan, "t/p").status.has_value());
  EXPECT_THAT(ChangeFor(plan, "t/p").status->impaired_members, IsEmpty());
  snapshot = ApplyPlan(snapshot, plan);
  EXPECT_TRUE(PlanPools(snapshot, T0() + seconds(62), Config()).Empty());
}

TEST(PlanPools, KeepsFailedMemberWhenNoSpareAndReportsDegraded) {
  ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(MakeNode("n1").BoundTo("t/p").Obj(),
               MakeComputeNode("n1").Accelerators(8, "H100-SXM5", "989.4T").Obj())
          .Add(MakeNode("n2").BoundTo("t/p").Obj(),
               MakeComputeNode("n2").Accelerators(8, "H100-SXM5", "989.4T").Obj())
          .Add(MakePool("t/p").Accelerators(16).Finalized().Obj())
          .Obj();
  snapshot = Converge(snapshot, T0());
  snapshot.nodes[1].unschedulable = true;  // cordoned: no grace
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  EXPECT_THAT(plan.node_changes, IsEmpty());
  api::Condition capacity = ConditionAfter(plan, "t/p", api::kConditionCapacitySatisfied);
  EXPECT_EQ(capacity.reason, "CapacityDegraded");
  EXPECT_EQ(capacity.message,
            "need 16 accelerators; 8 accelerators bound on 2 nodes; out of service: n2 (node is "
            "cordoned)");
  EXPECT_EQ(ConditionAfter(plan, "t/p", api::kConditionAcceleratorsHealthy).message,
            "n2: node cordoned");
  EXPECT_THAT(EventReasons(plan), ElementsAre("Unsatisfiable"));
}

TEST(PlanPools, UnhealthyAcceleratorsAreMadeUpWithASpareAtOnce) {
  ClusterSnapshot snapshot = SnapshotBuilder()
                                 .Add(MakeNode("n1").Zone("a").BoundTo("t/p").Obj(),
                                      MakeComputeNode("n1")
                                          .Accelerators(8, "H100-SXM5", "989.4T")
                                          .Unhealthy(3, "XID 79")
                                          .Obj())
                                 .Add(H100Node("spare", "a"))
                                 .Add(MakePool("t/p").Accelerators(8).Finalized().Obj())
                                 .Obj();
  // Device health has its own hysteresis in the agent, so a device it reports unhealthy is.
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  EXPECT_THAT(MembersAfter(snapshot, plan, "t/p"), ElementsAre("n1", "spare"));
}

// Margin 0.1, grace 600s, policy >= 0.9.
TEST(PlanPools, CarbonDipWithinMarginDoesNotChurn) {
  ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(MakeNode("n1").Zone("a").BoundTo("t/p").Obj(),
               MakeComputeNode("n1").Accelerators(8, "H100-SXM5", "989.4T").CarbonFree(0.95).Obj())
          .Add(H100Node("spare", "a", 1.0))
          .Add(MakePool("t/p").Accelerators(8).MinCarbonFree(0.9).Finalized().Obj())
          .Obj();
  snapshot = Converge(snapshot, T0());
  WallTime now = T0();
  // Flapping around the threshold, each dip shorter than the grace period.
  for (int cycle = 0; cycle < 5; ++cycle) {
    snapshot.compute_nodes[0].status.energy.carbon_free_ratio = 0.85;
    now += seconds(500);
    PoolPlan plan = PlanPools(snapshot, now, Config());
    EXPECT_THAT(plan.node_changes, IsEmpty()) << "cycle " << cycle;
    snapshot = ApplyPlan(snapshot, plan);
    snapshot.compute_nodes[0].status.energy.carbon_free_ratio = 0.91;
    now += seconds(500);
    plan = PlanPools(snapshot, now, Config());
    EXPECT_THAT(plan.node_changes, IsEmpty()) << "cycle " << cycle;
    snapshot = ApplyPlan(snapshot, plan);
  }
  EXPECT_THAT(MembersAfter(snapshot, {}, "t/p"), ElementsAre("n1"));
  EXPECT_TRUE(snapshot.pools[0].impaired_since.empty());
}

TEST(PlanPools, CarbonDipIsReplacedAfterGraceOrAtOnceBeyondMargin) {
  ClusterSnapshot base =
      SnapshotBuilder()
          .Add(MakeNode("n1").Zone("a").BoundTo("t/p").Obj(),
               MakeComputeNode("n1").Accelerators(8, "H100-SXM5", "989.4T").CarbonFree(0.95).Obj())
          .Add(H100Node("spare", "a", 1.0))
          .Add(MakePool("t/p").Accelerators(8).MinCarbonFree(0.9).Finalized().Obj())
          .Obj();
  base = Converge(base, T0());

  ClusterSnapshot sustained = base;
  sustained.compute_nodes[0].status.energy.carbon_free_ratio = 0.85;
  PoolPlan plan = PlanPools(sustained, T0(), Config());
  EXPECT_THAT(plan.node_changes, IsEmpty());
  EXPECT_EQ(plan.requeue_after.at("t/p"), seconds(600));
  api::Condition carbon = ConditionAfter(plan, "t/p", api::kConditionCarbonCompliant);
  EXPECT_EQ(carbon.status, "False");
  EXPECT_EQ(carbon.reason, "OutOfCarbonPolicy");
  EXPECT_THAT(
      carbon.message,
      HasSubstr("n1: out of carbon policy: carbon-free ratio 0.85 < 0.9 since "
                "2026-11-18T11:06:40Z; replaced after 2026-11-18T11:16:40Z if it persists"));
  sustained = ApplyPlan(sustained, plan);
  plan = PlanPools(sustained, T0() + seconds(601), Config());
  EXPECT_THAT(MembersAfter(sustained, plan, "t/p"), ElementsAre("spare"));

  ClusterSnapshot plunge = base;
  plunge.compute_nodes[0].status.energy.carbon_free_ratio = 0.5;
  plan = PlanPools(plunge, T0(), Config());
  EXPECT_THAT(MembersAfter(plunge, plan, "t/p"), ElementsAre("spare"));
  EXPECT_THAT(EventReasons(plan), ElementsAre("NodeUnbound", "NodeBound", "PoolRepaired"));
}

TEST(PlanPools, NewNodesMustMeetThePolicyExactly) {
  // The margin only protects members; a node at 0.85 is never admitted to a >= 0.9 pool.
  ClusterSnapshot snapshot = SnapshotBuilder()
                                 .Add(H100Node("n1", "a", 0.85))
                                 .Add(MakePool("t/p").Accelerators(8).MinCarbonFree(0.9).Obj())
                                 .Obj();
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  EXPECT_THAT(plan.node_changes, IsEmpty());
}

TEST(PlanPools, MemberLeavingSelectorIsReplaced) {
  ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(MakeNode("n1").Label("site", "gone").BoundTo("t/p").Obj(),
               MakeComputeNode("n1").Accelerators(8, "H100-SXM5", "989.4T").Obj())
          .Add(MakeNode("n2").Label("site", "yaan").Obj(),
               MakeComputeNode("n2").Accelerators(8, "H100-SXM5", "989.4T").Obj())
          .Add(MakePool("t/p").Accelerators(8).Selector("site", "yaan").Finalized().Obj())
          .Obj();
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  EXPECT_THAT(MembersAfter(snapshot, plan, "t/p"), ElementsAre("n2"));
  EXPECT_EQ(plan.events[0].message,
            "released node n1: replaced (node no longer matches spec.nodeSelector)");
}

// --- Resize ---

TEST(PlanPools, GrowAddsOnlyWhatIsMissingNearTheMembers) {
  ClusterSnapshot snapshot = SnapshotBuilder()
                                 .Add(H100Node("a-1", "a"))
                                 .Add(H100Node("a-2", "a"))
                                 .Add(H100Node("b-1", "b"))
                                 .Add(H100Node("b-2", "b"))
                                 .Add(H100Node("b-3", "b"))
                                 .Add(MakePool("t/p").Accelerators(8).Obj())
                                 .Obj();
  snapshot = Converge(snapshot, T0());
  EXPECT_THAT(MembersAfter(snapshot, {}, "t/p"), ElementsAre("a-1"));
  snapshot.pools[0].pool.spec.accelerators = 16;
  snapshot.pools[0].pool.generation = 2;
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  // Zone a still has room, so the pool stays in one zone.
  EXPECT_THAT(MembersAfter(snapshot, plan, "t/p"), ElementsAre("a-1", "a-2"));
  EXPECT_EQ(ChangeFor(plan, "t/p").status->observed_generation, 2);
}

TEST(PlanPools, ShrinkReleasesSmallestMembersFirst) {
  ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(MakeNode("big").BoundTo("t/p").Obj(),
               MakeComputeNode("big").Accelerators(8, "H100-SXM5", "989.4T").Obj())
          .Add(MakeNode("mid").BoundTo("t/p").Obj(),
               MakeComputeNode("mid").Accelerators(4, "H100-SXM5", "989.4T").Obj())
          .Add(MakeNode("small-1").BoundTo("t/p").Obj(),
               MakeComputeNode("small-1").Accelerators(2, "H100-SXM5", "989.4T").Obj())
          .Add(MakeNode("small-2").BoundTo("t/p").Obj(),
               MakeComputeNode("small-2").Accelerators(2, "H100-SXM5", "989.4T").Obj())
          .Add(MakePool("t/p").Accelerators(16).Finalized().Obj())
          .Obj();
  snapshot = Converge(snapshot, T0());
  snapshot.pools[0].pool.spec.accelerators = 10;
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  // 16 -> 10: both small nodes go (12 left); dropping mid as well would leave 8.
  EXPECT_THAT(MembersAfter(snapshot, plan, "t/p"), ElementsAre("big", "mid"));
  EXPECT_THAT(EventReasons(plan), ElementsAre("NodeUnbound", "NodeUnbound"));
  for (const auto& change : plan.node_changes) {
    EXPECT_EQ(change.to_binding, "");
    EXPECT_THAT(change.taints, IsEmpty());
  }
}

// --- Deletion ---

TEST(PlanPools, DeletionUnbindsEveryMemberThenDropsTheFinalizer) {
  ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(MakeNode("n1").BoundTo("t/p").Taint("other", "keep").Obj(),
               MakeComputeNode("n1").Accelerators(8, "H100-SXM5", "989.4T").Obj())
          .Add(MakeNode("n2").BoundTo("t/p").NotReady().Obj(), MakeComputeNode("n2").Obj())
          .Add(MakePool("t/p").Accelerators(8).Finalized().Deleting().Obj())
          .Obj();
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  ASSERT_EQ(plan.node_changes.size(), 2u);
  EXPECT_EQ(plan.node_changes[0].to_binding, "");
  EXPECT_THAT(plan.node_changes[0].taints, ElementsAre(Taint{"other", "keep", "NoSchedule"}));
  EXPECT_EQ(plan.node_changes[0].from_pool, "t/p");
  const PoolChange pool = ChangeFor(plan, "t/p");
  EXPECT_TRUE(pool.RemovesFinalizer());
  EXPECT_FALSE(pool.status.has_value());
  ClusterSnapshot after = ApplyPlan(snapshot, plan);
  EXPECT_THAT(after.pools, IsEmpty());
  EXPECT_TRUE(PlanPools(after, T0(), Config()).Empty());
}

TEST(PlanPools, NodesFreedByADeletedPoolGoToAWaitingPoolInTheSamePlan) {
  ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(MakeNode("n1").BoundTo("t/old").Obj(),
               MakeComputeNode("n1").Accelerators(8, "H100-SXM5", "989.4T").Obj())
          .Add(MakePool("t/old").Accelerators(8).Finalized().Deleting().Obj())
          .Add(MakePool("t/new").Accelerators(8).Finalized().Obj())
          .Obj();
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  ASSERT_EQ(plan.node_changes.size(), 1u);
  EXPECT_EQ(plan.node_changes[0].from_binding, "t.old");
  EXPECT_EQ(plan.node_changes[0].to_binding, "t.new");
}

// --- Many pools ---

TEST(PlanPools, PoolsRacingForNodesNeverShareOne) {
  SnapshotBuilder builder;
  for (int i = 0; i < 30; ++i) {
    builder.Add(H100Node(StrCat("n", i < 10 ? "0" : "", i), i % 3 == 0 ? "a" : "b"));
  }
  for (int i = 0; i < 50; ++i) {
    auto pool = MakePool(StrCat("t/p", i)).Accelerators(8 * (1 + i % 3));
    if (i % 4 == 0) pool.Partial();
    builder.Add(pool.Created(StrCat("2026-11-18T00:00:", i < 10 ? "0" : "", i, "Z")).Obj());
  }
  ClusterSnapshot snapshot = Converge(builder.Obj(), T0());
  std::map<std::string, int> pools_per_node;
  int capacity_total = 0;
  for (const auto& observation : snapshot.pools) {
    for (const auto& node : observation.pool.status.nodes) ++pools_per_node[node];
    const api::Condition capacity =
        ConditionOf(observation.pool.status, api::kConditionCapacitySatisfied);
    // The status lists exactly the nodes labelled for the pool.
    EXPECT_EQ(observation.pool.status.nodes, MembersAfter(snapshot, {}, observation.pool.Key()));
    if (capacity.status == "True") capacity_total += *observation.pool.spec.accelerators;
    // All-or-nothing pools are whole or empty.
    if (observation.pool.spec.all_or_nothing && capacity.status != "True") {
      EXPECT_THAT(observation.pool.status.nodes, IsEmpty()) << observation.pool.Key();
    }
  }
  for (const auto& [node, count] : pools_per_node) EXPECT_EQ(count, 1) << node;
  EXPECT_EQ(pools_per_node.size(), 30u);  // every node found a pool
  EXPECT_LE(capacity_total, 240);
}

// --- Properties ---

// A handful of the scenarios above, in one place for the idempotence and determinism checks.
std::vector<ClusterSnapshot> Scenarios() {
  std::vector<ClusterSnapshot> scenarios;
  SnapshotBuilder mixed;
  for (int i = 0; i < 12; ++i) {
    mixed.Add(H100Node(StrCat("n", i), StrCat("z", i % 3), i % 2 == 0 ? 1.0 : 0.6));
  }
  mixed.Add(MakeNode("sick").Zone("z0").NotReady().Obj(),
            MakeComputeNode("sick").Accelerators(8, "H100-SXM5", "989.4T").Obj());
  mixed.Add(MakeNode("bound").Zone("z1").BoundTo("t/gone").Obj(),
            MakeComputeNode("bound").Accelerators(8, "H100-SXM5", "989.4T").Obj());
  mixed.Add(MakePool("t/green").Flops("20P").MinCarbonFree(0.9).Obj());
  mixed.Add(MakePool("t/any").Accelerators(32).Created("2026-11-18T01:00:00Z").Obj());
  mixed.Add(MakePool("u/partial").Accelerators(64).Partial().Created("2026-11-18T02:00:00Z").Obj());
  mixed.Add(MakePool("u/never").Flops("1E").Created("2026-11-18T03:00:00Z").Obj());
  scenarios.push_back(mixed.Obj());
  return scenarios;
}

TEST(PlanPools, AppliedPlanPlansToNothing) {
  for (ClusterSnapshot snapshot : Scenarios()) {
    PoolPlan first = PlanPools(snapshot, T0(), Config());
    EXPECT_FALSE(first.Empty());
    ClusterSnapshot after = ApplyPlan(snapshot, first);
    PoolPlan second = PlanPools(after, T0() + seconds(5), Config());
    EXPECT_TRUE(second.Empty()) << second.node_changes.size() << " node changes, "
                                << second.pool_changes.size() << " pool changes, "
                                << second.events.size() << " events";
  }
}

TEST(PlanPools, InputOrderDoesNotChangeThePlan) {
  for (const ClusterSnapshot& snapshot : Scenarios()) {
    const PoolPlan reference = PlanPools(snapshot, T0(), Config());
    std::mt19937 random(42);
    for (int round = 0; round < 20; ++round) {
      ClusterSnapshot shuffled = snapshot;
      std::shuffle(shuffled.nodes.begin(), shuffled.nodes.end(), random);
      std::shuffle(shuffled.compute_nodes.begin(), shuffled.compute_nodes.end(), random);
      std::shuffle(shuffled.pools.begin(), shuffled.pools.end(), random);
      const PoolPlan plan = PlanPools(shuffled, T0(), Config());
      EXPECT_EQ(plan.node_changes, reference.node_changes);
      EXPECT_EQ(plan.pool_changes, reference.pool_changes);
      EXPECT_EQ(plan.events, reference.events);
      EXPECT_EQ(plan.requeue_after, reference.requeue_after);
    }
  }
}

TEST(PlanPools, InterruptedBindOfUnsatisfiablePoolIsRolledBack) {
  // A crash left two of four nodes bound; meanwhile the other two were taken, so the
  // all-or-nothing pool that was never satisfied gives its partial members back.
  ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(MakeNode("n1").BoundTo("t/p").Obj(),
               MakeComputeNode("n1").Accelerators(8, "H100-SXM5", "989.4T").Obj())
          .Add(MakeNode("n2").BoundTo("t/p").Obj(),
               MakeComputeNode("n2").Accelerators(8, "H100-SXM5", "989.4T").Obj())
          .Add(MakePool("t/p").Accelerators(32).Finalized().Obj())
          .Obj();
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  EXPECT_THAT(MembersAfter(snapshot, plan, "t/p"), IsEmpty());
  EXPECT_EQ(ConditionAfter(plan, "t/p", api::kConditionCapacitySatisfied).reason,
            "InsufficientCapacity");
}

TEST(PlanPools, OnlyPoolsLimitsWhatIsPlanned) {
  ClusterSnapshot snapshot =
      SnapshotBuilder()
          .Add(H100Node("n1", "a"))
          .Add(MakePool("t/a").Accelerators(8).Obj())
          .Add(MakePool("t/b").Accelerators(8).Created("2026-11-19T00:00:00Z").Obj())
          .Obj();
  PoolPlan plan = PlanPools(snapshot, T0(), Config(), {"t/b"});
  EXPECT_THAT(MembersAfter(snapshot, plan, "t/b"), ElementsAre("n1"));
  EXPECT_FALSE(HasChangeFor(plan, "t/a"));
}

TEST(PlanPools, IgnoredComputeNodesAreCarriedButAreNotChanges) {
  ClusterSnapshot snapshot;
  snapshot.ignored_compute_nodes.push_back({"n9", "3", "u9", "status.accelerators is not a list"});
  PoolPlan plan = PlanPools(snapshot, T0(), Config());
  EXPECT_TRUE(plan.Empty());
  EXPECT_EQ(plan.ignored_compute_nodes.size(), 1u);
}

TEST(HasMatchingAccelerator, AsksOnlyWhetherTheNodeCouldEverCountForThePool) {
  const api::ComputeNode h100 = fixtures::MakeComputeNode("n1")
                                    .Accelerators(8, "H100-SXM5", "989.4T")
                                    .Unhealthy(0, "XID 79")
                                    .Obj();
  auto spec = [](PoolBuilder pool) { return pool.Obj().pool.spec; };
  EXPECT_TRUE(HasMatchingAccelerator(spec(MakePool("t/any").Accelerators(8)), h100));
  EXPECT_TRUE(HasMatchingAccelerator(
      spec(MakePool("t/h").Accelerators(8).Vendor("nvidia").Products({"H100-SXM5"})), h100));
  // Health, readiness and carbon change; the hardware does not: they do not count here.
  EXPECT_TRUE(HasMatchingAccelerator(spec(MakePool("t/g").Accelerators(8).MinCarbonFree(1)), h100));
  EXPECT_FALSE(HasMatchingAccelerator(
      spec(MakePool("t/b").Accelerators(8).Vendor("nvidia").Products({"B200"})), h100));
  EXPECT_FALSE(HasMatchingAccelerator(spec(MakePool("t/a").Accelerators(8).Vendor("amd")), h100));
  EXPECT_FALSE(HasMatchingAccelerator(spec(MakePool("t/any").Accelerators(8)),
                                      fixtures::MakeComputeNode("cpu-only").Obj()));
}

}  // namespace
}  // namespace zhisuan::controller
