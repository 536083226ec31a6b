#pragma once
// What the device plugin needs to know about health: which devices are unhealthy now, and a nudge
// when that changes. An interface so the plugin does not depend on how health is decided, and so
// tests can drive it; TrackerHealthSource adapts the agent's DeviceHealthTracker.

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "agent/health/device_health_tracker.h"

namespace zhisuan::agent {

class DeviceHealthSource {
 public:
  virtual ~DeviceHealthSource() = default;
  // Unhealthy devices: UUID -> why. Devices not listed are healthy.
  virtual std::map<std::string, std::string> Unhealthy() const = 0;
  // `on_change` runs (on the notifier's thread) after any device's health changed.
  virtual int Subscribe(std::function<void()> on_change) = 0;
  virtual void Unsubscribe(int subscription) = 0;
};

// Reads and subscribes to `tracker`, which must outlive the adapter.
std::unique_ptr<DeviceHealthSource> TrackerHealthSource(DeviceHealthTracker& tracker);

}  // namespace zhisuan::agent
