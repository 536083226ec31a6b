#pragma once
// AgentState: one immutable snapshot of everything the agent knows about its node, refreshed by
// the sampler and read without locks by whoever needs it: the /metrics collectors today, the
// ComputeNode publisher and the device plugin later. Readers hold a shared_ptr, so a snapshot
// stays valid however long a reader keeps it.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/device.h"
#include "agent/discovery/discovery.h"
#include "agent/energy/average_power.h"
#include "agent/energy/emissions.h"
#include "agent/energy/energy_profile.h"
#include "agent/flops/flops_probe.h"
#include "agent/flops/peak_flops_table.h"
#include "agent/health/device_health_tracker.h"
#include "common/clock.h"

namespace zhisuan::agent {

struct DeviceState {
  Accelerator accelerator;
  DeviceTelemetry telemetry;
  Status telemetry_status;  // why this sample is missing or partial
  DeviceHealth health;
  PeakFlops peak;
  // Grams CO2e counted so far, per EnergySource (index); nullopt until an interval was counted.
  std::array<std::optional<double>, 2> emissions_grams;
};

// Error counters by component; the set of components is fixed so the metric's labels are bounded.
inline constexpr std::array<std::string_view, 5> kErrorComponents = {
    "discovery", "telemetry", "energy_profile", "flops_probe", "http"};

struct AgentState {
  std::string node_name;
  bool ready = false;  // first discovery and first sample done
  std::vector<DeviceState> devices;
  CpuInfo cpu;
  PeakFlops cpu_peak;
  CpuPeakClock cpu_peak_clock;  // the clock cpu_peak is at: measured by the probe, else nominal
  std::vector<BackendResult> backend_results;
  std::vector<StandIn> stand_ins;  // discovery's stand-ins (NodeInventory::stand_ins)

  std::vector<FlopsMeasurement> measured_flops;
  std::vector<std::pair<std::string, Status>> flops_probe_status;
  uint64_t flops_probe_runs = 0;

  EnergyProfile energy_profile;  // validity applied: no carbon figures once the feed expired
  bool energy_profile_ok = true;
  std::optional<WallTime> energy_feed_valid_until;  // nullopt: a static profile, never expires
  bool energy_feed_expired = false;
  // The accelerators' average power over the sampler's window (average_power.h): the energy
  // figure the controller weights a pool's carbon figures by.
  AveragePowerReading accelerator_average_power;

  std::map<std::string, uint64_t, std::less<>> errors_total;  // component -> count
  uint64_t samples_total = 0;
  double sample_duration_seconds = 0;
  WallTime sampled_at{};

  // Sum over devices of each precision's peak.
  FlopsByPrecision AcceleratorPeakTotal() const;
  // Sum of device power; 0 without devices; unknown (nullopt) when some device reports no power,
  // since a partial sum would understate the node.
  std::optional<double> AcceleratorPowerWatts() const;
  // Every stand-in behind this snapshot, in kStandInSources order: discovery's, plus "cuda" when
  // a measurement came from a stand-in driver. Empty on real hardware.
  std::vector<StandIn> AllStandIns() const;
};

// Holds the latest snapshot. Writers publish a whole new snapshot; readers never block writers
// for longer than a pointer copy.
class AgentStateStore {
 public:
  AgentStateStore() : state_(std::make_shared<const AgentState>()) {}
  std::shared_ptr<const AgentState> Load() const {
    std::lock_guard lock(mu_);
    return state_;
  }
  void Store(std::shared_ptr<const AgentState> state) {
    std::lock_guard lock(mu_);
    state_ = std::move(state);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const AgentState> state_;
};

}  // namespace zhisuan::agent
