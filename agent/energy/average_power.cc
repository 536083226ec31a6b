#include "agent/energy/average_power.h"

#include <algorithm>
#include <array>

namespace zhisuan::agent {

AveragePowerWindow::AveragePowerWindow(std::chrono::seconds window) : window_(window) {}

void AveragePowerWindow::Observe(SteadyTime at, const std::optional<EnergyInterval>& interval) {
  if (!first_seen_) first_seen_ = at;
  last_seen_ = at;
  if (interval && interval->seconds > 0) entries_.push_back({at, *interval});
  while (!entries_.empty() && entries_.front().end <= at - window_) entries_.pop_front();
}

AveragePowerReading AveragePowerWindow::Reading() const {
  AveragePowerReading reading;
  double joules = 0, seconds = 0;
  std::array<bool, 2> sources = {false, false};  // by EnergySource
  for (const Entry& entry : entries_) {
    joules += entry.interval.joules;
    seconds += entry.interval.seconds;
    sources[static_cast<size_t>(entry.interval.source)] = true;
  }
  const double min_coverage = std::chrono::duration<double>(window_).count() / 12;
  if (seconds > 0 && seconds >= min_coverage) {
    const std::string_view source = sources[0] && sources[1] ? kMixedEnergySources
                                    : sources[0] ? EnergySourceName(EnergySource::kCounter)
                                                 : EnergySourceName(EnergySource::kIntegratedPower);
    reading.figure = AveragePower{joules / seconds, source};
  } else {
    reading.pending = first_seen_.has_value() && last_seen_ - *first_seen_ < window_;
  }
  return reading;
}

AveragePowerReading NodeAveragePower(const std::vector<AveragePowerReading>& devices) {
  AveragePowerReading node;
  if (devices.empty()) return node;
  AveragePower sum;
  for (const AveragePowerReading& device : devices) {
    if (!device.figure) {
      node.pending = node.pending || device.pending;
      continue;
    }
    sum.watts += device.figure->watts;
    if (sum.source.empty()) {
      sum.source = device.figure->source;
    } else if (sum.source != device.figure->source) {
      sum.source = kMixedEnergySources;
    }
  }
  const bool all_known =
      std::all_of(devices.begin(), devices.end(),
                  [](const AveragePowerReading& d) { return d.figure.has_value(); });
  if (all_known) {
    node.figure = sum;
    node.pending = false;
  }
  return node;
}

}  // namespace zhisuan::agent
