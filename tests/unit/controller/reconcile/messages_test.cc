#include "controller/reconcile/messages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/controller/reconcile/stage_fixtures.h"

namespace zhisuan::controller::stages {
namespace {

using namespace fixtures;  // NOLINT(google-build-using-namespace): the builders are the point

constexpr std::string_view kBefore =
    "need 24 accelerators; 8 accelerators bound on 1 node (free: 8 accelerators on 1 node in zone "
    "a); nodes not eligible: 3 in other pools";
constexpr std::string_view kBreakdownMoved =
    "need 24 accelerators; 8 accelerators bound on 1 node (free: 16 accelerators on 2 nodes in "
    "zone b); nodes not eligible: 2 in other pools";
constexpr std::string_view kShortfallMoved =
    "need 24 accelerators; 16 accelerators bound on 2 nodes (free: 8 accelerators on 1 node in "
    "zone a); nodes not eligible: 3 in other pools";

TEST(ShortfallMessage, CountsUnknownCarbonApartFromOutOfPolicy) {
  const api::ComputePoolSpec spec =
      MakePool("t/p").Accelerators(16).MaxIntensity(100).Obj().pool.spec;
  const std::string message = ShortfallMessage(
      spec, 16, 0, 0, 0, {}, {{Exclusion::kCarbon, 1}, {Exclusion::kCarbonUnknown, 2}}, {},
      reasons::kInsufficientCapacity);
  EXPECT_EQ(message,
            "need 16 accelerators; only 0 accelerators eligible; nodes not eligible: 1 out of "
            "carbon policy, 2 with unknown carbon; nothing is bound until the whole request fits "
            "(spec.allocation AllOrNothing)");
}

TEST(UnknownCarbonAdvice, NamesTheNodesOrSaysNothing) {
  EXPECT_EQ(UnknownCarbonAdvice({}), "");
  EXPECT_EQ(UnknownCarbonAdvice({"n1", "n2"}),
            "; n1, n2 report no carbon figure the policy sets, and unknown never meets it: their "
            "agents need an energy profile (see the ComputeNode condition CarbonKnown)");
}

TEST(ShortfallGist, DropsTheFreeAndIneligibleBreakdown) {
  EXPECT_EQ(ShortfallGist(kBefore), "need 24 accelerators; 8 accelerators bound on 1 node");
  EXPECT_EQ(ShortfallGist(kBefore), ShortfallGist(kBreakdownMoved));
  EXPECT_NE(ShortfallGist(kBefore), ShortfallGist(kShortfallMoved));
  // What follows the breakdown is part of the gist.
  EXPECT_EQ(ShortfallGist("need 8; none (free: x); nodes not eligible: 1 y; out of service: z"),
            "need 8; none; out of service: z");
}

TEST(HoldSteadyMessage, KeepsTheTextWhileOnlyTheBreakdownMoves) {
  const std::vector<api::Condition> before = {
      ConditionNow(api::kConditionCapacitySatisfied, "False", "PartiallySatisfied", kBefore)};

  api::Condition now = ConditionNow(api::kConditionCapacitySatisfied, "False", "PartiallySatisfied",
                                    kBreakdownMoved);
  HoldSteadyMessage(before, now);
  EXPECT_EQ(now.message, kBefore);

  now.message = kShortfallMoved;
  HoldSteadyMessage(before, now);
  EXPECT_EQ(now.message, kShortfallMoved);

  // A new reason brings the new text, however alike.
  now =
      ConditionNow(api::kConditionCapacitySatisfied, "False", "CapacityDegraded", kBreakdownMoved);
  HoldSteadyMessage(before, now);
  EXPECT_EQ(now.message, kBreakdownMoved);

  // Only the condition of the same type is compared.
  now = ConditionNow(api::kConditionReady, "False", "PartiallySatisfied", kBreakdownMoved);
  HoldSteadyMessage(before, now);
  EXPECT_EQ(now.message, kBreakdownMoved);
}

TEST(ShortfallChanged, OnlyForANewShortfallOrReason) {
  const api::Condition before =
      ConditionNow(api::kConditionCapacitySatisfied, "False", "PartiallySatisfied", kBefore);
  api::Condition after = ConditionNow(api::kConditionCapacitySatisfied, "False",
                                      "PartiallySatisfied", kBreakdownMoved);
  EXPECT_TRUE(ShortfallChanged(nullptr, after));
  EXPECT_FALSE(ShortfallChanged(&before, after));
  after.message = kShortfallMoved;
  EXPECT_TRUE(ShortfallChanged(&before, after));
  after = before;
  after.reason = "CapacityDegraded";
  EXPECT_TRUE(ShortfallChanged(&before, after));
}

TEST(ShortfallMessage, SaysWhatIsMissingAndWhy) {
  Hosts hosts;
  hosts.Add(H100Node("a-1", "a")).Add(H100Node("a-2", "a")).Add(H100Node("b-1", "b"));
  hosts.AddNodeOnly(MakeNode("bare").Obj());
  const PoolObservation pool = MakePool("t/p").Accelerators(32).Obj();
  const PoolMembership membership = hosts.Observe(pool);
  const Placement placement = Place(pool.pool.spec, 32, membership, false);
  ASSERT_EQ(placement.capacity_reason, reasons::kInsufficientCapacity);
  EXPECT_EQ(
      CapacityMessage(pool.pool.spec, 32, membership, placement, OutcomeOf(membership, placement)),
      "need 32 accelerators; only 24 accelerators eligible (free: 16 accelerators on 2 "
      "nodes in zone a, 8 accelerators on 1 node in zone b); nodes not eligible: 1 without "
      "a ComputeNode; nothing is bound until the whole request fits (spec.allocation "
      "AllOrNothing)");

  EXPECT_EQ(ShortfallMessage(pool.pool.spec, 32, 8, 1, 24, {}, {}, {"m (node is cordoned)"},
                             reasons::kCapacityDegraded),
            "need 32 accelerators; 8 accelerators bound on 1 node; out of service: m (node is "
            "cordoned)");
}

TEST(CapacityMessage, SatisfiedSaysWhatIsBound) {
  Hosts hosts;
  hosts.Add(H100Node("a-1", "a")).Add(H100Node("a-2", "a"));
  const PoolObservation pool = MakePool("t/p").Flops("10P").Obj();
  const PoolMembership membership = hosts.Observe(pool);
  const Placement placement = Place(pool.pool.spec, Quantity("10P"), membership, false);
  ASSERT_TRUE(placement.covered);
  EXPECT_EQ(CapacityMessage(pool.pool.spec, Quantity("10P"), membership, placement,
                            OutcomeOf(membership, placement)),
            "10P bf16 requested; 15.83P bf16 bound on 2 nodes");
}

TEST(Formatting, NumbersCapacitiesAndPlurals) {
  EXPECT_EQ(FormatNumber(0.62000000000000011), "0.62");
  EXPECT_EQ(FormatNumber(0.5), "0.5");
  EXPECT_EQ(FormatNumber(100), "100");
  api::ComputePoolSpec spec = MakePool("t/p").Accelerators(1).Obj().pool.spec;
  EXPECT_EQ(FormatCapacity(spec, 1), "1 accelerator");
  EXPECT_EQ(FormatCapacity(spec, 7.9999999), "8 accelerators");
  EXPECT_EQ(Plural(1, "node"), "1 node");
  EXPECT_EQ(Plural(0, "node"), "0 nodes");
  spec = MakePool("t/p").MinCarbonFree(0.8).MaxIntensity(100).Obj().pool.spec;
  EXPECT_EQ(PolicyText(spec), "carbon-free ratio >= 0.8 and intensity <= 100 gCO2e/kWh");
}

}  // namespace
}  // namespace zhisuan::controller::stages
