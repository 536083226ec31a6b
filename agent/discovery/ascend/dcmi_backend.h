#pragma once
// Huawei Ascend NPUs through DCMI, loaded at run time from `library_path` (never linked).
//
// - A library that cannot be loaded or lacks enumeration entry points: Discover() is Unavailable.
// - Identity: chip name from dcmi_get_device_chip_info ("910B3" -> product "Ascend910B3"), AI core
//   count as compute_units, HBM size, max AI core clock, PCI bus id from
//   dcmi_get_device_pcie_info_v2 where the library has it (uuid "pci-<bus id>", so the uuid is the
//   same whether the PCI scan or DCMI found the chip), else uuid "ascend-<logic id>".
// - device_nodes: /dev/davinci<logic id> and the shared /dev/davinci_manager, /dev/devmm_svm,
//   /dev/hisi_hdc.
// - Health: DrainHealthEvents() polls dcmi_get_device_health and dcmi_get_device_errorcode_v2
//   and reports a kVendorHealthCode event per error code whenever a chip's health or its error
//   codes change to a non-healthy state (not on every poll).

#include <string>

#include "agent/device.h"

namespace zhisuan::agent::ascend {

inline constexpr char kDefaultDcmiLibrary[] = "libdcmi.so";

DiscoveryBackendPtr MakeDcmiBackend(std::string library_path);
// The same backend on an already-filled table (dcmi_api.h), for tests: nothing is loaded.
struct DcmiApi;
DiscoveryBackendPtr MakeDcmiBackend(const DcmiApi& api);

// "910B3" -> "Ascend910B3"; a name that already starts with "Ascend" is kept; label-safe.
std::string AscendProductName(std::string_view chip_name);

}  // namespace zhisuan::agent::ascend
