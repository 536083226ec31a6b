#pragma once
// A node's accelerator energy as one slowly-changing figure: the average power over a trailing
// window (an hour by default). The controller weights each pool member's carbon figures by it
// (docs/controller.md, Carbon figures), and because an hour's average moves slowly the agent
// republishes it only when it moves by more than a set fraction (PublishPolicy), never on a timer.
// The energy is what the emissions counter counts (emissions.h): the device's own energy counter
// where it has one, integrated power where it does not, and the figure says which.

#include <chrono>
#include <deque>
#include <optional>
#include <string_view>
#include <vector>

#include "agent/energy/emissions.h"
#include "common/clock.h"

namespace zhisuan::agent {

inline constexpr std::chrono::seconds kDefaultAveragePowerWindow = std::chrono::hours(1);

// Where a node's average came from: EnergySourceName of the one source every interval used, or
// this when the window holds intervals from both (one device with a counter, one without).
inline constexpr std::string_view kMixedEnergySources = "mixed";

struct AveragePower {
  double watts = 0;
  std::string_view source;  // "counter", "integrated_power" or kMixedEnergySources

  friend bool operator==(const AveragePower&, const AveragePower&) = default;
};

// What is known now. `pending`: no figure yet only because the window has not been observed for
// its full length (the agent just started), so a figure published before the restart still
// stands; once the window has run that long without enough energy readings, the figure is unknown.
struct AveragePowerReading {
  std::optional<AveragePower> figure;
  bool pending = false;
};

// One device's energy over the trailing window. A figure needs intervals covering at least a
// twelfth of the window (5 minutes of an hour), so the first few samples after a start, which
// would swing the average, are not published. Intervals the sample could not measure (no reading,
// a counter reset) leave a gap rather than counting as 0 W. Not thread-safe; the sampler owns it.
class AveragePowerWindow {
 public:
  explicit AveragePowerWindow(std::chrono::seconds window = kDefaultAveragePowerWindow);

  // One sample at `at`; `interval` is the energy since the previous sample (nullopt: none).
  void Observe(SteadyTime at, const std::optional<EnergyInterval>& interval);
  AveragePowerReading Reading() const;

 private:
  struct Entry {
    SteadyTime end;
    EnergyInterval interval;
  };
  std::chrono::seconds window_;  // not const: a restarted agent's window replaces the old one
  std::optional<SteadyTime> first_seen_;
  SteadyTime last_seen_{};
  std::deque<Entry> entries_;
};

// The node's figure from its devices': their sum when every device has one (a partial sum would
// understate the node), else none; pending when a device without one is. No devices: none.
AveragePowerReading NodeAveragePower(const std::vector<AveragePowerReading>& devices);

}  // namespace zhisuan::agent
