#include "agent/agent_state.h"

namespace zhisuan::agent {

FlopsByPrecision AgentState::AcceleratorPeakTotal() const {
  FlopsByPrecision total{};
  for (const auto& device : devices) total = AddFlops(total, device.peak.flops);
  return total;
}

double AgentState::AcceleratorPowerWatts() const {
  double watts = 0;
  for (const auto& device : devices) watts += device.telemetry.power_watts.value_or(0);
  return watts;
}

}  // namespace zhisuan::agent
