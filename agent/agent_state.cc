#include "agent/agent_state.h"

#include <algorithm>

namespace zhisuan::agent {

FlopsByPrecision AgentState::AcceleratorPeakTotal() const {
  FlopsByPrecision total{};
  for (const auto& device : devices) total = AddFlops(total, device.peak.flops);
  return total;
}

std::optional<double> AgentState::AcceleratorPowerWatts() const {
  double watts = 0;
  for (const auto& device : devices) {
    if (!device.telemetry.power_watts) return std::nullopt;
    watts += *device.telemetry.power_watts;
  }
  return watts;
}

std::vector<StandIn> AgentState::AllStandIns() const {
  std::vector<StandIn> all;
  for (std::string_view source : kStandInSources) {
    for (const StandIn& stand_in : stand_ins) {
      if (stand_in.source == source) all.push_back(stand_in);
    }
    if (source != "cuda") continue;
    for (const FlopsMeasurement& measurement : measured_flops) {
      if (measurement.target == "cpu" || measurement.stand_in.empty()) continue;
      StandIn from_probe{.source = "cuda", .name = measurement.stand_in};
      if (std::find(all.begin(), all.end(), from_probe) == all.end()) all.push_back(from_probe);
    }
  }
  return all;
}

}  // namespace zhisuan::agent
