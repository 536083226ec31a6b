#include "common/flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace zhisuan {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

TEST(DurationTest, EverySpellingEitherBinaryAcceptedBefore) {
  EXPECT_EQ(*ParseDurationValue("500ms"), milliseconds(500));
  EXPECT_EQ(*ParseDurationValue("5s"), milliseconds(5'000));
  EXPECT_EQ(*ParseDurationValue("90s"), milliseconds(90'000));
  EXPECT_EQ(*ParseDurationValue("2m"), milliseconds(120'000));
  EXPECT_EQ(*ParseDurationValue("1h"), milliseconds(3'600'000));
  EXPECT_EQ(*ParseDurationValue("1.5"), milliseconds(1'500));  // bare: seconds
  EXPECT_EQ(*ParseDurationValue("1.5m"), milliseconds(90'000));
  EXPECT_EQ(*ParseDurationValue("0"), milliseconds(0));
  EXPECT_EQ(*ParseDurationValue("0s"), milliseconds(0));
  EXPECT_EQ(*ParseDurationValue(" 2s "), milliseconds(2'000));
  EXPECT_EQ(*ParseDurationValue("2.5ms"), milliseconds(3));  // rounded to the nearest ms
}

TEST(DurationTest, RejectsWhatIsNotADuration) {
  for (const char* text : {"", "-1s", "-1", "soon", "5 parsecs", "ms", "s", "1d", "1h30m", "nans",
                           "infs", "1e300h", "5S"}) {
    auto parsed = ParseDurationValue(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_THAT(parsed.status().message(), HasSubstr("is not a duration")) << text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(BoolTest, TheUnionOfWhatTheBinariesAccepted) {
  EXPECT_TRUE(*ParseBoolValue("true"));
  EXPECT_TRUE(*ParseBoolValue("1"));
  EXPECT_FALSE(*ParseBoolValue("false"));
  EXPECT_FALSE(*ParseBoolValue("0"));
  for (const char* text : {"", "maybe", "2", "truex"}) {
    auto parsed = ParseBoolValue(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_THAT(parsed.status().message(), HasSubstr("expected true or false"));
  }
}

TEST(ByteSizeTest, KubernetesQuantitySuffixes) {
  EXPECT_EQ(*ParseByteSizeValue("512"), 512u);
  EXPECT_EQ(*ParseByteSizeValue("0"), 0u);
  EXPECT_EQ(*ParseByteSizeValue("10k"), 10'000u);
  EXPECT_EQ(*ParseByteSizeValue("3M"), 3'000'000u);
  EXPECT_EQ(*ParseByteSizeValue("2G"), 2'000'000'000u);
  EXPECT_EQ(*ParseByteSizeValue("1Ki"), 1024u);
  EXPECT_EQ(*ParseByteSizeValue("64Mi"), 64u << 20);
  EXPECT_EQ(*ParseByteSizeValue("1Gi"), 1u << 30);
  EXPECT_EQ(*ParseByteSizeValue("2Ti"), uint64_t{2} << 40);
  EXPECT_EQ(*ParseByteSizeValue("1.5Ki"), 1536u);
  EXPECT_EQ(*ParseByteSizeValue("7Ei"), uint64_t{7} << 60);
}

TEST(ByteSizeTest, RejectsBadSizes) {
  for (const char* text : {"", "-1", "big", "1KB", "1K", "1mi", "8Ei", "1e30"}) {
    auto parsed = ParseByteSizeValue(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_THAT(parsed.status().message(), HasSubstr("is not a size")) << text;
  }
  auto fraction = ParseByteSizeValue("1.5");
  ASSERT_FALSE(fraction.ok());
  EXPECT_THAT(fraction.status().message(), HasSubstr("whole number of bytes"));
}

TEST(FlagFormsTest, ErrorsNameTheFlagAndTheValue) {
  auto duration = ParseDurationFlag("publish-interval", "soon");
  ASSERT_FALSE(duration.ok());
  EXPECT_THAT(duration.status().message(), HasSubstr("--publish-interval=soon: "));
  EXPECT_THAT(duration.status().message(), HasSubstr("not a duration"));
  auto boolean = ParseBoolFlag("leader-elect", "maybe");
  ASSERT_FALSE(boolean.ok());
  EXPECT_THAT(boolean.status().message(), HasSubstr("--leader-elect=maybe: "));
  auto size = ParseByteSizeFlag("buffer", "lots");
  ASSERT_FALSE(size.ok());
  EXPECT_THAT(size.status().message(), HasSubstr("--buffer=lots: "));
  EXPECT_EQ(*ParseDurationFlag("publish-interval", "1h"), std::chrono::hours(1));
  EXPECT_TRUE(*ParseBoolFlag("publish", "1"));
  EXPECT_EQ(*ParseByteSizeFlag("buffer", "1Mi"), 1u << 20);
}

TEST(SplitFlagArgumentTest, NameAndOptionalValue) {
  auto with_value = SplitFlagArgument("--workers=3");
  ASSERT_TRUE(with_value.has_value());
  EXPECT_EQ(with_value->name, "workers");
  EXPECT_EQ(with_value->value, "3");
  auto empty_value = SplitFlagArgument("--context=");
  ASSERT_TRUE(empty_value.has_value());
  EXPECT_EQ(empty_value->value, "");
  auto equals_in_value = SplitFlagArgument("--kubeconfig=/a=b");
  ASSERT_TRUE(equals_in_value.has_value());
  EXPECT_EQ(equals_in_value->name, "kubeconfig");
  EXPECT_EQ(equals_in_value->value, "/a=b");
  auto bare = SplitFlagArgument("--publish");
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(bare->name, "publish");
  EXPECT_FALSE(bare->value.has_value());
  EXPECT_FALSE(SplitFlagArgument("stray").has_value());
  EXPECT_FALSE(SplitFlagArgument("--").has_value());
  EXPECT_FALSE(SplitFlagArgument("-h").has_value());
}

}  // namespace
}  // namespace zhisuan
