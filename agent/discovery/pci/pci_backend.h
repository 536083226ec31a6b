#pragma once
// The PCI scan: finds every accelerator on the bus from sysfs alone, so a node whose vendor library
// is missing or broken still reports its devices (with PCI-derived identity only).

#include <string>
#include <vector>

#include "agent/device.h"
#include "common/file_reader.h"

namespace zhisuan::agent::pci {

// One PCI function as sysfs describes it.
struct PciFunction {
  std::string bus_id;  // "0000:17:00.0"
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
  uint32_t class_code = 0;
  int numa_node = -1;
};

// Reads one function from <sysfs>/bus/pci/devices/<bus_id>/. A missing or unparsable vendor,
// device or class file is an error; a missing or unparsable numa_node is -1 (kernels without NUMA
// do not write it).
StatusOr<PciFunction> ReadPciFunction(const FileReader& sysfs, std::string_view bus_id);

// Every function under <sysfs>/bus/pci/devices. Functions that cannot be read are skipped with a
// warning; only an unreadable directory is an error.
StatusOr<std::vector<PciFunction>> ScanPciBus(const FileReader& sysfs);

// The accelerators among `functions`, numbered per vendor in bus order (the order nvidia-smi and
// the vendor runtimes use by default), with uuid "pci-<bus id>" and backend "pci". `sysfs` is
// used for the DRM render nodes a function exposes (AMD-style drivers).
std::vector<Accelerator> AcceleratorsFromPci(const std::vector<PciFunction>& functions,
                                             const FileReader& sysfs);

class PciScanBackend final : public DiscoveryBackend {
 public:
  explicit PciScanBackend(FileReaderPtr sysfs) : sysfs_(std::move(sysfs)) {}

  std::string_view Name() const override { return "pci"; }
  StatusOr<std::vector<Accelerator>> Discover() override;
  // PCI config space carries no telemetry: the reading is empty. A device that has fallen off the
  // bus (its sysfs entry gone, or reading 0xffff) is Unavailable.
  StatusOr<DeviceTelemetry> Sample(const Accelerator& accelerator) override;
  std::vector<HealthEvent> DrainHealthEvents() override { return {}; }

 private:
  FileReaderPtr sysfs_;
};

}  // namespace zhisuan::agent::pci
