// The accelerators' average power over a trailing window: the energy figure a pool's carbon
// figures are weighted by (issue 18).
#include "agent/energy/average_power.h"

#include <gtest/gtest.h>

namespace zhisuan::agent {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

EnergyInterval Joules(double joules, double length_seconds,
                      EnergySource source = EnergySource::kCounter) {
  return {joules, length_seconds, source};
}

// One interval per minute of `watts` for `count` minutes, starting after `start`.
SteadyTime FeedMinutes(AveragePowerWindow& window, SteadyTime start, int count, double watts,
                       EnergySource source = EnergySource::kCounter) {
  SteadyTime at = start;
  for (int i = 0; i < count; ++i) {
    at += minutes(1);
    window.Observe(at, Joules(watts * 60, 60, source));
  }
  return at;
}

TEST(AveragePowerWindowTest, AveragesTheEnergyOfTheLastHourOnly) {
  AveragePowerWindow window(hours(1));
  const SteadyTime t0{hours(10)};
  window.Observe(t0, std::nullopt);  // the first sample has no interval
  SteadyTime at = FeedMinutes(window, t0, 60, 1000);
  ASSERT_TRUE(window.Reading().figure);
  EXPECT_DOUBLE_EQ(window.Reading().figure->watts, 1000);
  EXPECT_EQ(window.Reading().figure->source, "counter");
  // Half an hour at 3000 W: the hour's average is (30 x 1000 + 30 x 3000) / 60 = 2000 W, not the
  // running average since start (1500 W) nor the last sample (3000 W).
  at = FeedMinutes(window, at, 30, 3000);
  EXPECT_DOUBLE_EQ(window.Reading().figure->watts, 2000);
  // Another half hour: the 1000 W minutes have left the window.
  FeedMinutes(window, at, 30, 3000);
  EXPECT_DOUBLE_EQ(window.Reading().figure->watts, 3000);
}

TEST(AveragePowerWindowTest, NeedsATwelfthOfTheWindowBeforeItHasAFigureAndIsPendingUntilThen) {
  AveragePowerWindow window(hours(1));
  const SteadyTime t0{hours(10)};
  window.Observe(t0, std::nullopt);
  SteadyTime at = FeedMinutes(window, t0, 4, 700);
  EXPECT_FALSE(window.Reading().figure);  // 4 minutes: too few to publish
  EXPECT_TRUE(window.Reading().pending);
  FeedMinutes(window, at, 1, 700);  // 5 minutes
  ASSERT_TRUE(window.Reading().figure);
  EXPECT_DOUBLE_EQ(window.Reading().figure->watts, 700);
  EXPECT_FALSE(window.Reading().pending);
}

TEST(AveragePowerWindowTest, GapsAreLeftOutNotCountedAsZeroWatts) {
  AveragePowerWindow window(hours(1));
  const SteadyTime t0{hours(10)};
  window.Observe(t0, std::nullopt);
  SteadyTime at = FeedMinutes(window, t0, 10, 500);
  for (int i = 0; i < 20; ++i) {  // 20 minutes without a reading (power missing, counter reset)
    at += minutes(1);
    window.Observe(at, std::nullopt);
  }
  EXPECT_DOUBLE_EQ(window.Reading().figure->watts, 500);
}

TEST(AveragePowerWindowTest, WithoutReadingsForAWholeWindowItIsUnknownNotPending) {
  AveragePowerWindow window(hours(1));
  const SteadyTime t0{hours(10)};
  SteadyTime at = t0;
  for (int i = 0; i <= 60; ++i, at += minutes(1)) window.Observe(at, std::nullopt);
  EXPECT_FALSE(window.Reading().figure);
  EXPECT_FALSE(window.Reading().pending);  // never 0 W, and no longer waiting for one
}

TEST(AveragePowerWindowTest, SaysWhereTheEnergyCameFrom) {
  AveragePowerWindow window(hours(1));
  const SteadyTime t0{hours(10)};
  SteadyTime at = FeedMinutes(window, t0, 10, 300, EnergySource::kIntegratedPower);
  EXPECT_EQ(window.Reading().figure->source, "integrated_power");
  FeedMinutes(window, at, 10, 300, EnergySource::kCounter);
  EXPECT_EQ(window.Reading().figure->source, kMixedEnergySources);
}

TEST(NodeAveragePowerTest, SumsDevicesOnlyWhenEachHasAFigure) {
  const AveragePowerReading counter{AveragePower{700, "counter"}, false};
  const AveragePowerReading integrated{AveragePower{300, "integrated_power"}, false};
  AveragePowerReading node = NodeAveragePower({counter, counter});
  ASSERT_TRUE(node.figure);
  EXPECT_DOUBLE_EQ(node.figure->watts, 1400);
  EXPECT_EQ(node.figure->source, "counter");
  EXPECT_EQ(NodeAveragePower({counter, integrated}).figure->source, kMixedEnergySources);

  // A device without a figure: the node has none (a partial sum would understate it); pending
  // when that device is.
  node = NodeAveragePower({counter, AveragePowerReading{std::nullopt, true}});
  EXPECT_FALSE(node.figure);
  EXPECT_TRUE(node.pending);
  node = NodeAveragePower({counter, AveragePowerReading{std::nullopt, false}});
  EXPECT_FALSE(node.figure);
  EXPECT_FALSE(node.pending);
  EXPECT_FALSE(NodeAveragePower({}).figure);
}

TEST(DeviceEmissionsTest, ObserveReturnsTheIntervalsEnergyEvenWithoutAnIntensity) {
  DeviceEmissions emissions;
  const SteadyTime t0{hours(1)};
  DeviceTelemetry power;
  power.power_watts = 400;
  EXPECT_FALSE(emissions.Observe(power, t0, std::nullopt));  // no previous reading
  const auto interval = emissions.Observe(power, t0 + seconds(10), std::nullopt);
  ASSERT_TRUE(interval);
  EXPECT_DOUBLE_EQ(interval->joules, 4000);
  EXPECT_DOUBLE_EQ(interval->seconds, 10);
  EXPECT_EQ(interval->source, EnergySource::kIntegratedPower);
}

}  // namespace
}  // namespace zhisuan::agent
