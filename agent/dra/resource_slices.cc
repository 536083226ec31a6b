#include "agent/dra/resource_slices.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string_view>

#include "agent/dra/device_name.h"
#include "api/meta.h"
#include "common/strings.h"

namespace zhisuan::agent::dra {
namespace {

using kube::Json;

Json StringAttribute(std::string_view value) { return {{"string", value}}; }
Json IntAttribute(int64_t value) { return {{"int", value}}; }
Json BoolAttribute(bool value) { return {{"bool", value}}; }

// Whole TFLOPS, rounded down: a selector ">= N" must never admit a device below N.
int64_t WholeTeraflops(double flops) { return static_cast<int64_t>(std::floor(flops / 1e12)); }

const DeviceHealth& HealthOf(const DeviceState& device, const SliceInputs& inputs) {
  auto it = inputs.health.find(device.accelerator.uuid);
  return it != inputs.health.end() ? it->second : device.health;
}

bool Healthy(const DeviceState& device, const SliceInputs& inputs) {
  return HealthOf(device, inputs).healthy;
}

// The unhealthy device's taint. timeAdded is the moment the device turned unhealthy, set here
// because the API server would otherwise fill in its own clock, which the publisher would then
// read as a difference and rewrite.
Json UnhealthyTaint(const DeviceHealth& health, UnhealthyDevices unhealthy) {
  const int64_t since =
      std::chrono::duration_cast<std::chrono::seconds>(health.since.time_since_epoch()).count();
  return {{"key", kUnhealthyTaintKey},
          {"value", HealthReasonName(health.reason)},
          {"effect", unhealthy == UnhealthyDevices::kTaintNoExecute ? "NoExecute" : "NoSchedule"},
          {"timeAdded", api::FormatRfc3339(since)}};
}

void AddIdentity(const Accelerator& accelerator, const SliceInputs& inputs, Json& attributes) {
  attributes["vendor"] = StringAttribute(VendorName(accelerator.vendor));
  if (!accelerator.product.empty()) attributes["product"] = StringAttribute(accelerator.product);
  if (!accelerator.architecture.empty()) {
    attributes["architecture"] = StringAttribute(accelerator.architecture);
  }
  attributes["uuid"] = StringAttribute(accelerator.uuid);
  if (!accelerator.pci_bus_id.empty()) {
    attributes["resource.kubernetes.io/pciBusID"] = StringAttribute(accelerator.pci_bus_id);
    if (auto root = inputs.pcie_roots.find(accelerator.pci_bus_id);
        root != inputs.pcie_roots.end()) {
      attributes["resource.kubernetes.io/pcieRoot"] = StringAttribute(root->second);
    }
  }
  if (accelerator.numa_node >= 0) attributes["numaNode"] = IntAttribute(accelerator.numa_node);
}

// <precision>PeakTeraflops for every precision the part has, <precision>MeasuredTeraflops for
// every successful measurement of this device, and where the measurements came from.
void AddFlops(const DeviceState& device, const AgentState& state, Json& attributes) {
  for (Precision precision : kAllPrecisions) {
    const int64_t peak = WholeTeraflops(At(device.peak.flops, precision));
    if (peak > 0) {
      attributes[StrCat(PrecisionName(precision), "PeakTeraflops")] = IntAttribute(peak);
    }
  }
  const std::string& bus_id = device.accelerator.pci_bus_id;
  for (const FlopsMeasurement& measurement : state.measured_flops) {
    if (bus_id.empty() || measurement.target != bus_id) continue;
    if (!measurement.status.ok() || measurement.flops <= 0) continue;
    attributes[StrCat(PrecisionName(measurement.precision), "MeasuredTeraflops")] =
        IntAttribute(WholeTeraflops(measurement.flops));
    attributes["measuredFlopsSource"] = StringAttribute(measurement.Source());
  }
}

// The node's energy; an unknown carbon figure is left out, never written as 0 (which would read
// as perfectly clean and pass every carbon selector).
void AddEnergy(const EnergyProfile& energy, Json& attributes) {
  if (!energy.zone.empty()) attributes["energyZone"] = StringAttribute(energy.zone);
  if (!energy.source.empty()) attributes["energySource"] = StringAttribute(energy.source);
  if (energy.carbon_free_ratio) {
    attributes["carbonFreePermille"] =
        IntAttribute(std::llround(*energy.carbon_free_ratio * 1000.0));
  }
  if (energy.carbon_intensity_grams_per_kwh) {
    attributes["carbonIntensityGramsPerKwh"] =
        IntAttribute(std::llround(*energy.carbon_intensity_grams_per_kwh));
  }
}

Json OwnerReferences(const SliceInputs& inputs) {
  return Json::array({{{"apiVersion", "v1"},
                       {"kind", "Node"},
                       {"name", inputs.node_name},
                       {"uid", inputs.node_uid},
                       {"controller", true}}});
}

}  // namespace

StatusOr<UnhealthyDevices> ParseUnhealthyDevices(std::string_view value) {
  if (value == "off") return UnhealthyDevices::kLeaveOut;
  if (value == "NoSchedule") return UnhealthyDevices::kTaintNoSchedule;
  if (value == "NoExecute") return UnhealthyDevices::kTaintNoExecute;
  return InvalidArgumentError(
      StrCat("--dra-device-taints takes off, NoSchedule or NoExecute, not \"", value, "\""));
}

std::string CanonicalQuantity(uint64_t value) {
  static constexpr std::string_view kSuffixes[] = {"", "k", "M", "G", "T", "P", "E"};
  size_t exponent = 0;
  while (value != 0 && value % 1000 == 0 && exponent + 1 < std::size(kSuffixes)) {
    value /= 1000;
    ++exponent;
  }
  return StrCat(value, kSuffixes[exponent]);
}

Json BuildDevice(const DeviceState& device, const AgentState& state, const SliceInputs& inputs) {
  const Accelerator& accelerator = device.accelerator;
  Json attributes = Json::object();
  AddIdentity(accelerator, inputs, attributes);
  attributes["healthy"] = BoolAttribute(Healthy(device, inputs));
  AddFlops(device, state, attributes);
  AddEnergy(state.energy_profile, attributes);
  if (!inputs.pool_binding.empty()) attributes["pool"] = StringAttribute(inputs.pool_binding);
  Json out = {{"name", DraDeviceName(accelerator)}, {"attributes", std::move(attributes)}};
  if (accelerator.memory_bytes > 0) {
    out["capacity"] = {{"memory", {{"value", CanonicalQuantity(accelerator.memory_bytes)}}}};
  }
  if (!Healthy(device, inputs) && inputs.unhealthy != UnhealthyDevices::kLeaveOut) {
    out["taints"] = Json::array({UnhealthyTaint(HealthOf(device, inputs), inputs.unhealthy)});
  }
  return out;
}

std::string SliceName(const std::string& node_name, size_t index) {
  return StrCat(node_name, "-zhisuan-", index);
}

std::vector<Json> BuildResourceSlices(const AgentState& state, const SliceInputs& inputs) {
  std::vector<Json> devices;
  for (const DeviceState& device : state.devices) {
    if (Healthy(device, inputs) || inputs.unhealthy != UnhealthyDevices::kLeaveOut) {
      devices.push_back(BuildDevice(device, state, inputs));
    }
  }
  std::sort(devices.begin(), devices.end(), [](const Json& a, const Json& b) {
    return a["name"].get<std::string>() < b["name"].get<std::string>();
  });
  const size_t count =
      std::max<size_t>(1, (devices.size() + kMaxDevicesPerSlice - 1) / kMaxDevicesPerSlice);
  std::vector<Json> slices;
  for (size_t index = 0; index < count; ++index) {
    const size_t begin = index * kMaxDevicesPerSlice;
    const size_t end = std::min(devices.size(), begin + kMaxDevicesPerSlice);
    Json metadata = {{"name", SliceName(inputs.node_name, index)}};
    if (!inputs.node_uid.empty()) metadata["ownerReferences"] = OwnerReferences(inputs);
    Json spec = {{"driver", kDriverName},
                 {"nodeName", inputs.node_name},
                 {"pool", {{"name", inputs.node_name}, {"resourceSliceCount", count}}},
                 {"devices", Json::array()}};
    for (size_t i = begin; i < end; ++i) spec["devices"].push_back(devices[i]);
    slices.push_back({{"apiVersion", kResourceSlices.ApiVersion()},
                      {"kind", kResourceSlices.kind},
                      {"metadata", std::move(metadata)},
                      {"spec", std::move(spec)}});
  }
  return slices;
}

std::map<std::string, std::string> PcieRoots(const FileReader& sysfs,
                                             const std::vector<std::string>& pci_bus_ids) {
  std::map<std::string, std::string> roots;
  for (const std::string& bus_id : pci_bus_ids) {
    if (bus_id.empty()) continue;
    auto link = sysfs.ReadLink(StrCat("/bus/pci/devices/", bus_id));
    if (!link.ok()) continue;
    const size_t at = link->find("/pci");
    if (at == std::string::npos) continue;
    const size_t end = link->find('/', at + 1);
    roots[bus_id] = link->substr(at + 1, end == std::string::npos ? end : end - at - 1);
  }
  return roots;
}

}  // namespace zhisuan::agent::dra
