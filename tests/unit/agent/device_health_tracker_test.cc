#include "agent/health/device_health_tracker.h"

#include <gtest/gtest.h>

namespace zhisuan::agent {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

class DeviceHealthTrackerTest : public ::testing::Test {
 protected:
  DeviceHealthTrackerTest() : clock_(std::make_shared<FakeClock>()) {}

  DeviceHealthTracker& Tracker(HealthPolicy policy = {}) {
    policy.quiet_period = minutes(5);
    policy.over_temperature_celsius = 90;
    policy.temperature_hysteresis_celsius = 5;
    tracker_ = std::make_unique<DeviceHealthTracker>(policy, clock_);
    tracker_->SetInventory({"gpu-0", "gpu-1"});
    return *tracker_;
  }
  static HealthEvent Xid(uint64_t code, std::string uuid = "gpu-0") {
    return {std::move(uuid), HealthEvent::Kind::kXid, code, "xid"};
  }
  static DeviceTelemetry Celsius(double celsius) {
    DeviceTelemetry t;
    t.temperature_celsius = celsius;
    return t;
  }

  std::shared_ptr<FakeClock> clock_;
  std::unique_ptr<DeviceHealthTracker> tracker_;
};

TEST_F(DeviceHealthTrackerTest, CriticalXidMakesTheDeviceUnhealthyWithReasonCodeAndSince) {
  auto& tracker = Tracker();
  clock_->Advance(seconds(10));
  tracker.OnEvent(Xid(79));
  DeviceHealth health = tracker.Get("gpu-0");
  EXPECT_FALSE(health.healthy);
  EXPECT_EQ(health.reason, HealthReason::kCriticalXid);
  EXPECT_EQ(health.code, 79u);
  EXPECT_EQ(health.since, clock_->WallNow());
  EXPECT_EQ(health.faults[HealthReason::kCriticalXid], 1u);
  EXPECT_TRUE(tracker.Get("gpu-1").healthy);
}

TEST_F(DeviceHealthTrackerTest, ApplicationXidsAreIgnoredAndCounted) {
  auto& tracker = Tracker();
  for (uint64_t xid : {13, 31, 43, 45, 68, 109}) tracker.OnEvent(Xid(xid));
  DeviceHealth health = tracker.Get("gpu-0");
  EXPECT_TRUE(health.healthy);
  EXPECT_EQ(health.ignored_events, 6u);
  EXPECT_TRUE(health.faults.empty());
}

TEST_F(DeviceHealthTrackerTest, IgnoredXidListIsConfigurable) {
  HealthPolicy policy;
  policy.ignored_xids = {79};
  auto& tracker = Tracker(policy);
  tracker.OnEvent(Xid(79));
  EXPECT_TRUE(tracker.Get("gpu-0").healthy);
  tracker.OnEvent(Xid(13));
  EXPECT_FALSE(tracker.Get("gpu-0").healthy);
}

TEST_F(DeviceHealthTrackerTest, RecoversOnlyAfterAFullQuietPeriod) {
  auto& tracker = Tracker();
  tracker.OnEvent({"gpu-0", HealthEvent::Kind::kEccDoubleBit, 0, "dbe"});
  clock_->Advance(minutes(5) - seconds(1));
  tracker.Reevaluate();
  EXPECT_FALSE(tracker.Get("gpu-0").healthy);
  clock_->Advance(seconds(1));
  tracker.Reevaluate();
  DeviceHealth health = tracker.Get("gpu-0");
  EXPECT_TRUE(health.healthy);
  EXPECT_EQ(health.reason, HealthReason::kNone);
  EXPECT_EQ(health.since, clock_->WallNow());
  EXPECT_EQ(health.faults[HealthReason::kEccDoubleBit], 1u);  // history is kept
}

TEST_F(DeviceHealthTrackerTest, AFlappingDeviceRestartsItsQuietPeriodOnEveryFault) {
  auto& tracker = Tracker();
  tracker.OnEvent(Xid(48));
  clock_->Advance(minutes(4));
  tracker.OnEvent({"gpu-0", HealthEvent::Kind::kVendorHealthCode, 7, "vendor"});
  clock_->Advance(minutes(4));
  tracker.Reevaluate();
  DeviceHealth health = tracker.Get("gpu-0");
  EXPECT_FALSE(health.healthy);  // 8 minutes since the first fault, only 4 since the last
  EXPECT_EQ(health.reason, HealthReason::kVendorHealthCode);
  EXPECT_EQ(health.code, 7u);
  clock_->Advance(minutes(1));
  tracker.Reevaluate();
  EXPECT_TRUE(tracker.Get("gpu-0").healthy);
}

TEST_F(DeviceHealthTrackerTest, OverTemperatureClearsOnlyBelowThresholdMinusHysteresis) {
  auto& tracker = Tracker();
  tracker.OnTelemetry("gpu-0", Celsius(89));
  EXPECT_TRUE(tracker.Get("gpu-0").healthy);
  tracker.OnTelemetry("gpu-0", Celsius(90));
  EXPECT_EQ(tracker.Get("gpu-0").reason, HealthReason::kOverTemperature);
  clock_->Advance(minutes(10));
  tracker.OnTelemetry("gpu-0", Celsius(87));  // in the hysteresis band: still hot
  EXPECT_FALSE(tracker.Get("gpu-0").healthy);
  clock_->Advance(minutes(1));
  tracker.OnTelemetry("gpu-0", Celsius(84));  // cooled, but the quiet period starts at 87's sample
  EXPECT_FALSE(tracker.Get("gpu-0").healthy);
  clock_->Advance(minutes(4));
  tracker.Reevaluate();
  EXPECT_TRUE(tracker.Get("gpu-0").healthy);
  // Staying hot counted one crossing, not one fault per sample.
  EXPECT_EQ(tracker.Get("gpu-0").faults[HealthReason::kOverTemperature], 1u);
}

TEST_F(DeviceHealthTrackerTest, OverTemperatureCheckCanBeTurnedOff) {
  HealthPolicy policy;
  policy.over_temperature_celsius = 0;
  tracker_ = std::make_unique<DeviceHealthTracker>(policy, clock_);
  tracker_->SetInventory({"gpu-0"});
  tracker_->OnTelemetry("gpu-0", Celsius(120));
  EXPECT_TRUE(tracker_->Get("gpu-0").healthy);
}

TEST_F(DeviceHealthTrackerTest, LostDeviceStaysUnhealthyUntilSeenAgainThenServesAQuietPeriod) {
  auto& tracker = Tracker();
  tracker.OnEvent({"gpu-1", HealthEvent::Kind::kDeviceLost, 79, "fell off the bus"});
  clock_->Advance(std::chrono::hours(2));
  tracker.Reevaluate();
  EXPECT_FALSE(tracker.Get("gpu-1").healthy);
  EXPECT_EQ(tracker.Get("gpu-1").reason, HealthReason::kDeviceLost);

  tracker.SetInventory({"gpu-0", "gpu-1"});  // back on the bus
  EXPECT_FALSE(tracker.Get("gpu-1").healthy);
  clock_->Advance(minutes(5));
  tracker.Reevaluate();
  EXPECT_TRUE(tracker.Get("gpu-1").healthy);
}

TEST_F(DeviceHealthTrackerTest, DeviceMissingFromInventoryIsLost) {
  auto& tracker = Tracker();
  tracker.SetInventory({"gpu-0"});
  EXPECT_EQ(tracker.Get("gpu-1").reason, HealthReason::kDeviceLost);
  clock_->Advance(minutes(30));
  tracker.Reevaluate();
  EXPECT_FALSE(tracker.Get("gpu-1").healthy);
}

TEST_F(DeviceHealthTrackerTest, SubscribersHearEachTransitionOnceAndVersionCounts) {
  auto& tracker = Tracker();
  std::vector<std::pair<std::string, bool>> heard;
  const int subscription =
      tracker.Subscribe([&](const std::string& uuid, const DeviceHealth& health) {
        heard.emplace_back(uuid, health.healthy);
      });
  const uint64_t version = tracker.version();
  tracker.OnEvent(Xid(79));
  tracker.OnEvent(Xid(94));  // already unhealthy: no transition
  clock_->Advance(minutes(5));
  tracker.Reevaluate();
  ASSERT_EQ(heard.size(), 2u);
  EXPECT_EQ(heard[0], std::make_pair(std::string("gpu-0"), false));
  EXPECT_EQ(heard[1], std::make_pair(std::string("gpu-0"), true));
  EXPECT_EQ(tracker.version(), version + 2);

  tracker.Unsubscribe(subscription);
  tracker.OnEvent(Xid(79));
  EXPECT_EQ(heard.size(), 2u);
  EXPECT_EQ(tracker.version(), version + 3);
}

TEST_F(DeviceHealthTrackerTest, SnapshotHasEveryTrackedDevice) {
  auto& tracker = Tracker();
  tracker.OnEvent(Xid(79, "gpu-1"));
  auto snapshot = tracker.Snapshot();
  ASSERT_EQ(snapshot.size(), 2u);
  EXPECT_TRUE(snapshot["gpu-0"].healthy);
  EXPECT_FALSE(snapshot["gpu-1"].healthy);
}

}  // namespace
}  // namespace zhisuan::agent
