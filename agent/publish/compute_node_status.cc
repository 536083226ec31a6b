#include "agent/publish/compute_node_status.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "agent/health/health_text.h"
#include "common/strings.h"

namespace zhisuan::agent {
namespace {

int64_t UnixSeconds(WallTime time) {
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

api::Condition MakeCondition(std::string_view type, bool status, std::string reason,
                             std::string message, WallTime now) {
  api::Condition condition;
  condition.type = std::string(type);
  condition.status = status ? "True" : "False";
  condition.reason = std::move(reason);
  condition.message = std::move(message);
  condition.last_transition_time = api::FormatRfc3339(UnixSeconds(now));
  return condition;
}

// Says whether the carbon figures are known, and what an unknown one costs the node, so an
// operator reading the ComputeNode learns why carbon-policy pools pass it over.
api::Condition CarbonKnownCondition(const AgentState& state, WallTime now) {
  const EnergyProfile& profile = state.energy_profile;
  if (state.energy_feed_expired) {
    // The expiry time is in the message, and it changes only when the feed does.
    const std::string until = state.energy_feed_valid_until
                                  ? api::FormatRfc3339(UnixSeconds(*state.energy_feed_valid_until))
                                  : std::string("its validity");
    return MakeCondition(
        kConditionCarbonKnown, false, "FeedExpired",
        StrCat("the energy feed's carbon figures expired at ", until,
               " (validUntil, else its timestamp plus --energy-feed-max-age): status.energy leaves "
               "them out, and pools with a carbon policy do not admit this node until the feed "
               "is refreshed"),
        now);
  }
  if (profile.CarbonKnown()) {
    return MakeCondition(kConditionCarbonKnown, true, "EnergyProfileKnown",
                         "carbon intensity and carbon-free ratio are known", now);
  }
  const bool none = !profile.carbon_intensity_grams_per_kwh && !profile.carbon_free_ratio;
  return MakeCondition(
      kConditionCarbonKnown, false, none ? "NoEnergyProfile" : "IncompleteEnergyProfile",
      StrCat("no ", UnknownCarbonFigures(profile),
             " configured or fed to the agent: status.energy leaves ", none ? "them" : "it",
             " out, and pools with a carbon policy on ", none ? "them" : "it",
             " do not admit this node; set the agent's energy profile (energyProfile in its "
             "config file, --energy-profile-file, or the chart's agent.energyProfile)"),
      now);
}

// Names every stand-in behind the snapshot, so nobody reads a demo's or a test's figures as a
// node's. The names are stable (library markers, tree names), so the condition does not churn.
api::Condition SimulatedHardwareCondition(const AgentState& state, WallTime now) {
  const std::vector<StandIn> stand_ins = state.AllStandIns();
  if (stand_ins.empty()) {
    return MakeCondition(kConditionSimulatedHardware, false, "RealHardware",
                         "no stand-in vendor library or fixture tree in use", now);
  }
  std::vector<std::string> names;
  names.reserve(stand_ins.size());
  for (const StandIn& stand_in : stand_ins) {
    names.push_back(StrCat(stand_in.name, " (", stand_in.source, ")"));
  }
  return MakeCondition(
      kConditionSimulatedHardware, true, "StandInsInUse",
      StrCat("the agent reads stand-ins, not hardware: ", StrJoin(names, ", "),
             "; what they report is simulated, and measured FLOPS from them say source simulated"),
      now);
}

std::string Teraflops(double flops) {
  char text[32];
  std::snprintf(text, sizeof text, "%.0f TFLOP/s", flops / 1e12);
  return text;
}

// A probe that beats the peak by more than kSuspectPeakRatio shows the peak (its table entry or
// formula) to be wrong, not the device to be fast: say which, so nobody reads it as "met".
api::Condition PeakFlopsSuspectCondition(const AgentState& state,
                                         const std::vector<const DeviceState*>& devices,
                                         WallTime now) {
  std::vector<std::string> suspects;
  bool compared = false;
  for (const DeviceState* device : devices) {
    for (const auto& m : state.measured_flops) {
      if (m.target != device->accelerator.pci_bus_id || !m.status.ok()) continue;
      const double peak = device->peak.flops[static_cast<size_t>(m.precision)];
      if (peak <= 0) continue;
      compared = true;
      if (!PeakLooksSuspect(m.flops, peak)) continue;
      suspects.push_back(StrCat(device->accelerator.uuid, " (", device->accelerator.product, ") ",
                                PrecisionName(m.precision), ": measured ", Teraflops(m.flops),
                                m.stand_in.empty() ? "" : " (simulated)", " vs peak ",
                                Teraflops(peak)));
    }
  }
  if (!suspects.empty()) {
    return MakeCondition(
        kConditionPeakFlopsSuspect, true, "MeasuredAbovePeak",
        StrCat("measured FLOPS exceed 1.05 x the peak, so the peak figure is wrong: ",
               StrJoin(suspects, "; ")),
        now);
  }
  if (!compared) {
    return MakeCondition(kConditionPeakFlopsSuspect, false, "NotMeasured",
                         "no accelerator measurement to compare with a peak", now);
  }
  return MakeCondition(kConditionPeakFlopsSuspect, false, "WithinPeak",
                       "every accelerator measurement is within 1.05 x its peak", now);
}

}  // namespace

api::ComputeNodeStatus BuildComputeNodeStatus(
    const AgentState& state, const std::map<std::string, DeviceHealth>* live_health, WallTime now) {
  api::ComputeNodeStatus status;
  status.agent_version = ZHISUAN_VERSION;

  std::vector<const DeviceState*> devices;
  for (const auto& device : state.devices) devices.push_back(&device);
  std::stable_sort(devices.begin(), devices.end(), [](const DeviceState* a, const DeviceState* b) {
    return std::pair(VendorName(a->accelerator.vendor), a->accelerator.index) <
           std::pair(VendorName(b->accelerator.vendor), b->accelerator.index);
  });

  double power_capacity = 0;
  std::vector<std::string> unhealthy;
  for (const DeviceState* device : devices) {
    const Accelerator& accelerator = device->accelerator;
    DeviceHealth health = device->health;
    if (live_health != nullptr) {
      if (auto it = live_health->find(accelerator.uuid); it != live_health->end()) {
        health = it->second;
      }
    }
    api::AcceleratorStatus entry;
    entry.index = accelerator.index;
    entry.uuid = accelerator.uuid;
    entry.vendor = std::string(VendorName(accelerator.vendor));
    entry.product = accelerator.product;
    entry.pci_bus_id = accelerator.pci_bus_id;
    entry.memory_bytes = static_cast<int64_t>(accelerator.memory_bytes);
    entry.numa_node = accelerator.numa_node;
    entry.healthy = health.healthy;
    entry.reason = DescribeHealth(health);
    entry.peak_flops = device->peak.flops;
    for (const auto& m : state.measured_flops) {
      if (m.target != accelerator.pci_bus_id || !m.status.ok() || m.flops <= 0) continue;
      At(entry.measured_flops, m.precision) = m.flops;
      // One simulated figure makes the entry's figures simulated.
      if (entry.measured_flops_source != api::kMeasurementSourceSimulated) {
        entry.measured_flops_source = std::string(m.Source());
      }
    }
    status.peak_flops = AddFlops(status.peak_flops, entry.peak_flops);
    power_capacity += device->telemetry.power_limit_watts.value_or(0);
    if (!entry.healthy) unhealthy.push_back(entry.uuid);
    status.accelerators.push_back(std::move(entry));
  }
  for (const auto& measurement : state.measured_flops) {
    if (measurement.target == "cpu" || !measurement.status.ok() || measurement.flops <= 0) continue;
    At(status.measured_flops, measurement.precision) += measurement.flops;
    if (status.measured_flops_source != api::kMeasurementSourceSimulated) {
      status.measured_flops_source = std::string(measurement.Source());
    }
  }
  status.power_capacity_watts = static_cast<int64_t>(std::llround(power_capacity));
  status.energy.source = state.energy_profile.source;
  status.energy.zone = state.energy_profile.zone;
  status.energy.carbon_intensity = state.energy_profile.carbon_intensity_grams_per_kwh;
  status.energy.carbon_free_ratio = state.energy_profile.carbon_free_ratio;
  if (const auto& average = state.accelerator_average_power.figure) {
    // Whole watts: finer digits are noise, and the publish threshold decides what is news.
    status.energy.average_power_watts = std::round(average->watts);
    status.energy.average_power_source = std::string(average->source);
  }

  // Messages carry only stable facts (counts, backend names, uuids) so that an unchanged node
  // produces an unchanged condition and therefore no write.
  std::vector<std::string> failed_backends;
  for (const auto& result : state.backend_results) {
    if (!result.status.ok()) failed_backends.push_back(result.backend);
  }
  const size_t count = status.accelerators.size();
  if (count > 0) {
    status.conditions.push_back(
        MakeCondition(kConditionDiscovered, true, "AcceleratorsFound",
                      StrCat("found ", count, " accelerator", count == 1 ? "" : "s"), now));
  } else {
    status.conditions.push_back(MakeCondition(
        kConditionDiscovered, false, "NoAccelerators",
        failed_backends.empty() ? std::string("no accelerators found")
                                : StrCat("no accelerators found; backends without results: ",
                                         StrJoin(failed_backends, ", ")),
        now));
  }
  if (unhealthy.empty()) {
    status.conditions.push_back(MakeCondition(kConditionAcceleratorsHealthy, true, "AllHealthy",
                                              StrCat(count, " of ", count, " healthy"), now));
  } else {
    status.conditions.push_back(MakeCondition(
        kConditionAcceleratorsHealthy, false, "AcceleratorsUnhealthy",
        StrCat(unhealthy.size(), " of ", count, " unhealthy: ", StrJoin(unhealthy, ", ")), now));
  }
  status.conditions.push_back(CarbonKnownCondition(state, now));
  status.conditions.push_back(SimulatedHardwareCondition(state, now));
  status.conditions.push_back(PeakFlopsSuspectCondition(state, devices, now));
  return status;
}

}  // namespace zhisuan::agent
