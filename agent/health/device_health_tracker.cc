#include "agent/health/device_health_tracker.h"

#include <algorithm>

#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::agent {

std::string_view HealthReasonName(HealthReason reason) {
  switch (reason) {
    case HealthReason::kNone:
      return "none";
    case HealthReason::kCriticalXid:
      return "xid";
    case HealthReason::kEccDoubleBit:
      return "ecc_double_bit";
    case HealthReason::kDeviceLost:
      return "device_lost";
    case HealthReason::kOverTemperature:
      return "over_temperature";
    case HealthReason::kVendorHealthCode:
      return "vendor_health_code";
  }
  return "none";
}

DeviceHealthTracker::DeviceHealthTracker(HealthPolicy policy, ClockPtr clock)
    : policy_(std::move(policy)), clock_(std::move(clock)) {}

void DeviceHealthTracker::SetInventory(const std::vector<std::string>& uuids) {
  std::vector<Change> changes;
  {
    std::lock_guard lock(mu_);
    for (const auto& uuid : uuids) {
      auto [it, inserted] = devices_.try_emplace(uuid);
      if (inserted) {
        it->second.health.since = clock_->WallNow();
      } else if (it->second.lost) {
        // Back again: the quiet period starts now, since a device that fell off the bus is
        // suspect until it has behaved for a while.
        it->second.lost = false;
        it->second.last_fault = clock_->Now();
        ZLOG(Info) << "device " << uuid << " seen again";
      }
    }
    for (auto& [uuid, tracked] : devices_) {
      if (tracked.lost || std::find(uuids.begin(), uuids.end(), uuid) != uuids.end()) continue;
      tracked.lost = true;
      RecordFault(uuid, tracked, HealthReason::kDeviceLost, 0, "device missing from discovery",
                  changes);
    }
    for (auto& [uuid, tracked] : devices_) MaybeRecover(uuid, tracked, changes);
  }
  Announce(changes);
}

void DeviceHealthTracker::OnEvent(const HealthEvent& event) {
  std::vector<Change> changes;
  {
    std::lock_guard lock(mu_);
    auto [it, inserted] = devices_.try_emplace(event.uuid);
    Tracked& tracked = it->second;
    if (inserted) tracked.health.since = clock_->WallNow();
    switch (event.kind) {
      case HealthEvent::Kind::kXid:
        if (policy_.ignored_xids.contains(event.code)) {
          ++tracked.health.ignored_events;
          break;
        }
        RecordFault(event.uuid, tracked, HealthReason::kCriticalXid, event.code, event.detail,
                    changes);
        break;
      case HealthEvent::Kind::kEccDoubleBit:
        RecordFault(event.uuid, tracked, HealthReason::kEccDoubleBit, event.code, event.detail,
                    changes);
        break;
      case HealthEvent::Kind::kDeviceLost:
        tracked.lost = true;
        RecordFault(event.uuid, tracked, HealthReason::kDeviceLost, event.code, event.detail,
                    changes);
        break;
      case HealthEvent::Kind::kOverTemperature:
        RecordFault(event.uuid, tracked, HealthReason::kOverTemperature, event.code, event.detail,
                    changes);
        break;
      case HealthEvent::Kind::kVendorHealthCode:
        RecordFault(event.uuid, tracked, HealthReason::kVendorHealthCode, event.code, event.detail,
                    changes);
        break;
    }
  }
  Announce(changes);
}

void DeviceHealthTracker::OnTelemetry(const std::string& uuid, const DeviceTelemetry& telemetry) {
  if (!telemetry.temperature_celsius || policy_.over_temperature_celsius <= 0) return;
  const double celsius = *telemetry.temperature_celsius;
  std::vector<Change> changes;
  {
    std::lock_guard lock(mu_);
    auto it = devices_.find(uuid);
    if (it == devices_.end()) return;
    Tracked& tracked = it->second;
    if (celsius >= policy_.over_temperature_celsius) {
      // Only the crossing counts as a new fault; staying hot keeps the quiet period from starting.
      if (!tracked.over_temperature) {
        tracked.over_temperature = true;
        RecordFault(uuid, tracked, HealthReason::kOverTemperature, 0,
                    StrCat(celsius, " C >= ", policy_.over_temperature_celsius, " C"), changes);
      } else {
        tracked.last_fault = clock_->Now();
      }
    } else if (tracked.over_temperature) {
      if (celsius < policy_.over_temperature_celsius - policy_.temperature_hysteresis_celsius) {
        tracked.over_temperature = false;
      } else {
        tracked.last_fault = clock_->Now();  // in the hysteresis band: still counts as hot
      }
    }
    MaybeRecover(uuid, tracked, changes);
  }
  Announce(changes);
}

void DeviceHealthTracker::Reevaluate() {
  std::vector<Change> changes;
  {
    std::lock_guard lock(mu_);
    for (auto& [uuid, tracked] : devices_) MaybeRecover(uuid, tracked, changes);
  }
  Announce(changes);
}

DeviceHealth DeviceHealthTracker::Get(const std::string& uuid) const {
  std::lock_guard lock(mu_);
  auto it = devices_.find(uuid);
  return it == devices_.end() ? DeviceHealth{} : it->second.health;
}

std::map<std::string, DeviceHealth> DeviceHealthTracker::Snapshot() const {
  std::lock_guard lock(mu_);
  std::map<std::string, DeviceHealth> snapshot;
  for (const auto& [uuid, tracked] : devices_) snapshot.emplace(uuid, tracked.health);
  return snapshot;
}

uint64_t DeviceHealthTracker::version() const {
  std::lock_guard lock(mu_);
  return version_;
}

int DeviceHealthTracker::Subscribe(Listener listener) {
  std::lock_guard lock(mu_);
  const int id = next_subscription_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void DeviceHealthTracker::Unsubscribe(int subscription) {
  std::lock_guard lock(mu_);
  listeners_.erase(subscription);
}

void DeviceHealthTracker::RecordFault(const std::string& uuid, Tracked& tracked,
                                      HealthReason reason, uint64_t code, std::string detail,
                                      std::vector<Change>& changes) {
  tracked.last_fault = clock_->Now();
  ++tracked.health.faults[reason];
  const bool was_healthy = tracked.health.healthy;
  tracked.health.healthy = false;
  tracked.health.reason = reason;
  tracked.health.code = code;
  tracked.health.detail = std::move(detail);
  if (was_healthy) {
    tracked.health.since = clock_->WallNow();
    ++version_;
    ZLOG(Warning) << "device " << uuid << " unhealthy: " << HealthReasonName(reason)
                  << (code != 0 ? StrCat(" ", code) : std::string()) << " "
                  << tracked.health.detail;
    changes.emplace_back(uuid, tracked.health);
  }
}

void DeviceHealthTracker::MaybeRecover(const std::string& uuid, Tracked& tracked,
                                       std::vector<Change>& changes) {
  if (tracked.health.healthy || tracked.lost || tracked.over_temperature) return;
  if (clock_->Now() - tracked.last_fault < policy_.quiet_period) return;
  tracked.health.healthy = true;
  tracked.health.reason = HealthReason::kNone;
  tracked.health.code = 0;
  tracked.health.detail.clear();
  tracked.health.since = clock_->WallNow();
  ++version_;
  ZLOG(Info) << "device " << uuid << " healthy again after a quiet period of "
             << policy_.quiet_period.count() << "s";
  changes.emplace_back(uuid, tracked.health);
}

void DeviceHealthTracker::Announce(const std::vector<Change>& changes) {
  if (changes.empty()) return;
  std::vector<Listener> listeners;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, listener] : listeners_) listeners.push_back(listener);
  }
  for (const auto& [uuid, health] : changes) {
    for (const auto& listener : listeners) listener(uuid, health);
  }
}

}  // namespace zhisuan::agent
