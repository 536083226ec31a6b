#pragma once
// Canonical product names keyed by PCI (vendor, device) id, and where one id covers several
// products, by the chip or product name the vendor library reports as well. The one table that
// turns an id into the label-safe name the agent publishes ("H100-SXM5"); the FLOPS table in
// agent/flops/ is keyed by the same ids and chip names so a product name and its peak numbers
// never disagree.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace zhisuan::agent {

// A pci_device of 0 in a KnownProduct (or a PeakFlopsEntry) matches any device id of that vendor,
// for parts whose device id is not confirmed: such an entry is found by chip name only.
inline constexpr uint16_t kAnyPciDevice = 0;

struct KnownProduct {
  uint16_t pci_vendor;
  uint16_t pci_device;            // kAnyPciDevice: any, matched by `chip` alone
  std::string_view name;          // canonical, label-safe: [A-Za-z0-9-]
  std::string_view architecture;  // "hopper", "ampere", "ada", "cdna2", "cdna3", "davinci"
  // Empty: the PCI ids alone identify the product. Else the chip/product name that tells apart
  // products sharing one id ("910B3" for 19e5:d802); see ChipNameMatches.
  std::string_view chip = {};
};

// Every product the table knows, for tests and for tables keyed by the same ids.
std::span<const KnownProduct> KnownProducts();

// True when `reported` (a vendor-reported chip or product name: DCMI's "910B3",
// "Ascend 910B3", NVML/KFD's "AMD Instinct MI250X") names the chip `chip_key` ("910B3",
// "MI250X"). Compares letters and digits only, case-insensitively, and requires the reported name
// to end with the key, so "Ascend910B3" matches "910B3" but "910B" and "MI250X" do not match
// "910B3" and "MI250". An empty key or name never matches.
bool ChipNameMatches(std::string_view chip_key, std::string_view reported);

// The product for the ids and, where several products share them, the reported chip name: the
// entry whose chip matches `chip`, else the entry for the ids with no chip; nullptr when neither.
const KnownProduct* FindProduct(uint16_t pci_vendor, uint16_t pci_device,
                                std::string_view chip = {});

// "H100-SXM5" for (0x10de, 0x2330); "Ascend910B3" for (0x19e5, 0xd802, "910B3"); nullopt for ids
// the table lacks.
std::optional<std::string_view> CanonicalProductName(uint16_t pci_vendor, uint16_t pci_device,
                                                     std::string_view chip = {});

// "hopper" for (0x10de, 0x2330); nullopt for ids the table lacks.
std::optional<std::string_view> KnownArchitecture(uint16_t pci_vendor, uint16_t pci_device,
                                                  std::string_view chip = {});

// The name to publish for any device: the canonical name when known, else
// "<vendor>-<device id in 4 lower-case hex digits>" ("cambricon-0590", "unknown-1234").
std::string ProductNameOrFallback(uint16_t pci_vendor, uint16_t pci_device,
                                  std::string_view chip = {});

// Makes a vendor-reported string ("NVIDIA H100 80GB HBM3") safe for a Kubernetes label value:
// runs of characters outside [A-Za-z0-9._-] become one '-', ends are trimmed to alphanumerics,
// and the result is capped at 63 characters.
std::string LabelSafe(std::string_view text);

}  // namespace zhisuan::agent
