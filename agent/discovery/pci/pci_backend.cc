#include "agent/discovery/pci/pci_backend.h"

#include <algorithm>
#include <map>

#include "agent/discovery/pci/pci_parsers.h"
#include "agent/sku/sku_names.h"
#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::agent::pci {
namespace {

constexpr std::string_view kDevicesDir = "/bus/pci/devices";

std::string DevicePath(std::string_view bus_id, std::string_view file) {
  return StrCat(kDevicesDir, "/", bus_id, "/", file);
}

template <typename T>
StatusOr<T> ReadAndParse(const FileReader& sysfs, std::string_view bus_id, std::string_view file,
                         StatusOr<T> (*parse)(std::string_view)) {
  const std::string path = DevicePath(bus_id, file);
  ZHISUAN_ASSIGN_OR_RETURN(std::string text, sysfs.Read(path));
  StatusOr<T> parsed = parse(text);
  if (!parsed.ok()) return parsed.status().Annotate(path);
  return parsed;
}

// /dev/dri/renderD<N> for every render node the driver registered under the function's drm/.
std::vector<std::string> RenderNodes(const FileReader& sysfs, std::string_view bus_id) {
  std::vector<std::string> nodes;
  auto entries = sysfs.List(DevicePath(bus_id, "drm"));
  if (!entries.ok()) return nodes;
  for (const std::string& entry : *entries) {
    if (StartsWith(entry, "renderD")) nodes.push_back(StrCat("/dev/dri/", entry));
  }
  return nodes;
}

}  // namespace

StatusOr<PciFunction> ReadPciFunction(const FileReader& sysfs, std::string_view bus_id) {
  PciFunction function;
  ZHISUAN_ASSIGN_OR_RETURN(function.bus_id, NormalizePciBusId(bus_id));
  ZHISUAN_ASSIGN_OR_RETURN(function.vendor_id, ReadAndParse(sysfs, bus_id, "vendor", ParsePciId));
  ZHISUAN_ASSIGN_OR_RETURN(function.device_id, ReadAndParse(sysfs, bus_id, "device", ParsePciId));
  ZHISUAN_ASSIGN_OR_RETURN(function.class_code,
                           ReadAndParse(sysfs, bus_id, "class", ParsePciClass));
  StatusOr<int> numa_node = ReadAndParse(sysfs, bus_id, "numa_node", ParseNumaNode);
  if (numa_node.ok()) {
    function.numa_node = *numa_node;
  } else if (numa_node.status().code() != StatusCode::kNotFound) {
    ZLOG(Warning) << "PCI " << bus_id << ": NUMA node unknown: " << numa_node.status();
  }
  return function;
}

StatusOr<std::vector<PciFunction>> ScanPciBus(const FileReader& sysfs) {
  ZHISUAN_ASSIGN_OR_RETURN(std::vector<std::string> entries, sysfs.List(kDevicesDir));
  std::vector<PciFunction> functions;
  for (const std::string& entry : entries) {
    StatusOr<PciFunction> function = ReadPciFunction(sysfs, entry);
    if (!function.ok()) {
      ZLOG(Warning) << "PCI scan: skipping " << entry << ": " << function.status();
      continue;
    }
    functions.push_back(*std::move(function));
  }
  return functions;
}

std::vector<Accelerator> AcceleratorsFromPci(const std::vector<PciFunction>& functions,
                                             const FileReader& sysfs) {
  std::vector<const PciFunction*> found;
  for (const PciFunction& function : functions) {
    if (IsAcceleratorFunction(function.vendor_id, function.class_code)) found.push_back(&function);
  }
  std::sort(found.begin(), found.end(),
            [](const PciFunction* a, const PciFunction* b) { return a->bus_id < b->bus_id; });
  std::map<Vendor, int> next_index;
  std::vector<Accelerator> accelerators;
  for (const PciFunction* function : found) {
    Accelerator accelerator;
    accelerator.vendor = VendorFromPciId(function->vendor_id);
    accelerator.index = next_index[accelerator.vendor]++;
    accelerator.uuid = StrCat("pci-", function->bus_id);
    accelerator.product = ProductNameOrFallback(function->vendor_id, function->device_id);
    accelerator.vendor_product_name = accelerator.product;
    accelerator.pci_bus_id = function->bus_id;
    accelerator.pci_vendor_id = function->vendor_id;
    accelerator.pci_device_id = function->device_id;
    accelerator.architecture =
        std::string(KnownArchitecture(function->vendor_id, function->device_id).value_or(""));
    accelerator.numa_node = function->numa_node;
    accelerator.device_nodes = RenderNodes(sysfs, function->bus_id);
    accelerator.backend = "pci";
    accelerators.push_back(std::move(accelerator));
  }
  return accelerators;
}

StatusOr<std::vector<Accelerator>> PciScanBackend::Discover() {
  ZHISUAN_ASSIGN_OR_RETURN(std::vector<PciFunction> functions, ScanPciBus(*sysfs_));
  return AcceleratorsFromPci(functions, *sysfs_);
}

StatusOr<DeviceTelemetry> PciScanBackend::Sample(const Accelerator& accelerator) {
  StatusOr<uint16_t> vendor = ReadAndParse(*sysfs_, accelerator.pci_bus_id, "vendor", ParsePciId);
  if (!vendor.ok() || *vendor == 0xffff) {
    return UnavailableError(StrCat("PCI device ", accelerator.pci_bus_id, " is gone from the bus"));
  }
  return DeviceTelemetry{};
}

}  // namespace zhisuan::agent::pci
