#include "controller/reconcile/membership.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/controller/reconcile/stage_fixtures.h"

namespace zhisuan::controller::stages {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using namespace fixtures;  // NOLINT(google-build-using-namespace): the builders are the point

using std::chrono::seconds;

TEST(Fit, CountsOnlyMatchingHealthyAcceleratorsAsCapacity) {
  Hosts hosts;
  hosts.Add(MakeNode("n1").Obj(), MakeComputeNode("n1")
                                      .Accelerators(4, "H100-SXM5", "1P")
                                      .Accelerators(2, "MI300X", "2P", api::Precision::kBf16, "amd")
                                      .Unhealthy(1, "XID 79")
                                      .Obj());
  const api::ComputePoolSpec spec = MakePool("t/p").Flops("2P").Vendor("nvidia").Obj().pool.spec;
  const NodeFit fit = hosts.FitOf("n1", spec);
  EXPECT_EQ(fit.matching, 4);
  EXPECT_EQ(fit.healthy_matching, 3);
  EXPECT_DOUBLE_EQ(fit.capacity, 3e15);
  EXPECT_THAT(fit.unhealthy_reasons, ElementsAre("XID 79"));

  // An accelerator-count pool counts devices, not FLOPS.
  const api::ComputePoolSpec count = MakePool("t/p").Accelerators(8).Obj().pool.spec;
  EXPECT_DOUBLE_EQ(hosts.FitOf("n1", count).capacity, 5);
  EXPECT_EQ(hosts.FitOf("n1", count).matching, 6);
}

TEST(Fit, CarbonWithinTheMarginFailsAdmissionButIsNotFar) {
  Hosts hosts;
  hosts.Add(MakeNode("near").Obj(),
            MakeComputeNode("near").Accelerators(8, "H100-SXM5", "989.4T").CarbonFree(0.75).Obj());
  hosts.Add(MakeNode("far").Obj(),
            MakeComputeNode("far").Accelerators(8, "H100-SXM5", "989.4T").CarbonFree(0.5).Obj());
  hosts.Add(MakeNode("unknown").Obj(),
            MakeComputeNode("unknown").Accelerators(8, "H100-SXM5", "989.4T").NoEnergyData().Obj());
  const api::ComputePoolSpec spec =
      MakePool("t/p").Accelerators(8).MinCarbonFree(0.8).Obj().pool.spec;

  const NodeFit near = hosts.FitOf("near", spec);
  EXPECT_FALSE(near.carbon_ok);
  EXPECT_FALSE(near.carbon_far);
  EXPECT_EQ(near.carbon_detail, "carbon-free ratio 0.75 < 0.8");
  EXPECT_EQ(near.AdmissionExclusion(), Exclusion::kCarbon);

  const NodeFit far = hosts.FitOf("far", spec);
  EXPECT_FALSE(far.carbon_ok);
  EXPECT_TRUE(far.carbon_far);

  const NodeFit unknown = hosts.FitOf("unknown", spec);
  EXPECT_TRUE(unknown.carbon_far);
  EXPECT_EQ(unknown.carbon_detail, "carbon-free ratio unknown (not reported)");
}

// Issue 18: a node whose agent has no energy profile reports no carbon figures. Unknown is not
// zero: a policy on a figure never admits a node without it, and says so apart from "out of
// carbon policy", because the fix is the node's configuration, not a greener node.
TEST(Fit, UnknownCarbonNeverMeetsAPolicyOnItButNeedsNoneWithout) {
  Hosts hosts;
  hosts.Add(MakeNode("unknown").Obj(),
            MakeComputeNode("unknown").Accelerators(8, "H100-SXM5", "989.4T").NoEnergyData().Obj());
  hosts.Add(MakeNode("ratio-only").Obj(), MakeComputeNode("ratio-only")
                                              .Accelerators(8, "H100-SXM5", "989.4T")
                                              .NoEnergyData()
                                              .CarbonFree(1.0)
                                              .Obj());
  const api::ComputePoolSpec intensity =
      MakePool("t/p").Accelerators(8).MaxIntensity(100).Obj().pool.spec;
  for (const char* name : {"unknown", "ratio-only"}) {
    const NodeFit fit = hosts.FitOf(name, intensity);
    EXPECT_FALSE(fit.carbon_ok) << name;
    EXPECT_TRUE(fit.carbon_unknown) << name;
    EXPECT_EQ(fit.carbon_detail, "carbon intensity unknown (not reported)") << name;
    EXPECT_EQ(fit.AdmissionExclusion(), Exclusion::kCarbonUnknown) << name;
  }
  // The ratio is known where the policy only asks for a ratio.
  const api::ComputePoolSpec ratio =
      MakePool("t/p").Accelerators(8).MinCarbonFree(0.9).Obj().pool.spec;
  EXPECT_EQ(hosts.FitOf("ratio-only", ratio).AdmissionExclusion(), Exclusion::kNone);
  EXPECT_EQ(hosts.FitOf("unknown", ratio).AdmissionExclusion(), Exclusion::kCarbonUnknown);

  // Without a carbon policy nothing about carbon is needed.
  const api::ComputePoolSpec none = MakePool("t/p").Accelerators(8).Obj().pool.spec;
  const NodeFit free_for_all = hosts.FitOf("unknown", none);
  EXPECT_TRUE(free_for_all.carbon_ok);
  EXPECT_FALSE(free_for_all.carbon_unknown);
  EXPECT_EQ(free_for_all.AdmissionExclusion(), Exclusion::kNone);
}

TEST(Fit, AdmissionExclusionReportsTheFirstReasonInCheckOrder) {
  Hosts hosts;
  hosts.Add(MakeNode("not-ready").NotReady().Obj(),
            MakeComputeNode("not-ready").Accelerators(8, "B200", "2250T").CarbonFree(0).Obj());
  hosts.AddNodeOnly(MakeNode("bare").Obj());
  hosts.Add(MakeNode("other").Obj(),
            MakeComputeNode("other").Accelerators(8, "B200", "2250T").Obj());
  hosts.Add(MakeNode("fits").Label("tier", "gold").Obj(),
            MakeComputeNode("fits").Accelerators(8, "H100-SXM5", "989.4T").Obj());
  const api::ComputePoolSpec spec = MakePool("t/p")
                                        .Accelerators(8)
                                        .Products({"H100-SXM5"})
                                        .Selector("tier", "gold")
                                        .MinCarbonFree(0.9)
                                        .Obj()
                                        .pool.spec;
  EXPECT_EQ(hosts.FitOf("not-ready", spec).AdmissionExclusion(), Exclusion::kNotReady);
  EXPECT_EQ(hosts.FitOf("bare", spec).AdmissionExclusion(), Exclusion::kNoComputeNode);
  EXPECT_EQ(hosts.FitOf("other", spec).AdmissionExclusion(), Exclusion::kNoMatchingAccelerators);
  EXPECT_EQ(hosts.FitOf("fits", spec).AdmissionExclusion(), Exclusion::kNone);
  api::ComputePoolSpec elsewhere = spec;
  elsewhere.node_selector.match_labels["tier"] = "silver";
  EXPECT_EQ(hosts.FitOf("fits", elsewhere).AdmissionExclusion(), Exclusion::kSelector);
}

TEST(AssessMember, NotReadyMemberKeepsItsCapacityWithinGraceOnly) {
  Hosts hosts;
  hosts.Add(MakeNode("n1").NotReady().BoundTo("t/p").Obj(),
            MakeComputeNode("n1").Accelerators(8, "H100-SXM5", "989.4T").Obj());
  PoolObservation pool = MakePool("t/p").Accelerators(8).Obj();
  const NodeFit fit = hosts.FitOf("n1", pool.pool.spec);

  // First seen now: the clock starts now.
  MemberState fresh = AssessMember(fit, pool, StageConfig(), T0());
  EXPECT_TRUE(fresh.impaired);
  EXPECT_DOUBLE_EQ(fresh.planning_capacity, 8);
  EXPECT_EQ(fresh.since, T0());
  EXPECT_EQ(fresh.deadline, T0() + seconds(60));
  EXPECT_EQ(fresh.problem,
            "node not Ready since 2026-11-18T11:06:40Z; replaced after 2026-11-18T11:07:40Z if it "
            "persists");

  // Seen 59 s ago: still within grace.
  pool.impaired_since["n1"] = T0() - seconds(59);
  EXPECT_DOUBLE_EQ(AssessMember(fit, pool, StageConfig(), T0()).planning_capacity, 8);

  // Seen 60 s ago: written off.
  pool.impaired_since["n1"] = T0() - seconds(60);
  MemberState stale = AssessMember(fit, pool, StageConfig(), T0());
  EXPECT_TRUE(stale.impaired);
  EXPECT_DOUBLE_EQ(stale.planning_capacity, 0);
  EXPECT_EQ(stale.problem, "node not Ready since 2026-11-18T11:05:40Z");
}

TEST(AssessMember, HardFaultsGetNoGrace) {
  Hosts hosts;
  hosts.Add(MakeNode("cordoned").Cordoned().BoundTo("t/p").Obj(),
            MakeComputeNode("cordoned").Accelerators(8, "H100-SXM5", "989.4T").Obj());
  hosts.Add(MakeNode("dirty").BoundTo("t/p").Obj(),
            MakeComputeNode("dirty").Accelerators(8, "H100-SXM5", "989.4T").CarbonFree(0.2).Obj());
  const PoolObservation pool = MakePool("t/p").Accelerators(8).MinCarbonFree(0.8).Obj();
  for (const char* name : {"cordoned", "dirty"}) {
    MemberState state = AssessMember(hosts.FitOf(name, pool.pool.spec), pool, StageConfig(), T0());
    EXPECT_FALSE(state.impaired) << name;
    EXPECT_DOUBLE_EQ(state.planning_capacity, 0) << name;
  }
  EXPECT_EQ(
      AssessMember(hosts.FitOf("cordoned", pool.pool.spec), pool, StageConfig(), T0()).problem,
      "node is cordoned");
  EXPECT_EQ(AssessMember(hosts.FitOf("dirty", pool.pool.spec), pool, StageConfig(), T0()).problem,
            "out of carbon policy: carbon-free ratio 0.2 < 0.8");
}

// A member whose agent stops reporting carbon (its energy profile removed) is out of policy with
// nothing to measure a margin against: it counts for nothing at once, like one far beyond it.
TEST(AssessMember, AMemberWhoseCarbonBecomesUnknownIsOutOfPolicyAtOnce) {
  Hosts hosts;
  hosts.Add(MakeNode("n1").BoundTo("t/p").Obj(),
            MakeComputeNode("n1").Accelerators(8, "H100-SXM5", "989.4T").NoEnergyData().Obj());
  PoolObservation pool = MakePool("t/p").Accelerators(8).MaxIntensity(100).Obj();
  const MemberState state =
      AssessMember(hosts.FitOf("n1", pool.pool.spec), pool, StageConfig(), T0());
  EXPECT_FALSE(state.impaired);
  EXPECT_DOUBLE_EQ(state.planning_capacity, 0);
  EXPECT_EQ(state.problem, "out of carbon policy: carbon intensity unknown (not reported)");

  // The same member in a pool without a carbon policy is fine.
  pool = MakePool("t/p").Accelerators(8).Obj();
  const MemberState fine =
      AssessMember(hosts.FitOf("n1", pool.pool.spec), pool, StageConfig(), T0());
  EXPECT_TRUE(fine.problem.empty());
  EXPECT_DOUBLE_EQ(fine.planning_capacity, 8);
}

TEST(AssessMember, TheShorterGraceWinsWhenFaultsCombine) {
  Hosts hosts;
  hosts.Add(MakeNode("n1").NotReady().BoundTo("t/p").Obj(),
            MakeComputeNode("n1").Accelerators(8, "H100-SXM5", "989.4T").CarbonFree(0.75).Obj());
  const PoolObservation pool = MakePool("t/p").Accelerators(8).MinCarbonFree(0.8).Obj();
  const MemberState state =
      AssessMember(hosts.FitOf("n1", pool.pool.spec), pool, StageConfig(), T0());
  EXPECT_EQ(state.deadline, T0() + seconds(60));
  EXPECT_THAT(state.problem, HasSubstr("node not Ready; out of carbon policy"));

  // Carbon alone gets the carbon grace.
  Hosts green;
  green.Add(MakeNode("n1").BoundTo("t/p").Obj(),
            MakeComputeNode("n1").Accelerators(8, "H100-SXM5", "989.4T").CarbonFree(0.75).Obj());
  EXPECT_EQ(AssessMember(green.FitOf("n1", pool.pool.spec), pool, StageConfig(), T0()).deadline,
            T0() + seconds(600));
}

TEST(ObserveMembers, SortsNodesIntoMembersCandidatesAndExclusions) {
  Hosts hosts;
  hosts.Add(MakeNode("member").BoundTo("t/p").Obj(),
            MakeComputeNode("member").Accelerators(8, "H100-SXM5", "989.4T").Obj());
  hosts.Add(MakeNode("theirs").BoundTo("t/q").Obj(),
            MakeComputeNode("theirs").Accelerators(8, "H100-SXM5", "989.4T").Obj());
  hosts.Add(H100Node("free", "a"));
  hosts.Add(MakeNode("down").NotReady().Obj(),
            MakeComputeNode("down").Accelerators(8, "H100-SXM5", "989.4T").Obj());
  hosts.AddNodeOnly(MakeNode("bare").Obj());
  const PoolMembership membership = hosts.Observe(MakePool("t/p").Accelerators(16).Obj());

  ASSERT_EQ(membership.members.size(), 1u);
  EXPECT_EQ(membership.members[0].fit.node->name, "member");
  EXPECT_THAT(NamesOf(membership.candidates), ElementsAre("free"));
  EXPECT_EQ(membership.candidates[0].zone, "a");
  EXPECT_THAT(membership.excluded,
              ElementsAre(Pair(Exclusion::kOtherPool, 1u), Pair(Exclusion::kNotReady, 1u),
                          Pair(Exclusion::kNoComputeNode, 1u)));
  EXPECT_DOUBLE_EQ(membership.MemberCapacity(), 8);
}

TEST(ObserveMembers, CountsUnknownCarbonApartFromOutOfPolicy) {
  Hosts hosts;
  hosts.Add(MakeNode("green").Zone("a").Obj(),
            MakeComputeNode("green").Accelerators(8, "H100-SXM5", "989.4T").Intensity(10).Obj());
  hosts.Add(MakeNode("coal").Zone("a").Obj(),
            MakeComputeNode("coal").Accelerators(8, "H100-SXM5", "989.4T").Intensity(800).Obj());
  hosts.Add(MakeNode("unknown").Zone("a").Obj(),
            MakeComputeNode("unknown").Accelerators(8, "H100-SXM5", "989.4T").NoEnergyData().Obj());
  const PoolMembership limited =
      hosts.Observe(MakePool("t/p").Accelerators(16).MaxIntensity(100).Obj());
  EXPECT_THAT(NamesOf(limited.candidates), ElementsAre("green"));
  EXPECT_THAT(limited.excluded,
              ElementsAre(Pair(Exclusion::kCarbon, 1u), Pair(Exclusion::kCarbonUnknown, 1u)));
  // No policy: every node is a candidate, the unknown one included.
  const PoolMembership open = hosts.Observe(MakePool("t/p").Accelerators(16).Obj());
  EXPECT_THAT(NamesOf(open.candidates), ElementsAre("green", "coal", "unknown"));
  EXPECT_TRUE(open.excluded.empty());
}

TEST(TrackGrace, RecordsImpairedMembersAndTheNextDeadlineStillAhead) {
  MemberState fine, soon, later, overdue;
  NodeInfo a, b, c, d;
  a.name = "a", b.name = "b", c.name = "c", d.name = "d";
  fine.fit.node = &a;
  soon = later = overdue = fine;
  soon.fit.node = &b, later.fit.node = &c, overdue.fit.node = &d;
  for (MemberState* state : {&soon, &later, &overdue}) state->impaired = true;
  soon.since = T0() - seconds(10), soon.deadline = T0() + seconds(50);
  later.since = T0(), later.deadline = T0() + seconds(600);
  overdue.since = T0() - seconds(100), overdue.deadline = T0() - seconds(40);

  const GraceClocks clocks = TrackGrace({&fine, &later, &overdue, &soon}, T0());
  EXPECT_THAT(clocks.impaired_since, ElementsAre(Pair("b", T0() - seconds(10)), Pair("c", T0()),
                                                 Pair("d", T0() - seconds(100))));
  EXPECT_EQ(clocks.next_deadline, T0() + seconds(50));
  EXPECT_FALSE(TrackGrace({&fine, &overdue}, T0()).next_deadline);
}

}  // namespace
}  // namespace zhisuan::controller::stages
