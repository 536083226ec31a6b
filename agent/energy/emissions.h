#pragma once
// Emissions as a counter of grams, built the only way that stays true when the intensity moves:
// each sample adds the energy used since the previous sample times the intensity valid now,
// sum(dE x I(t)), never the total energy times today's intensity. Energy comes from the device's
// own counter where it has one (NVML total energy, amdgpu's hwmon energy1_input) and from power
// integrated over time where it does not (DCMI, hwmon without an energy counter).

#include <array>
#include <optional>
#include <string_view>

#include "agent/device.h"
#include "common/clock.h"

namespace zhisuan::agent {

// Where an interval's energy came from: the `energy_source` label.
enum class EnergySource { kCounter = 0, kIntegratedPower = 1 };
inline constexpr std::array<EnergySource, 2> kEnergySources = {EnergySource::kCounter,
                                                               EnergySource::kIntegratedPower};
std::string_view EnergySourceName(EnergySource source);  // "counter", "integrated_power"

// The energy one device used between two samples, and where the figure came from.
struct EnergyInterval {
  double joules = 0;
  double seconds = 0;
  EnergySource source = EnergySource::kCounter;
};

// One device's running emissions. An interval counts only with a reading at both ends from the same
// source and a known intensity; otherwise it is skipped, not counted as 0: the readings still
// advance, so the skipped energy never lands on a later interval's intensity. A counter that went
// backwards (driver reload, reset, wrap) gives no interval. Not thread-safe; the sampler owns it.
class DeviceEmissions {
 public:
  // One sample: the device's telemetry at `at`, and the intensity valid now in gCO2e/kWh
  // (nullopt: unknown). Returns the interval's energy whether or not the intensity is known
  // (nullopt when the sample gave no interval), for the node's average power (average_power.h).
  std::optional<EnergyInterval> Observe(const DeviceTelemetry& telemetry, SteadyTime at,
                                        std::optional<double> grams_per_kwh);
  // Grams counted from that source so far; nullopt until an interval from it was counted.
  std::optional<double> grams(EnergySource source) const {
    return grams_[static_cast<size_t>(source)];
  }

 private:
  std::optional<double> last_energy_joules_;
  std::optional<double> last_power_watts_;
  std::optional<SteadyTime> last_at_;
  std::array<std::optional<double>, 2> grams_;
};

}  // namespace zhisuan::agent
