#include "controller/reconcile/status_rollup.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/controller/reconcile/stage_fixtures.h"

namespace zhisuan::controller::stages {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using namespace fixtures;  // NOLINT(google-build-using-namespace): the builders are the point

std::vector<const NodeFit*> Pointers(const std::vector<NodeFit>& fits) {
  std::vector<const NodeFit*> pointers;
  for (const auto& fit : fits) pointers.push_back(&fit);
  return pointers;
}

TEST(RollUpStatus, SumsHealthyMatchingAcceleratorsAndTheirFlops) {
  Hosts hosts;
  hosts.Add(MakeNode("n2").Obj(), MakeComputeNode("n2")
                                      .Accelerators(4, "H100-SXM5", "1P")
                                      .Accelerators(2, "B200", "2P")
                                      .Unhealthy(0, "XID 79")
                                      .Obj());
  hosts.Add(MakeNode("n1").Obj(), MakeComputeNode("n1").Accelerators(8, "H100-SXM5", "1P").Obj());
  hosts.AddNodeOnly(MakeNode("n0").Obj());
  PoolObservation pool =
      MakePool("t/p").Accelerators(8).Products({"H100-SXM5"}).Generation(7).Obj();
  pool.pool.status.conditions.push_back(ConditionNow("Ready", "True", "Ready", "kept"));
  const std::vector<NodeFit> fits = {hosts.FitOf("n2", pool.pool.spec),
                                     hosts.FitOf("n1", pool.pool.spec),
                                     hosts.FitOf("n0", pool.pool.spec)};

  const api::ComputePoolStatus status = RollUpStatus(pool.pool, Pointers(fits));
  EXPECT_THAT(status.nodes, ElementsAre("n0", "n1", "n2"));  // sorted
  EXPECT_EQ(status.accelerator_count, 3 + 8);
  EXPECT_DOUBLE_EQ(status.flops, 11e15);  // the B200s do not match, the unhealthy one is out
  EXPECT_EQ(status.observed_generation, 7);
  ASSERT_EQ(status.conditions.size(), 1u);  // conditions are the conditions stage's
  EXPECT_EQ(status.conditions[0].message, "kept");
  const std::string binding = pool.pool.BindingValue();
  EXPECT_THAT(status.scheduling_node_selector,
              ElementsAre(Pair(std::string(api::kPoolLabel), binding)));
  ASSERT_EQ(status.scheduling_tolerations.size(), 1u);
  EXPECT_EQ(status.scheduling_tolerations[0].value, binding);
}

TEST(RollUpStatus, FlopsAreRoundedAsTheApiStoresThem) {
  Hosts hosts;
  hosts.Add(MakeNode("n1").Obj(),
            MakeComputeNode("n1").Accelerators(16, "H100-SXM5", "989.4T").Obj());
  const PoolObservation pool = MakePool("t/p").Flops("15P").Obj();
  const std::vector<NodeFit> fits = {hosts.FitOf("n1", pool.pool.spec)};
  const api::ComputePoolStatus status = RollUpStatus(pool.pool, Pointers(fits));
  // 16 x 989.4T = 15.8304P, which the API keeps as 15.83P.
  EXPECT_DOUBLE_EQ(status.flops, Quantity("15.83P"));
}

// Issue 18: a pool's carbon figures are weighted by the energy each member used (its published
// average power over the last hour), never by node count or power limits.
TEST(RollUpStatus, CarbonIsWeightedByEachMembersEnergyNotCountOrPowerLimit) {
  Hosts hosts;
  // The power limits say the opposite of the energy used: weighting by them (or by count) gives
  // other figures than the energy weighting below.
  hosts.Add(MakeNode("busy").Obj(), MakeComputeNode("busy")
                                        .Accelerators(8, "H100-SXM5", "1P")
                                        .Power(1000)
                                        .AveragePower(4500)
                                        .CarbonFree(0.9)
                                        .Intensity(60)
                                        .Obj());
  hosts.Add(MakeNode("idle").Obj(), MakeComputeNode("idle")
                                        .Accelerators(8, "H100-SXM5", "1P")
                                        .Power(9000)
                                        .AveragePower(500, "integrated_power")
                                        .CarbonFree(0.1)
                                        .Intensity(540)
                                        .Obj());
  const PoolObservation pool = MakePool("t/p").Accelerators(8).Obj();
  const std::vector<NodeFit> fits = {hosts.FitOf("busy", pool.pool.spec),
                                     hosts.FitOf("idle", pool.pool.spec)};
  const api::ComputePoolStatus status = RollUpStatus(pool.pool, Pointers(fits));
  // Energy 4500:500 = 0.9:0.1. CFE = 0.9 x 0.9 + 0.1 x 0.1 = 0.82 (count: 0.5, limits: 0.18);
  // intensity = 0.9 x 60 + 0.1 x 540 = 108 g/kWh (count: 300, limits: 492).
  EXPECT_DOUBLE_EQ(*status.carbon_free_ratio, 0.82);
  EXPECT_DOUBLE_EQ(*status.carbon_intensity, 108);
  EXPECT_EQ(status.carbon_uncounted_nodes, 0);

  // No members, no figures.
  const api::ComputePoolStatus empty = RollUpStatus(pool.pool, {});
  EXPECT_FALSE(empty.carbon_free_ratio);
  EXPECT_FALSE(empty.carbon_intensity);
  EXPECT_EQ(empty.accelerator_count, 0);
}

// A member that reports carbon but no energy figure yet (its agent's hour-long window is still
// filling) is left out of the figures and counted apart, never weighted by count instead.
TEST(RollUpStatus, MembersWithoutAnEnergyFigureAreLeftOutAndCounted) {
  Hosts hosts;
  hosts.Add(MakeNode("a").Obj(), MakeComputeNode("a")
                                     .Accelerators(8, "H100-SXM5", "1P")
                                     .AveragePower(3000)
                                     .CarbonFree(0.6)
                                     .Intensity(200)
                                     .Obj());
  hosts.Add(MakeNode("b").Obj(), MakeComputeNode("b")
                                     .Accelerators(8, "H100-SXM5", "1P")
                                     .AveragePower(1000)
                                     .CarbonFree(1.0)
                                     .Intensity(0)
                                     .Obj());
  hosts.Add(MakeNode("new").Obj(), MakeComputeNode("new")
                                       .Accelerators(8, "H100-SXM5", "1P")
                                       .Power(5600)
                                       .NoAveragePower()
                                       .CarbonFree(0.0)
                                       .Intensity(800)
                                       .Obj());
  const PoolObservation pool = MakePool("t/p").Accelerators(8).Obj();
  std::vector<NodeFit> fits = {hosts.FitOf("a", pool.pool.spec), hosts.FitOf("b", pool.pool.spec),
                               hosts.FitOf("new", pool.pool.spec)};
  api::ComputePoolStatus status = RollUpStatus(pool.pool, Pointers(fits));
  EXPECT_EQ(status.nodes.size(), 3u);
  // Over a and b only: (3000 x 0.6 + 1000 x 1) / 4000 = 0.7; (3000 x 200 + 0) / 4000 = 150.
  EXPECT_DOUBLE_EQ(*status.carbon_free_ratio, 0.7);
  EXPECT_DOUBLE_EQ(*status.carbon_intensity, 150);
  EXPECT_EQ(status.carbon_uncounted_nodes, 1);

  // Only members without an energy figure: unknown, not a count-weighted average.
  fits = {hosts.FitOf("new", pool.pool.spec)};
  status = RollUpStatus(pool.pool, Pointers(fits));
  EXPECT_FALSE(status.carbon_free_ratio.has_value());
  EXPECT_FALSE(status.carbon_intensity.has_value());
  EXPECT_EQ(status.carbon_uncounted_nodes, 1);
}

// Issue 18: a member without an energy profile reports no carbon. It is left out of the pool's
// figures, not averaged in as 0, does not spoil the weighting of those that report, and is not
// "uncounted" (it has no figure to count).
TEST(RollUpStatus, CarbonLeavesOutMembersWhoseCarbonIsUnknown) {
  Hosts hosts;
  hosts.Add(MakeNode("big").Obj(), MakeComputeNode("big")
                                       .Accelerators(8, "H100-SXM5", "1P")
                                       .AveragePower(9000)
                                       .CarbonFree(1.0)
                                       .Intensity(0)
                                       .Obj());
  hosts.Add(MakeNode("small").Obj(), MakeComputeNode("small")
                                         .Accelerators(8, "H100-SXM5", "1P")
                                         .AveragePower(1000)
                                         .CarbonFree(0.0)
                                         .Intensity(500)
                                         .Obj());
  hosts.Add(MakeNode("unknown").Obj(), MakeComputeNode("unknown")
                                           .Accelerators(8, "H100-SXM5", "1P")
                                           .AveragePower(5000)
                                           .NoEnergyData()
                                           .Obj());
  hosts.Add(MakeNode("unknown-too").Obj(),
            MakeComputeNode("unknown-too").Accelerators(8, "H100-SXM5", "1P").NoEnergyData().Obj());
  const PoolObservation pool = MakePool("t/p").Accelerators(8).Obj();
  std::vector<NodeFit> fits = {
      hosts.FitOf("big", pool.pool.spec), hosts.FitOf("small", pool.pool.spec),
      hosts.FitOf("unknown", pool.pool.spec), hosts.FitOf("unknown-too", pool.pool.spec)};
  api::ComputePoolStatus status = RollUpStatus(pool.pool, Pointers(fits));
  EXPECT_EQ(status.nodes.size(), 4u);
  EXPECT_EQ(status.carbon_free_ratio, 0.9);  // weighted over big and small only
  EXPECT_EQ(status.carbon_intensity, 50.0);
  EXPECT_EQ(status.carbon_uncounted_nodes, 0);

  // Only unknown members: no figures at all, rather than 0.
  fits = {hosts.FitOf("unknown", pool.pool.spec), hosts.FitOf("unknown-too", pool.pool.spec)};
  status = RollUpStatus(pool.pool, Pointers(fits));
  EXPECT_EQ(status.nodes.size(), 2u);
  EXPECT_FALSE(status.carbon_free_ratio.has_value());
  EXPECT_FALSE(status.carbon_intensity.has_value());
}

TEST(Round, KeepsSixDecimals) {
  EXPECT_DOUBLE_EQ(Round(0.1 + 0.2), 0.3);
  EXPECT_DOUBLE_EQ(Round(0.1234564), 0.123456);
  EXPECT_DOUBLE_EQ(Round(0.1234566), 0.123457);
}

}  // namespace
}  // namespace zhisuan::controller::stages
