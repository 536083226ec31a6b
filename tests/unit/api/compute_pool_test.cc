#include "api/compute_pool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace zhisuan::api {
namespace {

using ::testing::HasSubstr;

Json Pool(const char* spec) {
  return {
      {"apiVersion", "zhisuan.io/v1alpha1"},
      {"kind", "ComputePool"},
      {"metadata", {{"name", "train"}, {"namespace", "tenant-a"}, {"uid", "u"}, {"generation", 3}}},
      {"spec", Json::parse(spec)}};
}

TEST(ComputePool, DecodesAZeroCarbonFlopsPool) {
  auto pool = ComputePoolFromJson(Pool(R"({
    "accelerator": {"vendor": "nvidia", "products": ["H100-SXM5"]},
    "capacity": {"flops": "20P", "precision": "bf16"},
    "carbon": {"minCarbonFreeRatio": 1},
    "nodeSelector": {"matchLabels": {"topology.kubernetes.io/zone": "kunming-a"}}})"));
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_EQ(pool->Key(), "tenant-a/train");
  EXPECT_EQ(pool->BindingValue(), "tenant-a.train");
  EXPECT_EQ(pool->generation, 3);
  EXPECT_DOUBLE_EQ(*pool->spec.flops, 20e15);
  EXPECT_EQ(pool->spec.precision, Precision::kBf16);
  EXPECT_FALSE(pool->spec.accelerators.has_value());
  EXPECT_DOUBLE_EQ(*pool->spec.min_carbon_free_ratio, 1.0);
  EXPECT_TRUE(pool->spec.all_or_nothing);
  EXPECT_FALSE(pool->deleting);
}

TEST(ComputePool, DefaultsPrecisionAndReadsDeletion) {
  Json object = Pool(R"({"capacity": {"accelerators": 16}, "allocation": "Partial"})");
  object["metadata"]["deletionTimestamp"] = "2026-11-23T00:00:00Z";
  object["metadata"]["finalizers"] = {"zhisuan.io/pool-cleanup"};
  auto pool = ComputePoolFromJson(object);
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_EQ(pool->spec.precision, Precision::kBf16);
  EXPECT_EQ(*pool->spec.accelerators, 16);
  EXPECT_FALSE(pool->spec.all_or_nothing);
  EXPECT_TRUE(pool->deleting);
  EXPECT_THAT(pool->finalizers, ::testing::ElementsAre("zhisuan.io/pool-cleanup"));
}

TEST(ComputePool, SpecRoundTrips) {
  ComputePoolSpec spec;
  spec.vendor = "huawei";
  spec.products = {"Ascend910B"};
  spec.accelerators = 16;
  spec.precision = Precision::kFp16;
  spec.max_intensity = 300;
  spec.node_selector.match_labels = {{"site", "gui-an"}};
  auto decoded = ComputePoolSpecFromJson(ToJson(spec));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, spec);
}

TEST(ComputePool, StatusRoundTrips) {
  ComputePoolStatus status;
  status.observed_generation = 4;
  status.conditions = {{"Ready", "True", 4, "2026-11-23T00:00:00Z", "Satisfied", "ok"}};
  status.nodes = {"n1", "n2"};
  status.accelerator_count = 16;
  status.flops = 15.83e15;
  status.carbon_free_ratio = 1.0;
  status.carbon_intensity = 10.0;
  status.scheduling_node_selector = {{"zhisuan.io/pool", "tenant-a.train"}};
  status.scheduling_tolerations = {{"zhisuan.io/pool", "Equal", "tenant-a.train", "NoSchedule"}};
  Json json = ToJson(status);
  EXPECT_EQ(json["nodeCount"], 2);
  EXPECT_EQ(json["flops"], "15.83P");
  auto decoded = ComputePoolStatusFromJson(json);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, status);
}

struct InvalidSpec {
  const char* spec;
  const char* expected;
};

class InvalidComputePoolSpec : public ::testing::TestWithParam<InvalidSpec> {};

// The API server rejects these first (tests/fixtures/invalid-computepools); the decoder must agree
// so a controller facing an older CRD never acts on them.
TEST_P(InvalidComputePoolSpec, IsRejected) {
  auto pool = ComputePoolFromJson(Pool(GetParam().spec));
  ASSERT_FALSE(pool.ok()) << GetParam().spec;
  EXPECT_THAT(pool.status().message(), HasSubstr(GetParam().expected));
}

INSTANTIATE_TEST_SUITE_P(
    Decoder, InvalidComputePoolSpec,
    ::testing::Values(
        InvalidSpec{R"({"capacity": {"flops": "20P", "accelerators": 2}})", "exactly one"},
        InvalidSpec{R"({"capacity": {}})", "exactly one"},
        InvalidSpec{R"({"capacity": {"flops": "-1P"}})", "greater than zero"},
        InvalidSpec{R"({"capacity": {"flops": "20PFLOPS"}})", "unknown suffix"},
        InvalidSpec{R"({"capacity": {"flops": 20}})", "quantity string"},
        InvalidSpec{R"({"capacity": {"flops": "1P", "precision": "fp4"}})", "fp4"},
        InvalidSpec{R"({"capacity": {"accelerators": 0}})", "between 1 and 100000"},
        InvalidSpec{R"({"capacity": {"accelerators": 4}, "carbon": {"minCarbonFreeRatio": 2}})",
                    "within 0..1"},
        InvalidSpec{R"({"capacity": {"accelerators": 4}, "carbon": {"maxIntensity": -2}})",
                    "must not be negative"},
        InvalidSpec{R"({"capacity": {"accelerators": 4}, "allocation": "Some"})",
                    "AllOrNothing or Partial"},
        InvalidSpec{R"({"capacity": {"accelerators": "4"}})", "malformed"},
        InvalidSpec{R"("spec")", "not an object"}));

}  // namespace
}  // namespace zhisuan::api
