#pragma once
// Device health with hysteresis. Unlike NVIDIA's device plugin, which never marks a device Healthy
// again, a device recovers after a quiet period with no new fault; a flapping device restarts its
// quiet period on every fault, and a lost device stays Unhealthy until it is seen again. Pure
// logic: events and telemetry go in, time comes from an injected Clock.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/device.h"
#include "common/clock.h"

namespace zhisuan::agent {

struct HealthPolicy {
  // Application faults (NVIDIA's device plugin ignores the same set): they say nothing about
  // the device.
  std::set<uint64_t> ignored_xids = {13, 31, 43, 45, 68, 109};
  std::chrono::seconds quiet_period{300};
  // A sample at or above this is a fault; the condition clears only below threshold - hysteresis.
  double over_temperature_celsius = 95;
  double temperature_hysteresis_celsius = 5;
};

enum class HealthReason {
  kNone,
  kCriticalXid,
  kEccDoubleBit,
  kDeviceLost,
  kOverTemperature,
  kVendorHealthCode,
};
inline constexpr std::array<HealthReason, 5> kAllFaultReasons = {
    HealthReason::kCriticalXid, HealthReason::kEccDoubleBit, HealthReason::kDeviceLost,
    HealthReason::kOverTemperature, HealthReason::kVendorHealthCode};
// "none", "xid", "ecc_double_bit", "device_lost", "over_temperature", "vendor_health_code".
std::string_view HealthReasonName(HealthReason reason);

struct DeviceHealth {
  bool healthy = true;
  HealthReason reason = HealthReason::kNone;  // the latest fault while unhealthy
  uint64_t code = 0;                          // its Xid or vendor code
  std::string detail;
  WallTime since{};  // when the current state began
  // Faults counted per reason since the tracker started (ignored Xids are not faults).
  std::map<HealthReason, uint64_t> faults;
  uint64_t ignored_events = 0;
};

class DeviceHealthTracker {
 public:
  DeviceHealthTracker(HealthPolicy policy, ClockPtr clock);

  // Devices in the inventory. A tracked device absent from `uuids` is treated as lost; one that
  // reappears is seen again.
  void SetInventory(const std::vector<std::string>& uuids);
  void OnEvent(const HealthEvent& event);
  void OnTelemetry(const std::string& uuid, const DeviceTelemetry& telemetry);
  // Ends quiet periods that have run out; call on every sampler tick.
  void Reevaluate();

  DeviceHealth Get(const std::string& uuid) const;
  std::map<std::string, DeviceHealth> Snapshot() const;
  // Bumped on every state change, for consumers that poll (ListAndWatch can compare it).
  uint64_t version() const;

  // Called, outside the tracker's lock, after each Healthy<->Unhealthy change.
  using Listener = std::function<void(const std::string& uuid, const DeviceHealth& health)>;
  int Subscribe(Listener listener);
  void Unsubscribe(int subscription);

  const HealthPolicy& policy() const { return policy_; }

 private:
  struct Tracked {
    DeviceHealth health;
    SteadyTime last_fault{};
    bool lost = false;
    bool over_temperature = false;
  };
  using Change = std::pair<std::string, DeviceHealth>;

  // Each returns the change to announce, if any. Caller holds mu_.
  void RecordFault(const std::string& uuid, Tracked& tracked, HealthReason reason, uint64_t code,
                   std::string detail, std::vector<Change>& changes);
  void MaybeRecover(const std::string& uuid, Tracked& tracked, std::vector<Change>& changes);
  void Announce(const std::vector<Change>& changes);

  const HealthPolicy policy_;
  const ClockPtr clock_;
  mutable std::mutex mu_;
  std::map<std::string, Tracked> devices_;
  uint64_t version_ = 0;
  int next_subscription_ = 1;
  std::map<int, Listener> listeners_;
};

}  // namespace zhisuan::agent
