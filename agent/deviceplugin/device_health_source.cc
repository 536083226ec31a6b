#include "agent/deviceplugin/device_health_source.h"

#include "agent/health/health_text.h"

namespace zhisuan::agent {
namespace {

class TrackerSource final : public DeviceHealthSource {
 public:
  explicit TrackerSource(DeviceHealthTracker& tracker) : tracker_(tracker) {}

  std::map<std::string, std::string> Unhealthy() const override {
    std::map<std::string, std::string> unhealthy;
    for (const auto& [uuid, health] : tracker_.Snapshot()) {
      if (!health.healthy) unhealthy[uuid] = DescribeHealth(health);
    }
    return unhealthy;
  }
  int Subscribe(std::function<void()> on_change) override {
    return tracker_.Subscribe([on_change = std::move(on_change)](
                                  const std::string&, const DeviceHealth&) { on_change(); });
  }
  void Unsubscribe(int subscription) override { tracker_.Unsubscribe(subscription); }

 private:
  DeviceHealthTracker& tracker_;
};

}  // namespace

std::unique_ptr<DeviceHealthSource> TrackerHealthSource(DeviceHealthTracker& tracker) {
  return std::make_unique<TrackerSource>(tracker);
}

}  // namespace zhisuan::agent
