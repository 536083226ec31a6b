#pragma once
// ComputeNode (zhisuan.io/v1alpha1, cluster-scoped): one per Node, same name, written by the agent
// on that node and read by the controller. The CRD is
// charts/zhisuan/crds/zhisuan.io_computenodes.yaml.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/meta.h"
#include "api/precision.h"

namespace zhisuan::api {

// The values of a measurement's source field.
inline constexpr std::string_view kMeasurementSourceHardware = "hardware";
inline constexpr std::string_view kMeasurementSourceSimulated = "simulated";

struct AcceleratorStatus {
  int index = 0;
  std::string uuid;
  std::string vendor;   // "nvidia"
  std::string product;  // "H100-SXM5"
  std::string pci_bus_id;
  int64_t memory_bytes = 0;
  int numa_node = -1;
  bool healthy = true;
  std::string reason;  // why unhealthy; empty when healthy
  FlopsByPrecision peak_flops{};
  FlopsByPrecision measured_flops{};  // what the agent's probe last achieved; 0 where not measured
  // Where measured_flops came from: kMeasurementSourceHardware, kMeasurementSourceSimulated (a
  // stand-in library, never a device), or empty when nothing was measured.
  std::string measured_flops_source;

  friend bool operator==(const AcceleratorStatus&, const AcceleratorStatus&) = default;
};

// Where averagePowerWatts came from: the devices' energy counters, power integrated between
// samples, or both (some devices have a counter, some do not).
inline constexpr std::array<std::string_view, 3> kAveragePowerSources = {
    "counter", "integrated_power", "mixed"};
// An average above this for one node is corrupt (64 accelerators at 10 kW each).
inline constexpr double kMaxAveragePowerWatts = 640'000;

// Absent carbon figures are unknown (the agent has no energy profile), never 0: the codec omits
// them and the decoder leaves them absent, and the controller admits such a node to no pool with a
// carbon policy on the missing figure.
struct EnergyStatus {
  std::string source;  // "hydro", "grid", "solar"
  std::string zone;
  std::optional<double> carbon_intensity;   // gCO2e/kWh; absent: unknown
  std::optional<double> carbon_free_ratio;  // 0..1; absent: unknown
  // The accelerators' average power over the agent's window (an hour by default): the energy figure
  // a pool's carbon figures are weighted by. Republished only when it moves by more than
  // --energy-publish-threshold; absent until known (never 0 for unknown).
  std::optional<double> average_power_watts;
  std::string average_power_source;  // kAveragePowerSources; empty when the figure is absent

  friend bool operator==(const EnergyStatus&, const EnergyStatus&) = default;
};

struct ComputeNodeStatus {
  std::string agent_version;
  std::vector<AcceleratorStatus> accelerators;
  FlopsByPrecision peak_flops{};      // node totals
  FlopsByPrecision measured_flops{};  // 0 where not measured
  // simulated when any measurement in measured_flops came from a stand-in, hardware when all
  // came from devices, empty when nothing was measured.
  std::string measured_flops_source;
  int64_t power_capacity_watts = 0;
  EnergyStatus energy;
  std::vector<Condition> conditions;

  int HealthyAcceleratorCount() const;
  friend bool operator==(const ComputeNodeStatus&, const ComputeNodeStatus&) = default;
};

struct ComputeNode {
  std::string name;
  std::string uid;
  std::string resource_version;
  ComputeNodeStatus status;
};

// The status object as the CRD stores it (acceleratorCount and healthyAcceleratorCount derived).
Json ToJson(const ComputeNodeStatus& status);

// Limits a well-behaved agent never reaches; anything beyond is hostile or corrupt, and the
// controller ignores such a node (with an event) rather than trusting it.
inline constexpr size_t kMaxAcceleratorsPerNode = 64;
inline constexpr double kMaxFlopsPerAccelerator = 1e17;  // 100 PFLOPS: 50x today's densest part

// Decodes and validates a ComputeNode object: negative, non-finite or absurd FLOPS, unknown
// precision keys, too many accelerators and malformed fields are errors that name the field.
StatusOr<ComputeNode> ComputeNodeFromJson(const Json& object);

// Node-total FLOPS as the CRD's quantity map ({"bf16": "7915T", ...}); zero entries omitted.
Json FlopsToJson(const FlopsByPrecision& flops);
StatusOr<FlopsByPrecision> FlopsFromJson(const Json& json, std::string_view field);

}  // namespace zhisuan::api
