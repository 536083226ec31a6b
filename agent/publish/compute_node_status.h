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
// True (StandInsInUse) when discovery or a probe read a stand-in (a fake vendor library, a fixture
// tree); the message names them. False (RealHardware) otherwise.
inline constexpr std::string_view kConditionSimulatedHardware = "SimulatedHardware";
// True (MeasuredAbovePeak) when an accelerator measured more than kSuspectPeakRatio x its peak at
// some precision: the peak is wrong; the message names device, precision, measured and peak.
// False: WithinPeak, or NotMeasured when no measurement has a peak to compare with.
inline constexpr std::string_view kConditionPeakFlopsSuspect = "PeakFlopsSuspect";

// Builds the status:
//   - accelerators in (vendor, index) order, health from `live_health` when it has the device
//     (the tracker's current view, fresher than the snapshot), else from the snapshot;
//   - node peak FLOPS = sum of the accelerators' peaks; measured FLOPS = sum of the successful
//     accelerator measurements (the CPU probe is not part of the node's accelerator compute);
//   - powerCapacityWatts = sum of the accelerators' power limits;
//   - the energy profile, an unknown carbon figure left out; the accelerators' average power
//     (AgentState::accelerator_average_power, whole watts) and its source when known;
//     agentVersion = ZHISUAN_VERSION;
//   - per accelerator, its measured FLOPS and their source (hardware, simulated); the node's
//     measured source is simulated when any measurement in its total is;
//   - conditions Discovered, AcceleratorsHealthy, CarbonKnown, SimulatedHardware and
//     PeakFlopsSuspect, stamped `now` (the planner keeps
//     the server's lastTransitionTime when a condition's status did not change).
api::ComputeNodeStatus BuildComputeNodeStatus(
    const AgentState& state, const std::map<std::string, DeviceHealth>* live_health, WallTime now);

}  // namespace zhisuan::agent
