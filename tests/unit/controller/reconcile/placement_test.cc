#include "controller/reconcile/placement.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/controller/reconcile/stage_fixtures.h"

namespace zhisuan::controller::stages {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using namespace fixtures;  // NOLINT(google-build-using-namespace): the builders are the point

// An `count`-GPU node in `zone` (and `rack`, when given).
Machine Gpus(std::string name, int count, std::string zone, std::string rack = "") {
  NodeBuilder node = MakeNode(name);
  if (!zone.empty()) node.Zone(std::move(zone));
  if (!rack.empty()) node.Rack(std::move(rack));
  return {node.Obj(), MakeComputeNode(name).Accelerators(count, "H100-SXM5", "989.4T").Obj()};
}

std::vector<const MemberState*> Contributing(const PoolMembership& membership) {
  std::vector<const MemberState*> members;
  for (const auto& member : membership.members) members.push_back(&member);
  return members;
}

TEST(ChooseNodes, PrefersOneRackThenOneZoneOverFewerNodes) {
  Hosts hosts;
  hosts.Add(Gpus("a-big", 16, "a")).Add(Gpus("b-1", 8, "b", "r1")).Add(Gpus("b-2", 8, "b", "r1"));
  hosts.Add(Gpus("c-1", 8, "c")).Add(Gpus("c-2", 8, "c", "r9"));
  const PoolMembership membership = hosts.Observe(MakePool("t/p").Accelerators(16).Obj());
  auto chosen = ChooseNodes(membership.candidates, 16, {});
  ASSERT_TRUE(chosen);
  // a-big alone is the fewest nodes, but b-1 and b-2 share a rack.
  EXPECT_THAT(NamesOf(*chosen), ElementsAre("b-1", "b-2"));

  // Without racks, the zone needing the fewest nodes wins.
  Hosts zones;
  zones.Add(Gpus("a-big", 16, "a")).Add(Gpus("b-1", 8, "b")).Add(Gpus("b-2", 8, "b"));
  const PoolMembership by_zone = zones.Observe(MakePool("t/p").Accelerators(16).Obj());
  chosen = ChooseNodes(by_zone.candidates, 16, {});
  ASSERT_TRUE(chosen);
  EXPECT_THAT(NamesOf(*chosen), ElementsAre("a-big"));
}

TEST(ChooseNodes, StaysInTheMembersRackWhenItCan) {
  Hosts hosts;
  hosts.Add(MakeNode("m").Zone("a").Rack("r2").BoundTo("t/p").Obj(),
            MakeComputeNode("m").Accelerators(8, "H100-SXM5", "989.4T").Obj());
  hosts.Add(Gpus("a-r1", 8, "a", "r1")).Add(Gpus("a-r2", 8, "a", "r2")).Add(Gpus("b", 8, "b"));
  const PoolMembership membership = hosts.Observe(MakePool("t/p").Accelerators(16).Obj());
  auto chosen = ChooseNodes(membership.candidates, 8, Contributing(membership));
  ASSERT_TRUE(chosen);
  EXPECT_THAT(NamesOf(*chosen), ElementsAre("a-r2"));
}

TEST(ChooseNodes, SpillsAcrossZonesBiggestZoneFirstAndTrimsExcess) {
  Hosts hosts;
  hosts.Add(Gpus("a-1", 8, "a")).Add(Gpus("b-1", 8, "b")).Add(Gpus("b-2", 8, "b"));
  hosts.Add(Gpus("c-1", 4, "c"));
  const PoolMembership membership = hosts.Observe(MakePool("t/p").Accelerators(20).Obj());
  auto chosen = ChooseNodes(membership.candidates, 20, {});
  ASSERT_TRUE(chosen);
  // b (16) first, then a (8): 24 covers 20, and nothing can go without falling short.
  EXPECT_THAT(NamesOf(*chosen), ElementsAre("b-1", "b-2", "a-1"));
  EXPECT_FALSE(ChooseNodes(membership.candidates, 29, {}));
}

TEST(CoverWithin, LastPickIsTheSmallestNodeThatFinishesTheJob) {
  Hosts hosts;
  hosts.Add(Gpus("n8", 8, "a")).Add(Gpus("n6", 6, "a")).Add(Gpus("n2", 2, "a"));
  const PoolMembership membership = hosts.Observe(MakePool("t/p").Accelerators(10).Obj());
  std::vector<Candidate> candidates = membership.candidates;
  std::sort(candidates.begin(), candidates.end(), PreferCandidate);
  EXPECT_THAT(NamesOf(candidates), ElementsAre("n8", "n6", "n2"));
  auto chosen = CoverWithin(candidates, 10);
  ASSERT_TRUE(chosen);
  EXPECT_THAT(NamesOf(*chosen), ElementsAre("n8", "n2"));
  EXPECT_FALSE(CoverWithin(candidates, 17));
}

TEST(TrimExcess, DropsTheSmallestNodesTheRestCoversWithout) {
  Hosts hosts;
  hosts.Add(Gpus("n8", 8, "a")).Add(Gpus("n4", 4, "a")).Add(Gpus("n2", 2, "a"));
  const PoolMembership membership = hosts.Observe(MakePool("t/p").Accelerators(10).Obj());
  std::vector<Candidate> chosen = membership.candidates;
  // Smallest first: n2 goes (12 still covers 10), then n4 must stay.
  TrimExcess(chosen, 10);
  EXPECT_THAT(NamesOf(chosen), ElementsAre("n8", "n4"));
  TrimExcess(chosen, 8);
  EXPECT_THAT(NamesOf(chosen), ElementsAre("n8"));
}

TEST(Place, CoveredPoolReleasesDeadMembersAndShrinksSmallestFirst) {
  Hosts hosts;
  hosts.Add(MakeNode("big").BoundTo("t/p").Obj(),
            MakeComputeNode("big").Accelerators(8, "H100-SXM5", "989.4T").Obj());
  hosts.Add(MakeNode("small").BoundTo("t/p").Obj(),
            MakeComputeNode("small").Accelerators(2, "H100-SXM5", "989.4T").Obj());
  hosts.Add(MakeNode("gone").Cordoned().BoundTo("t/p").Obj(),
            MakeComputeNode("gone").Accelerators(8, "H100-SXM5", "989.4T").Obj());
  const PoolObservation pool = MakePool("t/p").Accelerators(8).Obj();
  const PoolMembership membership = hosts.Observe(pool);
  const Placement placement = Place(pool.pool.spec, 8, membership, false);
  EXPECT_TRUE(placement.covered);
  EXPECT_THAT(placement.added, IsEmpty());
  EXPECT_THAT(placement.release, ElementsAre(Pair("gone", "not needed (node is cordoned)"),
                                             Pair("small", "not needed after the pool shrank")));
}

TEST(Place, ReplacesMembersThatCountForNothing) {
  Hosts hosts;
  hosts.Add(MakeNode("gone").Zone("a").Cordoned().BoundTo("t/p").Obj(),
            MakeComputeNode("gone").Accelerators(8, "H100-SXM5", "989.4T").Obj());
  hosts.Add(Gpus("spare", 8, "a"));
  const PoolObservation pool = MakePool("t/p").Accelerators(8).Obj();
  const PoolMembership membership = hosts.Observe(pool);
  const Placement placement = Place(pool.pool.spec, 8, membership, true);
  EXPECT_TRUE(placement.covered);
  EXPECT_THAT(NamesOf(placement.added), ElementsAre("spare"));
  EXPECT_THAT(ReplacedMembers(placement), ElementsAre("gone"));

  const PoolOutcome outcome = OutcomeOf(membership, placement);
  EXPECT_THAT(outcome.members, IsEmpty());
  ASSERT_EQ(outcome.fits.size(), 1u);
  EXPECT_EQ(outcome.fits[0]->node->name, "spare");
  EXPECT_DOUBLE_EQ(outcome.planned, 8);
}

TEST(Place, ShortfallDependsOnAllocationAndHistory) {
  Hosts hosts;
  hosts.Add(MakeNode("m").BoundTo("t/p").Obj(),
            MakeComputeNode("m").Accelerators(8, "H100-SXM5", "989.4T").Obj());
  hosts.Add(Gpus("free", 8, "a"));
  PoolObservation pool = MakePool("t/p").Accelerators(32).Obj();
  const PoolMembership membership = hosts.Observe(pool);

  // All-or-nothing, never satisfied: give everything back.
  Placement placement = Place(pool.pool.spec, 32, membership, false);
  EXPECT_FALSE(placement.covered);
  EXPECT_EQ(placement.capacity_reason, reasons::kInsufficientCapacity);
  EXPECT_THAT(placement.release,
              ElementsAre(Pair("m", "the all-or-nothing pool cannot be satisfied")));
  EXPECT_THAT(placement.added, IsEmpty());

  // All-or-nothing, satisfied once: keep what it has, take nothing more.
  placement = Place(pool.pool.spec, 32, membership, true);
  EXPECT_EQ(placement.capacity_reason, reasons::kCapacityDegraded);
  EXPECT_THAT(placement.release, IsEmpty());
  EXPECT_THAT(placement.added, IsEmpty());

  // Partial: everything eligible helps.
  pool.pool.spec.all_or_nothing = false;
  placement = Place(pool.pool.spec, 32, membership, false);
  EXPECT_EQ(placement.capacity_reason, reasons::kPartiallySatisfied);
  EXPECT_THAT(NamesOf(placement.added), ElementsAre("free"));
  EXPECT_THAT(placement.release, IsEmpty());
}

TEST(DesiredTaints, OnePoolTaintForTheBindingAndOthersKept) {
  const std::string key(api::kPoolTaintKey);
  const std::vector<Taint> stale = {{"gpu", "x", "NoExecute"}, {key, "old", "NoSchedule"}};
  EXPECT_FALSE(TaintsAsWanted(stale, "new", "NoExecute"));
  const std::vector<Taint> wanted = DesiredTaints(stale, "new", "NoExecute");
  EXPECT_THAT(wanted, ElementsAre(Taint{"gpu", "x", "NoExecute"}, Taint{key, "new", "NoExecute"}));
  EXPECT_TRUE(TaintsAsWanted(wanted, "new", "NoExecute"));

  // Unbinding removes ours only.
  EXPECT_THAT(DesiredTaints(wanted, "", "NoExecute"), ElementsAre(Taint{"gpu", "x", "NoExecute"}));
  EXPECT_FALSE(TaintsAsWanted(wanted, "", "NoExecute"));
  EXPECT_TRUE(TaintsAsWanted({{"gpu", "x", "NoExecute"}}, "", "NoExecute"));

  // Two of ours, even one right, is one too many.
  const std::vector<Taint> doubled = {{key, "new", "NoExecute"}, {key, "new", "NoExecute"}};
  EXPECT_FALSE(TaintsAsWanted(doubled, "new", "NoExecute"));
  EXPECT_THAT(DesiredTaints(doubled, "new", "NoExecute"),
              ElementsAre(Taint{key, "new", "NoExecute"}));
}

// Issue 17: a node bound before the pool taint became NoExecute carries the NoSchedule one; the
// effect is part of what is wanted, so it is replaced (and a draining node goes back to it).
TEST(DesiredTaints, TheEffectIsReplacedToo) {
  const std::string key(api::kPoolTaintKey);
  const std::vector<Taint> old = {{key, "t.p", "NoSchedule"}};
  EXPECT_TRUE(TaintsAsWanted(old, "t.p", "NoSchedule"));
  EXPECT_FALSE(TaintsAsWanted(old, "t.p", "NoExecute"));
  EXPECT_THAT(DesiredTaints(old, "t.p", "NoExecute"), ElementsAre(Taint{key, "t.p", "NoExecute"}));
}

}  // namespace
}  // namespace zhisuan::controller::stages
