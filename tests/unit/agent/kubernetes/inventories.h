#pragma once
// Node inventories as discovery would report them, for the agent's Kubernetes tests (unit and
// integration): an 8x H100 SXM5, an 8x MI300X and an 8x Ascend 910B node, two NUMA nodes each.
// Built in code so the tests do not depend on the sysfs fixture trees.

#include <string>
#include <vector>

#include "agent/agent_state.h"
#include "agent/flops/peak_flops_table.h"
#include "common/strings.h"

namespace zhisuan::agent::testing {

inline Accelerator MakeAccelerator(Vendor vendor, int index) {
  Accelerator a;
  a.index = index;
  a.vendor = vendor;
  a.numa_node = index < 4 ? 0 : 1;
  a.pci_bus_id = StrCat("0000:", 0x10 + index * 0x10, ":00.0");
  switch (vendor) {
    case Vendor::kNvidia:
      a.uuid = StrCat("GPU-6a1f1a6e-0000-4000-8000-00000000000", index);
      a.product = "H100-SXM5";
      a.vendor_product_name = "NVIDIA H100 80GB HBM3";
      a.pci_vendor_id = 0x10de;
      a.pci_device_id = 0x2330;
      a.architecture = "hopper";
      a.memory_bytes = uint64_t{81559} << 20;  // what NVML reports for an H100 SXM5 80GB
      a.device_nodes = {StrCat("/dev/nvidia", index), "/dev/nvidiactl", "/dev/nvidia-uvm"};
      a.backend = "nvml";
      break;
    case Vendor::kAmd:
      a.uuid = StrCat("pci-0000:", 0x10 + index * 0x10, ":00.0");
      a.product = "MI300X";
      a.vendor_product_name = "AMD Instinct MI300X";
      a.pci_vendor_id = 0x1002;
      a.pci_device_id = 0x74a1;
      a.architecture = "cdna3";
      a.memory_bytes = uint64_t{192} << 30;
      a.device_nodes = {StrCat("/dev/dri/card", index + 1),
                        StrCat("/dev/dri/renderD", 128 + index)};
      a.backend = "kfd";
      break;
    case Vendor::kHuawei:
      a.uuid = StrCat("ascend-910b-000", index);
      a.product = "Ascend910B";
      a.vendor_product_name = "Ascend 910B3";
      a.pci_vendor_id = 0x19e5;
      a.pci_device_id = 0xd802;
      a.architecture = "davinci";
      a.memory_bytes = uint64_t{64} << 30;
      a.device_nodes = {StrCat("/dev/davinci", index)};
      a.backend = "dcmi";
      break;
    default:
      a.uuid = StrCat("pci-0000:", 0x10 + index * 0x10, ":00.0");
      a.product = "MLU370";
      a.device_nodes = {StrCat("/dev/cambricon_dev", index)};
      a.backend = "pci";
      break;
  }
  return a;
}

inline std::vector<Accelerator> MakeAccelerators(Vendor vendor, int count = 8) {
  std::vector<Accelerator> accelerators;
  for (int i = 0; i < count; ++i) accelerators.push_back(MakeAccelerator(vendor, i));
  return accelerators;
}

// A discovered, sampled AgentState for `accelerators`, with peak FLOPS from the built-in table,
// power limits, a measured figure and a hydro energy profile.
inline AgentState MakeState(const std::string& node_name,
                            const std::vector<Accelerator>& accelerators) {
  AgentState state;
  state.node_name = node_name;
  state.ready = true;
  for (const auto& accelerator : accelerators) {
    DeviceState device;
    device.accelerator = accelerator;
    device.peak = PeakFlopsTable::BuiltIn().ForAccelerator(accelerator);
    device.telemetry.power_limit_watts = accelerator.vendor == Vendor::kNvidia ? 700 : 750;
    state.devices.push_back(std::move(device));
    FlopsMeasurement measurement;
    measurement.target = accelerator.pci_bus_id;
    measurement.precision = Precision::kBf16;
    measurement.flops = 700e12;
    state.measured_flops.push_back(measurement);
  }
  state.backend_results.push_back({"pci", OkStatus()});
  state.energy_profile.source = "hydro";
  state.energy_profile.zone = "cn-sichuan";
  state.energy_profile.carbon_intensity_grams_per_kwh = 24;
  state.energy_profile.carbon_free_ratio = 0.97;
  return state;
}

}  // namespace zhisuan::agent::testing
