#include "agent/health/health_text.h"

#include "common/strings.h"

namespace zhisuan::agent {
namespace {

constexpr size_t kMaxReasonLength = 256;

std::string WithDetail(std::string text, const std::string& detail) {
  if (!detail.empty()) text = StrCat(text, " (", detail, ")");
  return text;
}

std::string ReasonText(const DeviceHealth& health) {
  switch (health.reason) {
    case HealthReason::kCriticalXid:
      return WithDetail(StrCat("Xid ", health.code), health.detail);
    case HealthReason::kEccDoubleBit:
      return WithDetail("double-bit ECC error", health.detail);
    case HealthReason::kDeviceLost:
      return WithDetail("device lost", health.detail);
    case HealthReason::kOverTemperature:
      return WithDetail("over temperature", health.detail);
    case HealthReason::kVendorHealthCode:
      return WithDetail(StrCat("vendor health code ", health.code), health.detail);
    case HealthReason::kNone:
      break;
  }
  return WithDetail("unhealthy", health.detail);
}

}  // namespace

std::string DescribeHealth(const DeviceHealth& health) {
  if (health.healthy) return "";
  std::string text = ReasonText(health);
  if (text.size() > kMaxReasonLength) text.resize(kMaxReasonLength);
  return text;
}

}  // namespace zhisuan::agent
