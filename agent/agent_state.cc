#include "agent/agent_state.h"

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

}  // namespace zhisuan::agent
