#include "api/meta.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace zhisuan::api {
namespace {

TEST(PoolBindingValue, IsNamespaceDotNameWhenItFits) {
  EXPECT_EQ(PoolBindingValue("tenant-a", "h100-train"), "tenant-a.h100-train");
}

TEST(PoolBindingValue, HashesLongNamesIntoAValidLabelValue) {
  const std::string long_name(200, 'p');
  const std::string value = PoolBindingValue("tenant-a", long_name);
  EXPECT_LE(value.size(), 63u);
  EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(value.back())));
  EXPECT_EQ(value, PoolBindingValue("tenant-a", long_name)) << "must be stable";
  EXPECT_NE(value, PoolBindingValue("tenant-b", long_name));
}

TEST(SetCondition, KeepsTransitionTimeWhenStatusUnchanged) {
  std::vector<Condition> conditions;
  SetCondition(conditions, {"Ready", "False", 1, "2026-01-01T00:00:00Z", "Pending", "waiting"});
  SetCondition(conditions, {"Ready", "False", 2, "2026-01-02T00:00:00Z", "Pending", "still"});
  ASSERT_EQ(conditions.size(), 1u);
  EXPECT_EQ(conditions[0].last_transition_time, "2026-01-01T00:00:00Z");
  EXPECT_EQ(conditions[0].message, "still");
  EXPECT_EQ(conditions[0].observed_generation, 2);
  SetCondition(conditions, {"Ready", "True", 2, "2026-01-03T00:00:00Z", "Satisfied", "ok"});
  EXPECT_EQ(conditions[0].last_transition_time, "2026-01-03T00:00:00Z");
  SetCondition(conditions, {"CarbonCompliant", "True", 2, "2026-01-03T00:00:00Z", "Ok", "ok"});
  EXPECT_EQ(conditions.size(), 2u);
  ASSERT_NE(FindCondition(conditions, "CarbonCompliant"), nullptr);
  EXPECT_EQ(FindCondition(conditions, "Missing"), nullptr);
}

TEST(FormatRfc3339, FormatsUtcSeconds) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(1800000000), "2027-01-15T08:00:00Z");
}

TEST(LabelSelector, MatchesLabelsAndEveryOperator) {
  auto selector = LabelSelectorFromJson(Json::parse(R"({
    "matchLabels": {"zone": "kunming-a"},
    "matchExpressions": [
      {"key": "rack", "operator": "In", "values": ["r1", "r2"]},
      {"key": "cordoned", "operator": "DoesNotExist"},
      {"key": "site", "operator": "Exists"},
      {"key": "tier", "operator": "NotIn", "values": ["spot"]}]})"));
  ASSERT_TRUE(selector.ok()) << selector.status();
  std::map<std::string, std::string> labels = {
      {"zone", "kunming-a"}, {"rack", "r2"}, {"site", "s"}};
  EXPECT_TRUE(selector->Matches(labels));
  labels["tier"] = "spot";
  EXPECT_FALSE(selector->Matches(labels));
  labels.erase("tier");
  labels["rack"] = "r9";
  EXPECT_FALSE(selector->Matches(labels));
  labels["rack"] = "r1";
  labels["cordoned"] = "yes";
  EXPECT_FALSE(selector->Matches(labels));
  labels.erase("cordoned");
  labels.erase("site");
  EXPECT_FALSE(selector->Matches(labels));
  EXPECT_TRUE(LabelSelector{}.Matches({}));
}

TEST(LabelSelector, RoundTripsThroughJson) {
  LabelSelector selector{{{"zone", "a"}}, {{"rack", "In", {"r1"}}, {"gpu", "Exists", {}}}};
  auto decoded = LabelSelectorFromJson(ToJson(selector));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, selector);
}

TEST(LabelSelector, RejectsUnknownOperatorAndMalformedInput) {
  EXPECT_FALSE(LabelSelectorFromJson(
                   Json::parse(R"({"matchExpressions": [{"key": "a", "operator": "Equals"}]})"))
                   .ok());
  EXPECT_FALSE(LabelSelectorFromJson(Json::parse(R"({"matchLabels": {"a": 1}})")).ok());
  EXPECT_FALSE(LabelSelectorFromJson(Json::parse(R"({"matchExpressions": [{"key": 3}]})")).ok());
  EXPECT_FALSE(LabelSelectorFromJson(Json::parse(R"([1])")).ok());
}

}  // namespace
}  // namespace zhisuan::api
