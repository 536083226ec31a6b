#include "controller/reconcile/conditions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/controller/reconcile/stage_fixtures.h"

namespace zhisuan::controller::stages {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace fixtures;  // NOLINT(google-build-using-namespace): the builders are the point

// Membership, placement and outcome for one pool, as PlanPools runs them.
struct Planned {
  PoolMembership membership;
  Placement placement;
  PoolOutcome outcome;
};
Planned Plan(const Hosts& hosts, const PoolObservation& pool, bool ever_satisfied = false) {
  Planned planned;
  planned.membership = hosts.Observe(pool);
  const api::ComputePoolSpec& spec = pool.pool.spec;
  const double need = spec.accelerators ? *spec.accelerators : spec.flops.value_or(0);
  planned.placement = Place(spec, need, planned.membership, ever_satisfied);
  planned.outcome = OutcomeOf(planned.membership, planned.placement);
  return planned;
}

Machine Member(std::string name, double carbon_free = 1.0) {
  return {
      MakeNode(name).Zone("a").BoundTo("t/p").Obj(),
      MakeComputeNode(name).Accelerators(8, "H100-SXM5", "989.4T").CarbonFree(carbon_free).Obj()};
}

TEST(CarbonCondition, ReasonsForNoPolicyCompliantAndOutOfPolicy) {
  Hosts hosts;
  hosts.Add(Member("m1")).Add(Member("m2", 0.75));
  PoolObservation pool = MakePool("t/p").Accelerators(16).Obj();
  Planned planned = Plan(hosts, pool);
  api::Condition carbon = CarbonCondition(pool.pool.spec, planned.outcome, 1, T0());
  EXPECT_EQ(carbon.status, "True");
  EXPECT_EQ(carbon.reason, reasons::kNoCarbonPolicy);

  // m2 within the margin: kept for its grace period, but out of policy, and the member's own
  // problem (since when, until when) is what the tenant reads.
  pool = MakePool("t/p").Accelerators(16).MinCarbonFree(0.8).Obj();
  planned = Plan(hosts, pool);
  ASSERT_EQ(planned.outcome.fits.size(), 2u);
  carbon = CarbonCondition(pool.pool.spec, planned.outcome, 1, T0());
  EXPECT_EQ(carbon.status, "False");
  EXPECT_EQ(carbon.reason, reasons::kOutOfCarbonPolicy);
  EXPECT_THAT(carbon.message,
              StartsWith("m2: out of carbon policy: carbon-free ratio 0.75 < 0.8 since "
                         "2026-11-18T11:06:40Z; replaced after"));
  EXPECT_THAT(carbon.message, HasSubstr(". The policy is carbon-free ratio >= 0.8; members are"));

  Hosts green;
  green.Add(Member("m1")).Add(Member("m2"));
  carbon = CarbonCondition(pool.pool.spec, Plan(green, pool).outcome, 1, T0());
  EXPECT_EQ(carbon.status, "True");
  EXPECT_EQ(carbon.reason, reasons::kCompliant);
  EXPECT_EQ(carbon.message, "all 2 nodes meet carbon-free ratio >= 0.8");
  EXPECT_EQ(CarbonCondition(pool.pool.spec, PoolOutcome{}, 1, T0()).message, "no nodes bound");
}

// Issue 18: a member whose agent has no energy profile reports no carbon. The tenant reads which
// members those are, and that the fix is the node's energy profile, not a greener spare.
TEST(CarbonCondition, NamesMembersWhoseCarbonIsUnknown) {
  Hosts hosts;
  hosts.Add(Member("m1"));
  hosts.Add(MakeNode("m2").Zone("a").BoundTo("t/p").Obj(),
            MakeComputeNode("m2").Accelerators(8, "H100-SXM5", "989.4T").NoEnergyData().Obj());
  const PoolObservation pool = MakePool("t/p").Accelerators(16).MaxIntensity(100).Obj();
  // Satisfied once, so the pool keeps the member that counts for nothing (it may be fixed).
  const Planned planned = Plan(hosts, pool, /*ever_satisfied=*/true);
  ASSERT_EQ(planned.outcome.fits.size(), 2u);
  const api::Condition carbon = CarbonCondition(pool.pool.spec, planned.outcome, 1, T0());
  EXPECT_EQ(carbon.status, "False");
  EXPECT_EQ(carbon.reason, reasons::kOutOfCarbonPolicy);
  EXPECT_EQ(carbon.message,
            "m2: out of carbon policy: carbon intensity unknown (not reported). The policy is "
            "intensity <= 100 gCO2e/kWh; members are replaced by compliant spares when any are "
            "available; m2 reports no carbon figure the policy sets, and unknown never meets it: "
            "its agent needs an energy profile (see the ComputeNode condition CarbonKnown)");

  // Without a carbon policy the same members are compliant.
  const PoolObservation open = MakePool("t/p").Accelerators(16).Obj();
  EXPECT_EQ(CarbonCondition(open.pool.spec, Plan(hosts, open, true).outcome, 1, T0()).reason,
            reasons::kNoCarbonPolicy);
}

TEST(HealthCondition, ReasonsForNoMembersUnhealthyAndAllHealthy) {
  api::Condition health = HealthCondition(PoolOutcome{}, 0, 1, T0());
  EXPECT_EQ(health.status, "Unknown");
  EXPECT_EQ(health.reason, reasons::kNoMembers);

  Hosts hosts;
  hosts.Add(Member("m1")).Add(Member("m2"));
  const PoolObservation pool = MakePool("t/p").Accelerators(16).Obj();
  health = HealthCondition(Plan(hosts, pool).outcome, 16, 1, T0());
  EXPECT_EQ(health.status, "True");
  EXPECT_EQ(health.reason, reasons::kAllHealthy);
  EXPECT_EQ(health.message, "all 16 accelerators on 2 nodes are healthy");

  Hosts sick;
  sick.Add(MakeNode("m1").NotReady().BoundTo("t/p").Obj(),
           MakeComputeNode("m1").Accelerators(8, "H100-SXM5", "989.4T").Obj());
  sick.Add(
      MakeNode("m2").BoundTo("t/p").Obj(),
      MakeComputeNode("m2").Accelerators(8, "H100-SXM5", "989.4T").Unhealthy(3, "XID 79").Obj());
  health = HealthCondition(Plan(sick, MakePool("t/p").Accelerators(15).Obj()).outcome, 15, 1, T0());
  EXPECT_EQ(health.status, "False");
  EXPECT_EQ(health.reason, reasons::kUnhealthyMembers);
  EXPECT_EQ(health.message,
            "m1: node not Ready since 2026-11-18T11:06:40Z; m2: 1 of 8 accelerators unhealthy "
            "(XID 79)");
}

TEST(ReadyCondition, TrueOnlyWhenAllAreElseTheFirstFailing) {
  Hosts hosts;
  hosts.Add(Member("m1"));
  const PoolObservation pool = MakePool("t/p").Accelerators(8).Obj();
  const PoolOutcome outcome = Plan(hosts, pool).outcome;
  const api::Condition ok = MakeCondition("X", true, "Fine", "fine", 1, T0());
  const api::Condition short_of = MakeCondition("C", false, "Short", "short", 1, T0());
  const api::Condition sick = MakeCondition("H", false, "Sick", "sick", 1, T0());
  const api::Condition dirty = MakeCondition("E", false, "Dirty", "dirty", 1, T0());

  api::Condition ready = ReadyCondition(pool.pool, outcome, ok, ok, ok, T0());
  EXPECT_EQ(ready.status, "True");
  EXPECT_EQ(ready.reason, reasons::kReady);
  EXPECT_EQ(ready.message, "8 accelerators ready on 1 node; schedule pods with nodeSelector " +
                               std::string(api::kPoolLabel) + "=" + pool.pool.BindingValue() +
                               " and the matching toleration");

  ready = ReadyCondition(pool.pool, outcome, short_of, sick, dirty, T0());
  EXPECT_EQ(ready.status, "False");
  EXPECT_EQ(ready.reason, "Short");
  EXPECT_EQ(ready.message, "short");
  EXPECT_EQ(ReadyCondition(pool.pool, outcome, ok, sick, dirty, T0()).reason, "Sick");
  EXPECT_EQ(ReadyCondition(pool.pool, outcome, ok, ok, dirty, T0()).reason, "Dirty");
}

TEST(DeriveConditions, CapacityReasonFollowsPlacement) {
  Hosts hosts;
  hosts.Add(Member("m1"));
  PoolObservation pool = MakePool("t/p").Accelerators(8).Generation(3).Obj();
  Planned planned = Plan(hosts, pool);
  PoolConditions conditions =
      DeriveConditions(pool.pool, planned.placement, planned.outcome, "8 of 8", 8, T0());
  EXPECT_EQ(conditions.capacity.type, api::kConditionCapacitySatisfied);
  EXPECT_EQ(conditions.capacity.status, "True");
  EXPECT_EQ(conditions.capacity.reason, reasons::kSatisfied);
  EXPECT_EQ(conditions.capacity.message, "8 of 8");
  EXPECT_EQ(conditions.capacity.observed_generation, 3);
  EXPECT_EQ(conditions.ready.status, "True");

  pool = MakePool("t/p").Accelerators(16).Partial().Obj();
  planned = Plan(hosts, pool);
  conditions = DeriveConditions(pool.pool, planned.placement, planned.outcome, "short", 8, T0());
  EXPECT_EQ(conditions.capacity.status, "False");
  EXPECT_EQ(conditions.capacity.reason, reasons::kPartiallySatisfied);
  EXPECT_EQ(conditions.ready.reason, reasons::kPartiallySatisfied);
  EXPECT_EQ(conditions.health.reason, reasons::kAllHealthy);
  EXPECT_EQ(conditions.carbon.reason, reasons::kNoCarbonPolicy);
}

}  // namespace
}  // namespace zhisuan::controller::stages
