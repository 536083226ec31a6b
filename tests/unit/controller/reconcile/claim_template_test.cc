// The pool's DRA ResourceClaimTemplate (claim_template.h): what it selects, and the planner naming
// it in the pool's status only with --dra.
#include "controller/reconcile/claim_template.h"

#include <gtest/gtest.h>

#include "controller/reconcile/pool_planner.h"
#include "tests/unit/controller/pool_fixtures.h"

namespace zhisuan::controller {
namespace {

using namespace fixtures;  // NOLINT(google-build-using-namespace): test builders

TEST(ClaimTemplate, SelectsThePoolsDevicesOfItsVendorAndProducts) {
  const api::ComputePool pool = MakePool("team-a/train")
                                    .Accelerators(8)
                                    .Vendor("nvidia")
                                    .Products({"H100-SXM5", "H200-SXM5"})
                                    .Obj()
                                    .pool;
  const api::Json object = DesiredClaimTemplate(pool);
  EXPECT_EQ(object["apiVersion"], "resource.k8s.io/v1");
  EXPECT_EQ(object["kind"], "ResourceClaimTemplate");
  EXPECT_EQ(object["metadata"]["name"], "train-accelerator");
  EXPECT_EQ(object["metadata"]["namespace"], "team-a");
  const api::Json& owner = object["metadata"]["ownerReferences"][0];
  EXPECT_EQ(owner["kind"], "ComputePool");
  EXPECT_EQ(owner["name"], "train");
  EXPECT_EQ(owner["uid"], pool.uid);
  const api::Json& request = object["spec"]["spec"]["devices"]["requests"][0];
  EXPECT_EQ(request["exactly"]["deviceClassName"], "nvidia.accelerators.zhisuan.io");
  EXPECT_EQ(request["exactly"]["count"], 1);
  EXPECT_EQ(request["exactly"]["selectors"][0]["cel"]["expression"],
            "device.attributes[\"accelerators.zhisuan.io\"].pool == \"team-a.train\" && "
            "device.attributes[\"accelerators.zhisuan.io\"].vendor == \"nvidia\" && "
            "device.attributes[\"accelerators.zhisuan.io\"].product in [\"H100-SXM5\", "
            "\"H200-SXM5\"]");
}

TEST(ClaimTemplate, AnyVendorUsesTheGeneralClassAndOnlyThePoolTerm) {
  const api::ComputePool pool = MakePool("t/p").Flops("1P").Obj().pool;
  const api::Json request = DesiredClaimTemplate(pool)["spec"]["spec"]["devices"]["requests"][0];
  EXPECT_EQ(request["exactly"]["deviceClassName"], "accelerators.zhisuan.io");
  EXPECT_EQ(PoolDeviceSelector(pool),
            "device.attributes[\"accelerators.zhisuan.io\"].pool == \"t.p\"");
}

TEST(ClaimTemplate, ThePlannerNamesItInTheStatusOnlyWithDra) {
  const ClusterSnapshot snapshot = SnapshotBuilder()
                                       .Add(H100Node("n1", "kunming-a"))
                                       .Add(MakePool("team-a/train").Accelerators(8).Obj())
                                       .Obj();
  PlannerConfig config;
  const PoolPlan without = PlanPools(snapshot, T0(), config);
  ASSERT_EQ(without.pool_changes.size(), 1u);
  ASSERT_TRUE(without.pool_changes[0].status.has_value());
  EXPECT_EQ(without.pool_changes[0].status->scheduling_resource_claim_template, "");
  EXPECT_FALSE(api::ToJson(*without.pool_changes[0].status)["scheduling"].contains(
      "resourceClaimTemplateName"));

  config.dra_claim_templates = true;
  const PoolPlan with = PlanPools(snapshot, T0(), config);
  ASSERT_EQ(with.pool_changes.size(), 1u);
  ASSERT_TRUE(with.pool_changes[0].status.has_value());
  const api::ComputePoolStatus& status = *with.pool_changes[0].status;
  EXPECT_EQ(status.scheduling_resource_claim_template, "train-accelerator");
  const api::Json json = api::ToJson(status);
  EXPECT_EQ(json["scheduling"]["resourceClaimTemplateName"], "train-accelerator");
  EXPECT_EQ(api::ComputePoolStatusFromJson(json)->scheduling_resource_claim_template,
            "train-accelerator");
}

}  // namespace
}  // namespace zhisuan::controller
