#pragma once
// Canonical product names keyed by PCI (vendor, device) id. The one table that turns a PCI id into
// the label-safe name the agent publishes ("H100-SXM5"); the FLOPS table in agent/flops/ is keyed
// by the same ids so a product name and its peak numbers never disagree.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace zhisuan::agent {

struct KnownProduct {
  uint16_t pci_vendor;
  uint16_t pci_device;
  std::string_view name;          // canonical, label-safe: [A-Za-z0-9-]
  std::string_view architecture;  // "hopper", "ampere", "ada", "cdna2", "cdna3", "davinci"
};

// Every (vendor, device) pair the table knows, for tests and for tables keyed by the same ids.
std::span<const KnownProduct> KnownProducts();

// "H100-SXM5" for (0x10de, 0x2330); nullopt for ids the table lacks.
std::optional<std::string_view> CanonicalProductName(uint16_t pci_vendor, uint16_t pci_device);

// "hopper" for (0x10de, 0x2330); nullopt for ids the table lacks.
std::optional<std::string_view> KnownArchitecture(uint16_t pci_vendor, uint16_t pci_device);

// The name to publish for any device: the canonical name when known, else
// "<vendor>-<device id in 4 lower-case hex digits>" ("cambricon-0590", "unknown-1234").
std::string ProductNameOrFallback(uint16_t pci_vendor, uint16_t pci_device);

// Makes a vendor-reported string ("NVIDIA H100 80GB HBM3") safe for a Kubernetes label value:
// runs of characters outside [A-Za-z0-9._-] become one '-', ends are trimmed to alphanumerics,
// and the result is capped at 63 characters.
std::string LabelSafe(std::string_view text);

}  // namespace zhisuan::agent
