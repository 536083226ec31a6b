// The node's energy profile and the emissions rate it implies for the accelerators' power draw.
// Base units: grams per joule for intensity (g/kWh / 3.6e6), grams per second for emissions, so
// emissions = zhisuan_node_accelerator_power_watts x intensity with no unit juggling in PromQL.
// A carbon figure the node does not know (no profile configured or fed) has no series, and neither
// has the emissions rate without an intensity: a 0 would read as perfectly clean.
// zhisuan_energy_carbon_known says so, always exported, so an alert can find such nodes.
// A fed profile has a validity (validUntil, else its timestamp plus --energy-feed-max-age); past it
// the figures are unknown again and zhisuan_energy_feed_expired is 1.
#include "agent/metrics/collector.h"

namespace zhisuan::agent {
namespace {

double UnixSeconds(WallTime time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

void AddFeedValidity(const AgentState& state, MetricFamilies& out) {
  auto& timestamp = AddGaugeFamily(out, "zhisuan_energy_feed_timestamp_seconds",
                                   "When the energy profile's figures were true (datetime, else "
                                   "updatedAt), Unix time. No series for a profile without one.");
  if (state.energy_profile.timestamp) {
    AddSample(timestamp, {}, UnixSeconds(*state.energy_profile.timestamp));
  }
  auto& valid_until = AddGaugeFamily(
      out, "zhisuan_energy_feed_valid_until_timestamp_seconds",
      "Until when the energy profile's carbon figures are trusted (validUntil, else timestamp "
      "plus --energy-feed-max-age), Unix time. No series for a static profile, which does not "
      "expire.");
  if (state.energy_feed_valid_until) {
    AddSample(valid_until, {}, UnixSeconds(*state.energy_feed_valid_until));
  }
  AddSample(AddGaugeFamily(out, "zhisuan_energy_feed_expired",
                           "1 when the energy profile's validity has passed, so its carbon "
                           "figures are unknown; 0 otherwise."),
            {}, state.energy_feed_expired ? 1 : 0);
}

class EnergyProfileCollector final : public MetricsCollector {
 public:
  std::string_view Name() const override { return "energy_profile"; }
  Status Collect(const AgentState& state, MetricFamilies& out) const override {
    const EnergyProfile& profile = state.energy_profile;
    auto& info = AddGaugeFamily(out, "zhisuan_energy_profile_info",
                                "Where the node's power comes from; always 1.");
    AddSample(info,
              {{"source", profile.source},
               {"zone", profile.zone},
               {"basis", profile.basis},
               {"emission_factor_type", profile.emission_factor_type}},
              1);
    AddFeedValidity(state, out);
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
    // No series when some accelerator reports no power: a partial sum, or a 0 W for a node whose
    // devices cannot tell, would understate the node.
    const std::optional<double> watts = state.AcceleratorPowerWatts();
    auto& power = AddGaugeFamily(out, "zhisuan_node_accelerator_power_watts",
                                 "Sum of the accelerators' power draw.");
    if (watts) AddSample(power, {}, *watts);
    auto& emissions =
        AddGaugeFamily(out, "zhisuan_node_accelerator_carbon_emissions_grams_per_second",
                       "Accelerator power times carbon intensity, gCO2e per second.");
    if (auto rate = watts ? EmissionsGramsPerSecond(*watts, profile) : std::nullopt) {
      AddSample(emissions, {}, *rate);
    }
    if (!state.energy_profile_ok) return UnavailableError("energy profile file rejected");
    return OkStatus();
  }
};

}  // namespace

MetricsCollectorPtr MakeEnergyProfileCollector() {
  return std::make_unique<EnergyProfileCollector>();
}

}  // namespace zhisuan::agent
