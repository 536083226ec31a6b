#include "api/quantity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace zhisuan::api {
namespace {

using ::testing::HasSubstr;

struct ParseCase {
  const char* text;
  double expected;
};

class ParseQuantityValid : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseQuantityValid, ParsesToExpectedValue) {
  auto parsed = ParseQuantity(GetParam().text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_DOUBLE_EQ(*parsed, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Kubernetes, ParseQuantityValid,
    ::testing::Values(ParseCase{"20P", 20e15}, ParseCase{"7915T", 7915e12},
                      ParseCase{"989.4T", 989.4e12}, ParseCase{"80Gi", 80.0 * (1ull << 30)},
                      ParseCase{"1Ki", 1024}, ParseCase{"1.5e3", 1500}, ParseCase{"2E", 2e18},
                      ParseCase{"1E3", 1000}, ParseCase{"5e-3", 0.005}, ParseCase{"100m", 0.1},
                      ParseCase{"-3k", -3000}, ParseCase{"+7", 7}, ParseCase{".5", 0.5},
                      ParseCase{"0", 0}, ParseCase{"12n", 12e-9}, ParseCase{"3u", 3e-6}));

class ParseQuantityInvalid : public ::testing::TestWithParam<const char*> {};

TEST_P(ParseQuantityInvalid, RejectsWithReason) {
  auto parsed = ParseQuantity(GetParam());
  ASSERT_FALSE(parsed.ok()) << GetParam() << " parsed as " << *parsed;
  EXPECT_THAT(parsed.status().message(), HasSubstr("invalid quantity"));
}

INSTANTIATE_TEST_SUITE_P(Kubernetes, ParseQuantityInvalid,
                         ::testing::Values("", "P", "20PB", "20 P", "1.2.3", "1K", "e3", "1e",
                                           "1e+", "1e99", "1ee3", "--1", "1Gi3", "abc", "1e3.5",
                                           // Found by fuzz_quantity: finite, but absurd.
                                           "533333333333333333333333333333333333333e30"));

TEST(ParseQuantity, ExplainsUnknownSuffix) {
  auto parsed = ParseQuantity("20PFLOPS");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("unknown suffix \"PFLOPS\""));
}

struct FormatCase {
  double value;
  const char* expected;
};

class FormatQuantityCases : public ::testing::TestWithParam<FormatCase> {};

TEST_P(FormatQuantityCases, FormatsCanonically) {
  EXPECT_EQ(FormatQuantity(GetParam().value), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Flops, FormatQuantityCases,
                         ::testing::Values(FormatCase{8 * 989.4e12, "7915T"},
                                           FormatCase{20e15, "20P"}, FormatCase{1.5e15, "1500T"},
                                           FormatCase{989.4e12, "989.4T"}, FormatCase{0, "0"},
                                           FormatCase{-5, "0"}, FormatCase{1, "1"},
                                           FormatCase{1234.5678, "1235"},
                                           FormatCase{79.2e18, "79.2E"}, FormatCase{5e22, "50000E"},
                                           FormatCase{0.5, "500m"}));

TEST(FormatQuantity, RoundTripsThroughParse) {
  for (double value : {1.0, 42.0, 989.4e12, 7915.2e12, 2614.9e12, 3.3e18}) {
    auto parsed = ParseQuantity(FormatQuantity(value));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_NEAR(*parsed, value, value * 1e-3) << FormatQuantity(value);
  }
}

}  // namespace
}  // namespace zhisuan::api
