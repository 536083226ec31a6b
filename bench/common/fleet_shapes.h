#pragma once
// The simulated fleet both controller benchmarks use, so that the in-process reconcile cost
// (bench/controller) and the end-to-end fleet figures (bench/fleet) are measured on the same
// objects: node i is in zone i % 3 and carries part (i / 3) % 3, and pool kinds repeat mod 5.

#include <cstdint>
#include <string>
#include <vector>

#include "api/compute_node.h"
#include "api/meta.h"
#include "common/strings.h"

namespace zhisuan::bench {

using Json = nlohmann::json;

struct Zone {
  std::string name, source;
  double intensity, carbon_free;
};
inline const std::vector<Zone> kZones = {{"kunming-a", "hydro", 5, 1.0},
                                         {"ulanqab-b", "grid", 540, 0.35},
                                         {"qinghai-c", "solar", 35, 0.92}};
struct Part {
  std::string vendor, product;
  double bf16;
};
inline const std::vector<Part> kParts = {{"nvidia", "H100-SXM5", 989.4e12},
                                         {"amd", "MI300X", 1307.4e12},
                                         {"huawei", "Ascend910B", 313e12}};

inline std::string NodeName(int i) { return StrCat("fleet-", i); }
inline int ZoneOf(int i) { return i % 3; }
inline int PartOf(int i) { return (i / 3) % 3; }

// Node i's ComputeNode status as the agent publishes it: 8 accelerators of its part, its zone's
// energy.
inline api::ComputeNodeStatus AgentShapedStatus(int i, const std::string& agent_version) {
  const std::string name = NodeName(i);
  const Zone& zone = kZones[ZoneOf(i)];
  const Part& part = kParts[PartOf(i)];
  api::ComputeNodeStatus status;
  status.agent_version = agent_version;
  for (int d = 0; d < 8; ++d) {
    api::AcceleratorStatus device;
    device.index = d;
    device.uuid = StrCat(part.vendor, "-", name, "-", d);
    device.vendor = part.vendor;
    device.product = part.product;
    device.pci_bus_id = StrCat("0000:", 10 + d, ":00.0");
    device.memory_bytes = int64_t{80} << 30;
    device.numa_node = d / 4;
    api::At(device.peak_flops, api::Precision::kBf16) = part.bf16;
    api::At(status.peak_flops, api::Precision::kBf16) += part.bf16;
    status.accelerators.push_back(device);
  }
  status.power_capacity_watts = 10200;
  status.energy.source = zone.source;
  status.energy.zone = zone.name;
  status.energy.carbon_intensity = zone.intensity;
  status.energy.carbon_free_ratio = zone.carbon_free;
  // The agents' hour-long average power, the pools' carbon weight: most of the power limit.
  status.energy.average_power_watts = 8000;
  status.energy.average_power_source = "counter";
  return status;
}

// The spec of a pool of `kind` (mod 5): zero-carbon H100, MI300X, Ascend, any vendor, and a
// product no node has (unsatisfiable by design). Each asks for one node's worth (8 accelerators).
inline Json PoolSpecOfKind(int kind) {
  Json spec = {{"capacity", {{"accelerators", 8}}}};
  switch (kind % 5) {
    case 0:
      spec["accelerator"] = {{"vendor", "nvidia"}, {"products", {"H100-SXM5"}}};
      spec["carbon"] = {{"minCarbonFreeRatio", 1}};
      break;
    case 1:
      spec["accelerator"] = {{"vendor", "amd"}, {"products", {"MI300X"}}};
      break;
    case 2:
      spec["accelerator"] = {{"vendor", "huawei"}, {"products", {"Ascend910B"}}};
      break;
    case 3:
      break;
    default:
      spec["accelerator"] = {{"vendor", "nvidia"}, {"products", {"B200"}}};
      break;
  }
  return spec;
}

}  // namespace zhisuan::bench
