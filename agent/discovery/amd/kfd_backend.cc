#include "agent/discovery/amd/kfd_backend.h"

#include <algorithm>
#include <map>

#include "agent/discovery/amd/kfd_parsers.h"
#include "agent/sku/sku_names.h"
#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::agent::amd {
namespace {

constexpr std::string_view kTopologyNodes = "/class/kfd/kfd/topology/nodes";

std::string PciPath(std::string_view bus_id, std::string_view file) {
  return StrCat("/bus/pci/devices/", bus_id, "/", file);
}

class KfdBackend final : public DiscoveryBackend {
 public:
  explicit KfdBackend(FileReaderPtr sysfs) : sysfs_(std::move(sysfs)) {}

  std::string_view Name() const override { return "kfd"; }

  StatusOr<std::vector<Accelerator>> Discover() override {
    StatusOr<std::vector<std::string>> entries = sysfs_->List(kTopologyNodes);
    if (!entries.ok()) {
      return UnavailableError(StrCat("KFD topology not found (no amdgpu driver on this node?): ",
                                     entries.status().message()));
    }
    // Node directories are numbers; List sorts them as text ("10" before "2").
    std::vector<std::pair<uint64_t, std::string>> nodes;
    for (const std::string& entry : *entries) {
      if (auto number = ParseUint64(entry)) nodes.emplace_back(*number, entry);
    }
    std::sort(nodes.begin(), nodes.end());

    std::vector<Accelerator> accelerators;
    std::map<Vendor, int> next_index;
    for (const auto& [number, entry] : nodes) {
      const std::string path = StrCat(kTopologyNodes, "/", entry, "/properties");
      StatusOr<KfdNode> node = ReadNode(path);
      if (!node.ok()) {
        ZLOG(Warning) << "KFD: skipping topology node " << entry << ": " << node.status();
        continue;
      }
      if (!node->is_gpu) continue;
      const Vendor vendor = VendorFromPciId(node->vendor_id);
      if (vendor != Vendor::kAmd && vendor != Vendor::kHygon) {
        ZLOG(Warning) << "KFD: skipping node " << entry << " with PCI vendor " << node->vendor_id;
        continue;
      }
      accelerators.push_back(ToAccelerator(*node, next_index[vendor]++));
    }
    return accelerators;
  }

  StatusOr<DeviceTelemetry> Sample(const Accelerator& accelerator) override {
    const std::string& bus_id = accelerator.pci_bus_id;
    if (!sysfs_->Exists(PciPath(bus_id, ""))) {
      return UnavailableError(StrCat("KFD: GPU ", bus_id, " is gone from the PCI bus"));
    }
    DeviceTelemetry telemetry;
    if (auto busy = ReadUnsigned(PciPath(bus_id, "gpu_busy_percent")); busy && *busy <= 100) {
      telemetry.utilization_ratio = static_cast<double>(*busy) / 100.0;
    }
    if (auto used = ReadUnsigned(PciPath(bus_id, "mem_info_vram_used"))) {
      telemetry.memory_used_bytes = static_cast<double>(*used);
    }
    auto hwmons = sysfs_->List(PciPath(bus_id, "hwmon"));
    if (hwmons.ok() && !hwmons->empty()) {
      const std::string hwmon = PciPath(bus_id, StrCat("hwmon/", hwmons->front(), "/"));
      // power1_average on MI200/MI300 firmware, power1_input on newer kernels; both µW.
      auto microwatts = ReadUnsigned(StrCat(hwmon, "power1_average"));
      if (!microwatts) microwatts = ReadUnsigned(StrCat(hwmon, "power1_input"));
      if (microwatts) telemetry.power_watts = static_cast<double>(*microwatts) / 1e6;
      if (auto cap = ReadUnsigned(StrCat(hwmon, "power1_cap"))) {
        telemetry.power_limit_watts = static_cast<double>(*cap) / 1e6;
      }
      if (auto microjoules = ReadUnsigned(StrCat(hwmon, "energy1_input"))) {
        telemetry.energy_joules = static_cast<double>(*microjoules) / 1e6;
      }
      if (auto millicelsius = ReadTemperature(hwmon)) {
        telemetry.temperature_celsius = static_cast<double>(*millicelsius) / 1000.0;
      }
      if (auto hertz = ReadUnsigned(StrCat(hwmon, "freq1_input"))) {
        telemetry.clock_mhz = static_cast<double>(*hertz) / 1e6;
      }
    }
    return telemetry;
  }

  // amdgpu reports RAS errors through counters, not events; the health engineer polls those.
  std::vector<HealthEvent> DrainHealthEvents() override { return {}; }

 private:
  StatusOr<KfdNode> ReadNode(const std::string& path) const {
    ZHISUAN_ASSIGN_OR_RETURN(std::string text, sysfs_->Read(path));
    ZHISUAN_ASSIGN_OR_RETURN(auto props, ParseKfdProperties(text));
    return KfdNodeFromProperties(props);
  }

  std::optional<uint64_t> ReadUnsigned(const std::string& path) const {
    StatusOr<std::string> text = sysfs_->Read(path);
    if (!text.ok()) return std::nullopt;
    StatusOr<uint64_t> value = ParseSysfsUnsigned(*text);
    if (!value.ok()) {
      ZLOG_V(1) << "KFD: ignoring " << path << ": " << value.status();
      return std::nullopt;
    }
    return *value;
  }

  // The junction (hotspot) sensor where the driver labels one, else the first temp*_input: the
  // hottest point is what throttles, and MI300 has no edge sensor.
  std::optional<uint64_t> ReadTemperature(const std::string& hwmon) const {
    for (int sensor = 1; sensor <= 8; ++sensor) {
      auto label = sysfs_->Read(StrCat(hwmon, "temp", sensor, "_label"));
      if (label.ok() && StripWhitespace(*label) == "junction") {
        return ReadUnsigned(StrCat(hwmon, "temp", sensor, "_input"));
      }
    }
    for (int sensor = 1; sensor <= 8; ++sensor) {
      if (auto value = ReadUnsigned(StrCat(hwmon, "temp", sensor, "_input"))) return value;
    }
    return std::nullopt;
  }

  Accelerator ToAccelerator(const KfdNode& node, int index) const {
    Accelerator accelerator;
    accelerator.index = index;
    accelerator.vendor = VendorFromPciId(node.vendor_id);
    accelerator.backend = "kfd";
    accelerator.pci_bus_id = node.pci_bus_id;
    accelerator.pci_vendor_id = node.vendor_id;
    accelerator.pci_device_id = node.device_id;
    accelerator.uuid =
        node.unique_id != 0 ? AmdUuid(node.unique_id) : StrCat("pci-", node.pci_bus_id);
    accelerator.compute_units = node.compute_units;
    accelerator.max_clock_mhz = node.max_clock_mhz;
    accelerator.architecture = std::string(GfxArchitecture(node.gfx_target_version));
    if (auto name = sysfs_->Read(PciPath(node.pci_bus_id, "product_name")); name.ok()) {
      accelerator.vendor_product_name = std::string(StripWhitespace(*name));
    }
    if (auto canonical = CanonicalProductName(node.vendor_id, node.device_id)) {
      accelerator.product = std::string(*canonical);
    } else if (!accelerator.vendor_product_name.empty()) {
      accelerator.product = LabelSafe(accelerator.vendor_product_name);
    } else {
      accelerator.product = ProductNameOrFallback(node.vendor_id, node.device_id);
    }
    if (auto vram = ReadUnsigned(PciPath(node.pci_bus_id, "mem_info_vram_total"))) {
      accelerator.memory_bytes = *vram;
    }
    if (auto numa = sysfs_->Read(PciPath(node.pci_bus_id, "numa_node")); numa.ok()) {
      if (auto value = ParseInt64(StripWhitespace(*numa)); value && *value >= 0 && *value < 1024) {
        accelerator.numa_node = static_cast<int>(*value);
      }
    }
    accelerator.device_nodes = {StrCat("/dev/dri/renderD", node.render_minor), "/dev/kfd"};
    return accelerator;
  }

  FileReaderPtr sysfs_;
};

}  // namespace

DiscoveryBackendPtr MakeKfdBackend(FileReaderPtr sysfs) {
  return std::make_unique<KfdBackend>(std::move(sysfs));
}

}  // namespace zhisuan::agent::amd
