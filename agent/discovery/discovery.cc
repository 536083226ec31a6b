#include "agent/discovery/discovery.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "agent/discovery/amd/kfd_backend.h"
#include "agent/discovery/ascend/dcmi_backend.h"
#include "agent/discovery/nvml/nvml_backend.h"
#include "agent/discovery/pci/pci_backend.h"
#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::agent {
namespace {

constexpr std::string_view kPciBackendName = "pci";

// Fills what a vendor backend left unknown from the PCI entry for the same device: NUMA placement
// and PCI ids are facts of the bus the vendor library does not always report.
void FillFromPci(Accelerator& accelerator, const Accelerator& from_pci) {
  if (accelerator.numa_node < 0) accelerator.numa_node = from_pci.numa_node;
  if (accelerator.pci_vendor_id == 0) accelerator.pci_vendor_id = from_pci.pci_vendor_id;
  if (accelerator.pci_device_id == 0) accelerator.pci_device_id = from_pci.pci_device_id;
  if (accelerator.architecture.empty()) accelerator.architecture = from_pci.architecture;
}

}  // namespace

std::vector<DiscoveryBackendPtr> MakeDiscoveryBackends(const DiscoveryOptions& options) {
  FileReaderPtr sysfs = MakeRootedFileReader(options.sysfs_root);
  std::vector<DiscoveryBackendPtr> backends;
  backends.push_back(nvml::MakeNvmlBackend(options.nvml_library));
  backends.push_back(amd::MakeKfdBackend(sysfs));
  backends.push_back(ascend::MakeDcmiBackend(options.dcmi_library));
  backends.push_back(std::make_unique<pci::PciScanBackend>(sysfs));
  return backends;
}

std::optional<std::string> FixtureTreeAt(const FileReader& root) {
  StatusOr<std::string> marker = root.Read(kFixtureMarkerFile);
  if (!marker.ok()) return std::nullopt;
  // The name ends up in a condition message: keep it short.
  std::string name(StripWhitespace(*marker).substr(0, 64));
  return StrCat("fixture tree ", name.empty() ? std::string("(unnamed)") : name);
}

NodeInventory DiscoverNode(std::vector<DiscoveryBackendPtr>& backends, const FileReader& sysfs,
                           const FileReader& procfs) {
  NodeInventory inventory;
  std::vector<StandIn> stand_ins;
  std::vector<Accelerator> from_pci;
  std::vector<Accelerator> from_vendors;
  for (DiscoveryBackendPtr& backend : backends) {
    StatusOr<std::vector<Accelerator>> found = backend->Discover();
    inventory.backend_results.push_back(
        {std::string(backend->Name()), found.ok() ? OkStatus() : found.status()});
    // A stand-in is one whether or not it found devices: nothing it says is hardware.
    if (std::string stand_in = backend->StandIn(); !stand_in.empty()) {
      stand_ins.push_back({std::string(backend->Name()), std::move(stand_in)});
    }
    if (!found.ok()) {
      // Unavailable is the normal answer of a vendor backend on another vendor's node.
      if (found.status().code() == StatusCode::kUnavailable) {
        ZLOG(Info) << "discovery backend " << backend->Name()
                   << " found nothing: " << found.status();
      } else {
        ZLOG(Warning) << "discovery backend " << backend->Name() << " failed: " << found.status();
      }
      continue;
    }
    ZLOG(Info) << "discovery backend " << backend->Name() << " found " << found->size()
               << " accelerator(s)";
    std::vector<Accelerator>& into = backend->Name() == kPciBackendName ? from_pci : from_vendors;
    for (Accelerator& accelerator : *found) into.push_back(std::move(accelerator));
  }

  // A vendor backend supersedes the PCI entry for the same bus id. A vendor backend that reports
  // devices without bus ids supersedes every PCI entry of its vendor, since the two cannot be
  // matched one to one and counting both would double the node's capacity.
  std::map<std::string, const Accelerator*> pci_by_bus_id;
  for (const Accelerator& accelerator : from_pci) {
    pci_by_bus_id[accelerator.pci_bus_id] = &accelerator;
  }
  std::set<std::string> claimed_bus_ids;
  std::set<Vendor> vendors_without_bus_ids;
  for (Accelerator& accelerator : from_vendors) {
    if (accelerator.pci_bus_id.empty()) {
      vendors_without_bus_ids.insert(accelerator.vendor);
      continue;
    }
    claimed_bus_ids.insert(accelerator.pci_bus_id);
    if (auto it = pci_by_bus_id.find(accelerator.pci_bus_id); it != pci_by_bus_id.end()) {
      FillFromPci(accelerator, *it->second);
    }
  }
  inventory.accelerators = std::move(from_vendors);
  for (Accelerator& accelerator : from_pci) {
    if (claimed_bus_ids.count(accelerator.pci_bus_id) ||
        vendors_without_bus_ids.count(accelerator.vendor)) {
      continue;
    }
    inventory.accelerators.push_back(std::move(accelerator));
  }
  std::sort(inventory.accelerators.begin(), inventory.accelerators.end(),
            [](const Accelerator& a, const Accelerator& b) {
              return std::tie(a.vendor, a.index, a.pci_bus_id) <
                     std::tie(b.vendor, b.index, b.pci_bus_id);
            });

  StatusOr<CpuInfo> cpu = DiscoverCpu(sysfs, procfs);
  if (cpu.ok()) {
    inventory.cpu = *std::move(cpu);
    inventory.backend_results.push_back({"cpu", OkStatus()});
  } else {
    ZLOG(Warning) << "CPU discovery failed: " << cpu.status();
    inventory.backend_results.push_back({"cpu", cpu.status()});
  }
  if (auto tree = FixtureTreeAt(sysfs)) stand_ins.push_back({"sysfs", *std::move(tree)});
  if (auto tree = FixtureTreeAt(procfs)) stand_ins.push_back({"procfs", *std::move(tree)});
  for (std::string_view source : kStandInSources) {
    for (StandIn& stand_in : stand_ins) {
      if (stand_in.source == source) inventory.stand_ins.push_back(std::move(stand_in));
    }
  }
  for (const StandIn& stand_in : inventory.stand_ins) {
    ZLOG(Warning) << "simulated hardware: " << stand_in.source << " reads " << stand_in.name
                  << ", a stand-in, not a vendor library or the node's own tree";
  }
  return inventory;
}

}  // namespace zhisuan::agent
