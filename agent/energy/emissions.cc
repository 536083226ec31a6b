#include "agent/energy/emissions.h"

#include "agent/energy/energy_profile.h"

namespace zhisuan::agent {

std::string_view EnergySourceName(EnergySource source) {
  switch (source) {
    case EnergySource::kCounter:
      return "counter";
    case EnergySource::kIntegratedPower:
      return "integrated_power";
  }
  return "unknown";
}

std::optional<EnergyInterval> DeviceEmissions::Observe(const DeviceTelemetry& telemetry,
                                                       SteadyTime at,
                                                       std::optional<double> grams_per_kwh) {
  std::optional<double> joules;
  std::optional<EnergySource> source;
  if (telemetry.energy_joules && last_energy_joules_) {
    // The counter wins where both ends have it: it sees every spike between samples.
    const double delta = *telemetry.energy_joules - *last_energy_joules_;
    source = EnergySource::kCounter;
    if (delta >= 0) joules = delta;  // negative: reset or wrap, an unknown amount
  } else if (telemetry.power_watts && last_power_watts_ && last_at_ && at > *last_at_) {
    // Trapezoid over the interval: the mean of the two readings times its length.
    const double seconds = std::chrono::duration<double>(at - *last_at_).count();
    source = EnergySource::kIntegratedPower;
    joules = (*telemetry.power_watts + *last_power_watts_) / 2 * seconds;
  }
  if (source && joules && grams_per_kwh) {
    auto& grams = grams_[static_cast<size_t>(*source)];
    // Multiply before dividing, as EmissionsGramsPerSecond does: 1 kWh at 360 g/kWh is 360 g.
    grams = grams.value_or(0) + *joules * *grams_per_kwh / kJoulesPerKwh;
  }
  std::optional<EnergyInterval> interval;
  if (source && joules && last_at_ && at > *last_at_) {
    interval =
        EnergyInterval{*joules, std::chrono::duration<double>(at - *last_at_).count(), *source};
  }
  last_energy_joules_ = telemetry.energy_joules;
  last_power_watts_ = telemetry.power_watts;
  last_at_ = at;
  return interval;
}

}  // namespace zhisuan::agent
