// ComputeQuota (issue 17): the quota stage alone, and PlanPools with quotas in the snapshot.
#include "controller/reconcile/quota.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/controller/reconcile/stage_fixtures.h"
#include "tests/unit/controller/reconcile/test_snapshots.h"

namespace zhisuan::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using namespace fixtures;  // NOLINT(google-build-using-namespace): the builders are the point

// Four 8-GPU nodes (7.9P bf16 each) in one zone.
SnapshotBuilder Fleet() {
  SnapshotBuilder snapshot;
  for (const char* name : {"n1", "n2", "n3", "n4"}) snapshot.Add(H100Node(name, "a"));
  return snapshot;
}

size_t BoundTo(const ClusterSnapshot& snapshot, const std::string& pool_key) {
  const size_t slash = pool_key.find('/');
  const std::string binding =
      api::PoolBindingValue(pool_key.substr(0, slash), pool_key.substr(slash + 1));
  size_t bound = 0;
  for (const auto& node : snapshot.nodes) bound += node.PoolBinding() == binding ? 1 : 0;
  return bound;
}

const api::Condition* CapacityOf(const ClusterSnapshot& snapshot, const std::string& pool_key) {
  for (const auto& observation : snapshot.pools) {
    if (observation.pool.Key() == pool_key) {
      return api::FindCondition(observation.pool.status.conditions,
                                api::kConditionCapacitySatisfied);
    }
  }
  return nullptr;
}

const api::ComputeQuotaStatus* QuotaStatus(const ClusterSnapshot& snapshot,
                                           const std::string& key) {
  for (const auto& observation : snapshot.quotas) {
    if (observation.quota.Key() == key) return &observation.quota.status;
  }
  return nullptr;
}

// Plans every pool and applies the plan, as the cluster would after the executor wrote it.
ClusterSnapshot Settle(ClusterSnapshot snapshot) {
  for (int round = 0; round < 4; ++round) {
    PoolPlan plan = PlanPools(snapshot, T0(), StageConfig());
    if (plan.Empty()) return snapshot;
    snapshot = ApplyPlan(std::move(snapshot), plan);
  }
  ADD_FAILURE() << "the plans did not converge";
  return snapshot;
}

TEST(QuotaPlanning, APartialPoolStopsAtTheAcceleratorCapAndSaysWhy) {
  const ClusterSnapshot before = Fleet()
                                     .Add(MakeQuota("t/gpus").Accelerators(16).Obj())
                                     .Add(MakePool("t/greedy").Accelerators(100000).Partial().Obj())
                                     .Obj();
  // Without the quota the pool binds every node (the bug).
  ClusterSnapshot uncapped = before;
  uncapped.quotas.EraseIf([](const QuotaObservation&) { return true; });
  EXPECT_EQ(BoundTo(Settle(uncapped), "t/greedy"), 4u);

  const ClusterSnapshot after = Settle(before);
  EXPECT_EQ(BoundTo(after, "t/greedy"), 2u);
  const api::Condition* capacity = CapacityOf(after, "t/greedy");
  ASSERT_NE(capacity, nullptr);
  EXPECT_EQ(capacity->status, "False");
  EXPECT_EQ(capacity->reason, reasons::kQuotaExceeded);
  EXPECT_THAT(capacity->message, HasSubstr("ComputeQuota t/gpus caps the namespace at 16 "
                                           "accelerators; its pools hold 16"));
  const api::ComputeQuotaStatus* status = QuotaStatus(after, "t/gpus");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->used.accelerators, 16);
  EXPECT_EQ(status->hard.accelerators, 16);
  EXPECT_EQ(status->observed_generation, 1);
  // Converged: planning again writes nothing, the quota's status included.
  EXPECT_TRUE(PlanPools(after, T0(), StageConfig()).Empty());
}

TEST(QuotaPlanning, ALaterPoolOfTheNamespaceGetsNothingAndOtherNamespacesAreUnaffected) {
  ClusterSnapshot snapshot =
      Fleet()
          .Add(MakeQuota("t/gpus").Accelerators(16).Obj())
          .Add(MakePool("t/first")
                   .Accelerators(100000)
                   .Partial()
                   .Created("2026-11-18T00:00:00Z")
                   .Obj())
          .Add(MakePool("t/second").Accelerators(8).Partial().Created("2026-11-18T01:00:00Z").Obj())
          .Add(MakePool("u/free").Accelerators(8).Created("2026-11-18T02:00:00Z").Obj())
          .Obj();
  snapshot = Settle(snapshot);
  EXPECT_EQ(BoundTo(snapshot, "t/first"), 2u);
  EXPECT_EQ(BoundTo(snapshot, "t/second"), 0u);
  EXPECT_EQ(BoundTo(snapshot, "u/free"), 1u);
  const api::Condition* second = CapacityOf(snapshot, "t/second");
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->reason, reasons::kQuotaExceeded);
  EXPECT_THAT(second->message, HasSubstr("its pools hold 16 and node"));
  EXPECT_EQ(CapacityOf(snapshot, "u/free")->reason, reasons::kSatisfied);
}

TEST(QuotaPlanning, RaisingTheQuotaLetsThePoolGrowAndLoweringItReleasesNothing) {
  ClusterSnapshot snapshot = Settle(Fleet()
                                        .Add(MakeQuota("t/gpus").Accelerators(8).Obj())
                                        .Add(MakePool("t/p").Accelerators(100000).Partial().Obj())
                                        .Obj());
  ASSERT_EQ(BoundTo(snapshot, "t/p"), 1u);
  snapshot.quotas[0].quota.hard.accelerators = 24;
  snapshot.quotas[0].quota.generation = 2;
  snapshot = Settle(std::move(snapshot));
  EXPECT_EQ(BoundTo(snapshot, "t/p"), 3u);
  EXPECT_EQ(QuotaStatus(snapshot, "t/gpus")->used.accelerators, 24);

  snapshot.quotas[0].quota.hard.accelerators = 8;
  snapshot.quotas[0].quota.generation = 3;
  const PoolPlan plan = PlanPools(snapshot, T0(), StageConfig());
  EXPECT_THAT(plan.node_changes, IsEmpty()) << "a lower cap stops growth, it does not evict";
  ASSERT_THAT(plan.quota_changes, SizeIs(1));
  EXPECT_EQ(plan.quota_changes[0].to.used.accelerators, 24);
  EXPECT_EQ(plan.quota_changes[0].to.hard.accelerators, 8);
}

TEST(QuotaPlanning, AnAllOrNothingPoolBindsNothingBeyondTheQuota) {
  const ClusterSnapshot after = Settle(Fleet()
                                           .Add(MakeQuota("t/gpus").Accelerators(16).Obj())
                                           .Add(MakePool("t/p").Accelerators(24).Obj())
                                           .Obj());
  EXPECT_EQ(BoundTo(after, "t/p"), 0u);
  EXPECT_EQ(CapacityOf(after, "t/p")->reason, reasons::kQuotaExceeded);
  EXPECT_EQ(QuotaStatus(after, "t/gpus")->used.accelerators, 0);
}

TEST(QuotaPlanning, EveryQuotaAppliesSoTheTightestWins) {
  const ClusterSnapshot after = Settle(Fleet()
                                           .Add(MakeQuota("t/loose").Accelerators(24).Obj())
                                           .Add(MakeQuota("t/tight").Accelerators(8).Obj())
                                           .Add(MakePool("t/p").Accelerators(32).Partial().Obj())
                                           .Obj());
  EXPECT_EQ(BoundTo(after, "t/p"), 1u);
  EXPECT_THAT(CapacityOf(after, "t/p")->message, HasSubstr("ComputeQuota t/tight caps"));
}

TEST(QuotaPlanning, AFlopsCapCountsThePeakAtItsPrecision) {
  // 7.9P bf16 a node: 12P admits one node, not two.
  const ClusterSnapshot after =
      Settle(Fleet()
                 .Add(MakeQuota("t/flops").Flops(api::Precision::kBf16, "12P").Obj())
                 .Add(MakePool("t/p").Flops("100P").Partial().Obj())
                 .Obj());
  EXPECT_EQ(BoundTo(after, "t/p"), 1u);
  EXPECT_THAT(CapacityOf(after, "t/p")->message,
              HasSubstr("ComputeQuota t/flops caps the namespace at 12P bf16; its pools hold "
                        "7915T bf16 and node"));
  const api::ComputeQuotaStatus* status = QuotaStatus(after, "t/flops");
  EXPECT_FALSE(status->used.accelerators) << "only capped figures are reported";
  EXPECT_DOUBLE_EQ(status->used.flops.at(api::Precision::kBf16), 7915e12);
}

TEST(QuotaPlanning, AQuotaWithAnInvalidSpecCapsNothing) {
  const ClusterSnapshot after =
      Settle(Fleet()
                 .Add(MakeQuota("t/broken").Accelerators(0).Invalid("spec.hard ...").Obj())
                 .Add(MakePool("t/p").Accelerators(16).Obj())
                 .Obj());
  EXPECT_EQ(BoundTo(after, "t/p"), 2u);
}

TEST(QuotaPlanning, APoolPlannedAloneCountsTheNamespacesOtherPools) {
  // The runtime plans one pool per reconcile; the other pool's nodes still count.
  ClusterSnapshot snapshot = Settle(Fleet()
                                        .Add(MakeQuota("t/gpus").Accelerators(16).Obj())
                                        .Add(MakePool("t/a").Accelerators(16).Obj())
                                        .Obj());
  snapshot.pools.push_back(MakePool("t/b").Accelerators(8).Partial().Obj());
  const PoolPlan plan = PlanPools(snapshot, T0(), StageConfig(), {"t/b"});
  EXPECT_THAT(plan.node_changes, IsEmpty());
  ASSERT_THAT(plan.pool_changes, SizeIs(1));
  const api::Condition* capacity =
      api::FindCondition(plan.pool_changes[0].status->conditions, api::kConditionCapacitySatisfied);
  EXPECT_EQ(capacity->reason, reasons::kQuotaExceeded);
}

TEST(QuotaBreach, NamesTheQuotaItsLimitAndTheUsage) {
  const QuotaObservation quota = MakeQuota("t/gpus").Accelerators(8).Obj();
  stages::QuotaWorth used, node;
  used.accelerators = 8;
  node.accelerators = 8;
  auto breach = stages::QuotaBreach({&quota}, used, node, "n2");
  ASSERT_TRUE(breach);
  EXPECT_EQ(
      *breach,
      "ComputeQuota t/gpus caps the namespace at 8 accelerators; its pools hold 8 and node n2 "
      "would add 8");
  used.accelerators = 0;
  EXPECT_FALSE(stages::QuotaBreach({&quota}, used, node, "n2")) << "exactly at the cap fits";
}

}  // namespace
}  // namespace zhisuan::controller
