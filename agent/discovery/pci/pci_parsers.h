#pragma once
// Parsers for the one-value files under /sys/bus/pci/devices/<bus id>/. Total on any input: they
// return a value or a Status and never read past the view, so they can be fuzzed directly.

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/device.h"
#include "common/status.h"

namespace zhisuan::agent::pci {

// "0x10de\n" -> 0x10de. The kernel always writes the 0x prefix; a missing one is tolerated.
StatusOr<uint16_t> ParsePciId(std::string_view text);
// "0x030200\n" -> 0x030200 (base class, subclass, programming interface).
StatusOr<uint32_t> ParsePciClass(std::string_view text);
// "1\n" -> 1; "-1\n" (no NUMA affinity) -> -1.
StatusOr<int> ParseNumaNode(std::string_view text);

// Canonical "dddd:bb:dd.f", lower case. Accepts NVML's 8-digit domain ("00000000:17:00.0") and a
// missing domain ("17:00.0"); anything else is InvalidArgument.
StatusOr<std::string> NormalizePciBusId(std::string_view text);

// Whether a PCI function is a compute accelerator worth reporting. Only vendors in the accelerator
// list count (Intel is excluded: its 0x0b40 parts are QuickAssist crypto engines and its VGA parts
// are integrated graphics). Classes 0x0302 (3D), 0x0380 (display, other), 0x1200 (processing
// accelerator) and 0x0b40 (co-processor) count for all of them; class 0x0300 (VGA) only for GPU
// vendors, because BMCs (ASPEED 1a03, Huawei iBMC 19e5:1711) show up as VGA too.
bool IsAcceleratorFunction(uint16_t pci_vendor, uint32_t pci_class);

}  // namespace zhisuan::agent::pci
