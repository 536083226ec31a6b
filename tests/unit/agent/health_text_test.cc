#include "agent/health/health_text.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>

namespace zhisuan::agent {
namespace {

DeviceHealth Unhealthy(HealthReason reason, uint64_t code = 0, std::string detail = "") {
  DeviceHealth health;
  health.healthy = false;
  health.reason = reason;
  health.code = code;
  health.detail = std::move(detail);
  return health;
}

TEST(DescribeHealth, HealthyDevicesNeedNoReason) { EXPECT_EQ(DescribeHealth(DeviceHealth{}), ""); }

TEST(DescribeHealth, SaysWhyInOneLine) {
  EXPECT_EQ(DescribeHealth(Unhealthy(HealthReason::kCriticalXid, 79, "GPU has fallen off the bus")),
            "Xid 79 (GPU has fallen off the bus)");
  EXPECT_EQ(DescribeHealth(Unhealthy(HealthReason::kEccDoubleBit)), "double-bit ECC error");
  EXPECT_EQ(DescribeHealth(Unhealthy(HealthReason::kDeviceLost, 0, "missing")),
            "device lost (missing)");
  EXPECT_EQ(DescribeHealth(Unhealthy(HealthReason::kOverTemperature)), "over temperature");
  EXPECT_EQ(DescribeHealth(Unhealthy(HealthReason::kVendorHealthCode, 3)), "vendor health code 3");
  EXPECT_EQ(DescribeHealth(Unhealthy(HealthReason::kNone)), "unhealthy");
}

TEST(DescribeHealth, StaysWithinTheCrdLimit) {
  const std::string text =
      DescribeHealth(Unhealthy(HealthReason::kCriticalXid, 79, std::string(1000, 'x')));
  EXPECT_EQ(text.size(), 256u);
  EXPECT_EQ(text.substr(0, 8), "Xid 79 (");
}

}  // namespace
}  // namespace zhisuan::agent
