// The node's energy profile and the emissions rate it implies for the accelerators' power draw.
// Base units: grams per joule for intensity (g/kWh / 3.6e6), grams per second for emissions, so
// emissions = zhisuan_node_accelerator_power_watts x intensity with no unit juggling in PromQL.
// A carbon figure the node does not know (no profile configured or fed) has no series, and neither
// has the emissions rate without an intensity: a 0 would read as perfectly clean.
// zhisuan_energy_carbon_known says so, always exported, so an alert can find such nodes.
#include "agent/metrics/collector.h"

namespace zhisuan::agent {
namespace {

class EnergyProfileCollector final : public MetricsCollector {
 public:
  std::string_view Name() const override { return "energy_profile"; }
  Status Collect(const AgentState& state, MetricFamilies& out) const override {
    const EnergyProfile& profile = state.energy_profile;
    auto& info = AddGaugeFamily(out, "zhisuan_energy_profile_info",
                                "Where the node's power comes from; always 1.");
    AddSample(info, {{"source", profile.source}, {"zone", profile.zone}}, 1);
    AddSample(AddGaugeFamily(out, "zhisuan_energy_carbon_known",
                             "1 when the node's carbon intensity and carbon-free ratio are both "
                             "known (configured or fed); 0 when either is unknown, and the "
                             "unknown one has no series."),
              {}, profile.CarbonKnown() ? 1 : 0);
    auto& intensity = AddGaugeFamily(out, "zhisuan_energy_carbon_intensity_grams_per_joule",
                                     "Carbon intensity of the node's power in gCO2e per joule "
                                     "(gCO2e/kWh divided by 3.6e6).");
    if (auto grams_per_joule = GramsPerJoule(profile)) AddSample(intensity, {}, *grams_per_joule);
    auto& ratio = AddGaugeFamily(out, "zhisuan_energy_carbon_free_ratio",
                                 "Fraction of the node's power from carbon-free sources.");
    if (profile.carbon_free_ratio) AddSample(ratio, {}, *profile.carbon_free_ratio);
    const double watts = state.AcceleratorPowerWatts();
    AddSample(AddGaugeFamily(out, "zhisuan_node_accelerator_power_watts",
                             "Sum of the accelerators' power draw."),
              {}, watts);
    auto& emissions =
        AddGaugeFamily(out, "zhisuan_node_accelerator_carbon_emissions_grams_per_second",
                       "Accelerator power times carbon intensity, gCO2e per second.");
    if (auto rate = EmissionsGramsPerSecond(watts, profile)) AddSample(emissions, {}, *rate);
    if (!state.energy_profile_ok) return UnavailableError("energy profile file rejected");
    return OkStatus();
  }
};

}  // namespace

MetricsCollectorPtr MakeEnergyProfileCollector() {
  return std::make_unique<EnergyProfileCollector>();
}

}  // namespace zhisuan::agent
