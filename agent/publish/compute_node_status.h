#pragma once
// What the agent wants its ComputeNode's status to say, derived from one AgentState snapshot.
// Pure: the snapshot and the time go in, the status comes out; the publisher decides whether it
// differs from what the server holds.

#include <map>
#include <string>

#include "agent/agent_state.h"
#include "api/compute_node.h"

namespace zhisuan::agent {

// Condition types the agent sets on its ComputeNode.
inline constexpr std::string_view kConditionDiscovered = "Discovered";
inline constexpr std::string_view kConditionAcceleratorsHealthy = "AcceleratorsHealthy";
// False (NoEnergyProfile, IncompleteEnergyProfile) while a carbon figure is unknown: the figure is
// then absent from status.energy, and pools with a carbon policy on it do not admit the node.
inline constexpr std::string_view kConditionCarbonKnown = "CarbonKnown";

// Builds the status:
//   - accelerators in (vendor, index) order, health from `live_health` when it has the device
//     (the tracker's current view, fresher than the snapshot), else from the snapshot;
//   - node peak FLOPS = sum of the accelerators' peaks; measured FLOPS = sum of the successful
//     accelerator measurements (the CPU probe is not part of the node's accelerator compute);
//   - powerCapacityWatts = sum of the accelerators' power limits;
//   - the energy profile, an unknown carbon figure left out; agentVersion = ZHISUAN_VERSION;
//   - conditions Discovered, AcceleratorsHealthy and CarbonKnown, stamped `now` (the planner keeps
//     the server's lastTransitionTime when a condition's status did not change).
api::ComputeNodeStatus BuildComputeNodeStatus(
    const AgentState& state, const std::map<std::string, DeviceHealth>* live_health, WallTime now);

}  // namespace zhisuan::agent
