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
  status.carbon_uncounted_nodes = 1;
  status.scheduling_node_selector = {{"zhisuan.io/pool", "tenant-a.train"}};
  status.scheduling_tolerations = {{"zhisuan.io/pool", "Equal", "tenant-a.train", "NoSchedule"}};
  Json json = ToJson(status);
  EXPECT_EQ(json["nodeCount"], 2);
  EXPECT_EQ(json["carbonUncountedNodes"], 1);
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

// Specs the API server used to accept (issue 17) and the CRD now rejects; the decoder rejects
// them with the same message, naming the field.
INSTANTIATE_TEST_SUITE_P(
    AcceptedByTheOldCrd, InvalidComputePoolSpec,
    ::testing::Values(
        InvalidSpec{R"({"capacity": {"flops": "500m"}})",
                    "spec.capacity.flops must be between 1 (one FLOPS) and 1000000E"},
        InvalidSpec{R"({"capacity": {"flops": "1e31"}})",
                    "spec.capacity.flops must be between 1 (one FLOPS) and 1000000E"},
        InvalidSpec{R"({"capacity": {"flops": "2000000E"}})",
                    "spec.capacity.flops must be between 1 (one FLOPS) and 1000000E"},
        InvalidSpec{R"({"capacity": {"accelerators": 4}, "carbon": {"maxIntensity": 6000}})",
                    "spec.carbon.maxIntensity must be at most 5000"},
        InvalidSpec{R"({"capacity": {"accelerators": 4},
                        "nodeSelector": {"matchLabels": {"zhisuan.io/pool": "t.other"}}})",
                    "spec.nodeSelector.matchLabels must not use the key zhisuan.io/pool"},
        InvalidSpec{R"({"capacity": {"accelerators": 4}, "nodeSelector": {"matchExpressions":
                        [{"key": "zhisuan.io/pool", "operator": "DoesNotExist"}]}})",
                    "spec.nodeSelector.matchExpressions must not use the key zhisuan.io/pool"},
        InvalidSpec{R"({"capacity": {"accelerators": 4},
                        "nodeSelector": {"matchLabels": {"bad key!": "a"}}})",
                    "spec.nodeSelector.matchLabels keys must be label keys"},
        InvalidSpec{R"({"capacity": {"accelerators": 4},
                        "nodeSelector": {"matchLabels": {"Example.COM/zone": "a"}}})",
                    "spec.nodeSelector.matchLabels keys must be label keys"},
        InvalidSpec{R"({"capacity": {"accelerators": 4}, "nodeSelector": {"matchLabels":
                        {"a234567890123456789012345678901234567890123456789012345678901234": "a"}}})",
                    "spec.nodeSelector.matchLabels keys must be label keys"},
        InvalidSpec{R"({"capacity": {"accelerators": 4},
                        "nodeSelector": {"matchLabels": {"zone": "-kunming a"}}})",
                    "spec.nodeSelector.matchLabels.zone \"-kunming a\" is not a label value"},
        InvalidSpec{R"({"capacity": {"accelerators": 4}, "nodeSelector": {"matchExpressions":
                        [{"key": "rack id", "operator": "Exists"}]}})",
                    "spec.nodeSelector.matchExpressions keys must be label keys"},
        InvalidSpec{R"({"capacity": {"accelerators": 4}, "nodeSelector": {"matchExpressions":
                        [{"key": "zone", "operator": "In", "values": ["kunming a"]}]}})",
                    "spec.nodeSelector.matchExpressions[0].values \"kunming a\" is not a label"},
        InvalidSpec{R"({"capacity": {"accelerators": 4}, "nodeSelector": {"matchExpressions":
                        [{"key": "zone", "operator": "In"}]}})",
                    "spec.nodeSelector.matchExpressions[0]: nodeSelector.matchExpressions with "
                    "operator In or NotIn need values"},
        InvalidSpec{R"({"capacity": {"accelerators": 4}, "nodeSelector": {"matchExpressions":
                        [{"key": "zone", "operator": "Exists", "values": ["a"]}]}})",
                    "Exists and DoesNotExist take none"},
        InvalidSpec{R"({"capacity": {"accelerators": 4},
                        "accelerator": {"vendor": "nvidia", "products": ["H100-SXM5", "Ascend910B"]}})",
                    "spec.accelerator.products: Ascend910B is made by vendor huawei, not nvidia"},
        InvalidSpec{R"({"capacity": {"accelerators": 4},
                        "accelerator": {"vendor": "amd", "products": ["H100-SXM5"]}})",
                    "spec.accelerator.products: H100-SXM5 is made by vendor nvidia, not amd"},
        InvalidSpec{R"({"capacity": {"accelerators": 4},
                        "accelerator": {"vendor": "nvidia", "products": []}})",
                    "spec.accelerator.products must list at least one product"},
        InvalidSpec{R"({"capacity": {"accelerators": 4}, "accelerator": {}})",
                    "spec.accelerator must set vendor and/or products"},
        InvalidSpec{R"({"capacity": {"accelerators": 4}, "accelerator": {"vendor": "nvdia"}})",
                    "spec.accelerator.vendor \"nvdia\" is not a known vendor"},
        InvalidSpec{R"({"capacity": {"accelerators": 4},
                        "accelerator": {"products": ["H100 SXM5"]}})",
                    "is not a product name"},
        InvalidSpec{R"({"capacity": {"accelerators": 4},
                        "accelerator": {"products": ["H100-SXM5", "H100-SXM5"]}})",
                    "\"H100-SXM5\" is listed twice"}));

TEST(ComputePool, OversizedSelectorsAreRejected) {
  Json labels = Json::object();
  for (int i = 0; i < 33; ++i) labels["l" + std::to_string(i)] = "v";
  Json spec = {{"capacity", {{"accelerators", 4}}}, {"nodeSelector", {{"matchLabels", labels}}}};
  auto too_many_labels = ComputePoolSpecFromJson(spec);
  ASSERT_FALSE(too_many_labels.ok());
  EXPECT_THAT(too_many_labels.status().message(),
              HasSubstr("spec.nodeSelector.matchLabels: at most 32"));

  Json expressions = Json::array();
  for (int i = 0; i < 33; ++i) {
    expressions.push_back({{"key", "l" + std::to_string(i)}, {"operator", "Exists"}});
  }
  spec["nodeSelector"] = {{"matchExpressions", expressions}};
  auto too_many_expressions = ComputePoolSpecFromJson(spec);
  ASSERT_FALSE(too_many_expressions.ok());
  EXPECT_THAT(too_many_expressions.status().message(),
              HasSubstr("spec.nodeSelector.matchExpressions: at most 32"));

  Json values = Json::array();
  for (int i = 0; i < 65; ++i) values.push_back("z" + std::to_string(i));
  spec["nodeSelector"] = {
      {"matchExpressions", {{{"key", "zone"}, {"operator", "In"}, {"values", values}}}}};
  auto too_many_values = ComputePoolSpecFromJson(spec);
  ASSERT_FALSE(too_many_values.ok());
  EXPECT_THAT(too_many_values.status().message(),
              HasSubstr("spec.nodeSelector.matchExpressions[0].values: at most 64"));
}

TEST(ComputePool, AcceptsWhatTheCrdAccepts) {
  auto spec = ComputePoolSpecFromJson(Json::parse(R"({
    "accelerator": {"vendor": "nvidia", "products": ["H100-SXM5", "L40S", "nvidia-2330"]},
    "capacity": {"flops": "1"},
    "carbon": {"maxIntensity": 5000},
    "nodeSelector": {
      "matchLabels": {"topology.kubernetes.io/zone": "kunming-a", "tier": ""},
      "matchExpressions": [{"key": "zhisuan.io/rack", "operator": "In", "values": ["r1", "r_2.b"]},
                           {"key": "example.com/gpu", "operator": "DoesNotExist"}]}})"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_DOUBLE_EQ(*spec->flops, 1);
  auto largest = ComputePoolSpecFromJson(Json::parse(R"({"capacity": {"flops": "1000000E"}})"));
  EXPECT_TRUE(largest.ok()) << largest.status();
  // A vendor of its own, or none, accepts any product name.
  EXPECT_TRUE(ComputePoolSpecFromJson(Json::parse(R"({"capacity": {"accelerators": 1},
      "accelerator": {"products": ["Ascend910B", "H100-SXM5"]}})"))
                  .ok());
  EXPECT_TRUE(ComputePoolSpecFromJson(Json::parse(R"({"capacity": {"accelerators": 1},
      "accelerator": {"vendor": "intel", "products": ["Max-1550"]}})"))
                  .ok());
}

TEST(ComputePool, ProductVendorKnowsTheFamiliesAgentsReport) {
  EXPECT_EQ(ProductVendor("H100-SXM5"), "nvidia");
  EXPECT_EQ(ProductVendor("L40S"), "nvidia");
  EXPECT_EQ(ProductVendor("A800-SXM4-80GB"), "nvidia");
  EXPECT_EQ(ProductVendor("MI300X"), "amd");
  EXPECT_EQ(ProductVendor("Ascend910B3"), "huawei");
  EXPECT_EQ(ProductVendor("MLU370-X8"), "cambricon");
  EXPECT_EQ(ProductVendor("K100-AI"), "hygon");
  EXPECT_EQ(ProductVendor("P800"), "kunlunxin");
  EXPECT_EQ(ProductVendor("MIX"), std::nullopt);
  EXPECT_EQ(ProductVendor("Gaudi2"), std::nullopt);
}

// The controller must still see a pool it cannot act on: to say why (Ready=False, InvalidSpec),
// and to release its nodes and drop its finalizer when it is deleted.
TEST(ComputePool, LenientDecodingKeepsThePoolAndSaysWhyTheSpecIsInvalid) {
  Json object = Pool(R"({"capacity": {"flops": "500m"}})");
  object["metadata"]["finalizers"] = {"zhisuan.io/pool-cleanup"};
  object["metadata"]["deletionTimestamp"] = "2026-11-23T00:00:00Z";
  object["status"] = {{"observedGeneration", 2}, {"nodes", {"n1"}}};
  Status spec_error;
  auto pool = ComputePoolFromJson(object, &spec_error);
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_THAT(spec_error.message(), HasSubstr("spec.capacity.flops must be between 1"));
  EXPECT_EQ(pool->Key(), "tenant-a/train");
  EXPECT_TRUE(pool->deleting);
  EXPECT_THAT(pool->finalizers, ::testing::ElementsAre("zhisuan.io/pool-cleanup"));
  EXPECT_EQ(pool->status.nodes, std::vector<std::string>{"n1"});
  EXPECT_EQ(pool->spec, ComputePoolSpec{});
  // The strict form still refuses it.
  EXPECT_FALSE(ComputePoolFromJson(object).ok());

  // A status it cannot read is dropped (the controller rewrites it), not the pool.
  Json bad_status = Pool(R"({"capacity": {"accelerators": 2}})");
  bad_status["status"] = {{"acceleratorCount", "many"}};
  Status no_error;
  auto kept = ComputePoolFromJson(bad_status, &no_error);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_TRUE(no_error.ok());
  EXPECT_EQ(kept->status, ComputePoolStatus{});
  EXPECT_FALSE(ComputePoolFromJson(bad_status).ok());

  // Metadata it cannot read still fails.
  Json nameless = Pool(R"({"capacity": {"accelerators": 2}})");
  nameless["metadata"].erase("name");
  EXPECT_FALSE(ComputePoolFromJson(nameless, &no_error).ok());
}

}  // namespace
}  // namespace zhisuan::api
