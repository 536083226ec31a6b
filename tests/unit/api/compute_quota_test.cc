// ComputeQuota's codec: the decoder refuses what the CRD refuses (tests/fixtures/
// invalid-computequotas), naming the field, so a controller facing an older CRD caps nothing with
// a quota it cannot read rather than misreading it.
#include "api/compute_quota.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace zhisuan::api {
namespace {

using ::testing::HasSubstr;

Json Quota(const std::string& spec) {
  return {{"metadata", {{"name", "q"}, {"namespace", "t"}, {"generation", 2}}},
          {"spec", Json::parse(spec)}};
}

TEST(ComputeQuota, DecodesHardAndStatus) {
  Json object = Quota(R"({"hard": {"accelerators": 8, "flops": {"bf16": "20P"}}})");
  object["status"] = {{"observedGeneration", 1},
                      {"used", {{"accelerators", 4}, {"flops", {{"bf16", "7915T"}}}}}};
  Status spec_error;
  auto quota = ComputeQuotaFromJson(object, &spec_error);
  ASSERT_TRUE(quota.ok()) << quota.status();
  EXPECT_TRUE(spec_error.ok()) << spec_error;
  EXPECT_EQ(quota->Key(), "t/q");
  EXPECT_EQ(quota->generation, 2);
  EXPECT_EQ(quota->hard.accelerators, 8);
  EXPECT_EQ(quota->hard.flops.at(Precision::kBf16), 20e15);
  EXPECT_EQ(quota->status.used.accelerators, 4);
  EXPECT_EQ(quota->status.used.flops.at(Precision::kBf16), 7915e12);
  EXPECT_EQ(ToJson(quota->hard), Json::parse(R"({"accelerators": 8, "flops": {"bf16": "20P"}})"));
}

struct InvalidQuota {
  std::string spec;
  std::string expected;
};

class InvalidComputeQuotaSpec : public ::testing::TestWithParam<InvalidQuota> {};

TEST_P(InvalidComputeQuotaSpec, IsRefusedNamingTheField) {
  Status spec_error;
  auto quota = ComputeQuotaFromJson(Quota(GetParam().spec), &spec_error);
  ASSERT_TRUE(quota.ok()) << "metadata is fine: " << quota.status();
  ASSERT_FALSE(spec_error.ok()) << GetParam().spec;
  EXPECT_THAT(spec_error.message(), HasSubstr(GetParam().expected));
  EXPECT_TRUE(quota->hard.Empty()) << "an invalid quota caps nothing";
}

INSTANTIATE_TEST_SUITE_P(
    Decoder, InvalidComputeQuotaSpec,
    ::testing::Values(
        InvalidQuota{R"({})", "spec.hard must be an object"},
        InvalidQuota{R"({"hard": {}})", "spec.hard must cap accelerators and/or flops"},
        InvalidQuota{R"({"hard": {"accelerators": -1}})",
                     "spec.hard.accelerators must be between 0 and 10000000"},
        InvalidQuota{R"({"hard": {"accelerators": 1.5}})", "spec.hard.accelerators"},
        InvalidQuota{R"({"hard": {"accelerators": "8"}})",
                     "spec.hard.accelerators must be an integer"},
        InvalidQuota{R"({"hard": {"flops": {"fp4": "20P"}}})", "spec.hard.flops key \"fp4\""},
        InvalidQuota{R"({"hard": {"flops": {"bf16": "20PFLOPS"}}})",
                     "spec.hard.flops.bf16 must be a quantity"},
        InvalidQuota{R"({"hard": {"flops": {"bf16": "-1P"}}})",
                     "spec.hard.flops.bf16 must be a quantity between 0"},
        InvalidQuota{R"({"hard": {"gpus": 8}})", "spec.hard.gpus is not a capped"}));

TEST(ComputeQuota, MalformedMetadataIsAnError) {
  EXPECT_FALSE(ComputeQuotaFromJson(Json::object(), nullptr).ok());
  EXPECT_FALSE(ComputeQuotaFromJson({{"metadata", {{"name", "q"}}}}, nullptr).ok());
}

}  // namespace
}  // namespace zhisuan::api
