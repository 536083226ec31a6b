// Emissions per device as a counter of grams CO2e: each sample adds the energy since the previous
// sample times the intensity valid then (agent/energy/emissions.h), so increase() over any window
// is that window's emissions even when the intensity moved. energy_source says where the energy
// came from: the device's counter, or its power integrated between samples. No series while the
// intensity is unknown (no profile, an incomplete one, or an expired feed): such intervals are
// skipped, not counted as 0, and the series resumes from where it stopped once the intensity is
// known again, so increase() over a window with gaps undercounts; zhisuan_energy_carbon_known
// shows the gaps.
#include "agent/metrics/collector.h"

namespace zhisuan::agent {
namespace {

class EmissionsCollector final : public MetricsCollector {
 public:
  std::string_view Name() const override { return "emissions"; }
  Status Collect(const AgentState& state, MetricFamilies& out) const override {
    auto& grams = AddCounterFamily(out, "zhisuan_device_emissions_grams_total",
                                   "Emissions of the device's energy in gCO2e: the sum over "
                                   "samples of energy since the previous sample times the carbon "
                                   "intensity valid then. No series while the intensity is "
                                   "unknown.");
    if (!state.energy_profile.carbon_intensity_grams_per_kwh) return OkStatus();
    for (const auto& device : state.devices) {
      for (EnergySource source : kEnergySources) {
        if (auto total = device.emissions_grams[static_cast<size_t>(source)]) {
          AddSample(grams,
                    WithLabel(DeviceLabels(device.accelerator), "energy_source",
                              std::string(EnergySourceName(source))),
                    *total);
        }
      }
    }
    return OkStatus();
  }
};

}  // namespace

MetricsCollectorPtr MakeEmissionsCollector() { return std::make_unique<EmissionsCollector>(); }

}  // namespace zhisuan::agent
