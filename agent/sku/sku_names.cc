#include "agent/sku/sku_names.h"

#include <array>
#include <cctype>

#include "agent/device.h"

namespace zhisuan::agent {
namespace {

// Sources: pci.ids (NVIDIA, AMD), AMD's own driver device tables (Instinct ids pci.ids lacks) and
// ../shared/reference/accelerators.md (Ascend ids, from Huawei's log-collection scripts; not in
// pci.ids). Where one id covers several products the chip name tells them apart: every Ascend
// 910B variant is 19e5:d802, MI250 and MI250X are both 1002:740c. Cambricon, Hygon and Kunlunxin
// device ids are not confirmed, so their products are found by name alone (kAnyPciDevice).
constexpr std::array kProducts = std::to_array<KnownProduct>({
    // NVIDIA Hopper (GH100)
    {0x10de, 0x2330, "H100-SXM5", "hopper"},
    {0x10de, 0x2331, "H100-PCIe", "hopper"},
    {0x10de, 0x2321, "H100-NVL", "hopper"},
    {0x10de, 0x2335, "H200-SXM", "hopper"},
    {0x10de, 0x233b, "H200-NVL", "hopper"},
    {0x10de, 0x2324, "H800-SXM5", "hopper"},
    {0x10de, 0x2322, "H800-PCIe", "hopper"},
    {0x10de, 0x2329, "H20", "hopper"},
    // NVIDIA Ampere (GA100)
    {0x10de, 0x20b0, "A100-SXM4-40GB", "ampere"},
    {0x10de, 0x20b2, "A100-SXM4-80GB", "ampere"},
    {0x10de, 0x20b5, "A100-PCIe-80GB", "ampere"},
    {0x10de, 0x20f1, "A100-PCIe", "ampere"},
    {0x10de, 0x20f3, "A800-SXM4-80GB", "ampere"},
    {0x10de, 0x20f5, "A800-PCIe-80GB", "ampere"},
    {0x10de, 0x20b7, "A30", "ampere"},
    {0x10de, 0x20c2, "CMP-170HX", "ampere"},
    // NVIDIA Ada (AD102, AD104)
    {0x10de, 0x26b9, "L40S", "ada"},
    {0x10de, 0x26b5, "L40", "ada"},
    {0x10de, 0x26ba, "L20", "ada"},
    {0x10de, 0x27b8, "L4", "ada"},
    // AMD Instinct
    {0x1002, 0x74a1, "MI300X", "cdna3"},
    {0x1002, 0x74a5, "MI325X", "cdna3"},
    {0x1002, 0x74a2, "MI308X", "cdna3"},
    {0x1002, 0x74a8, "MI308X", "cdna3"},
    {0x1002, 0x740f, "MI210", "cdna2"},
    {0x1002, 0x740c, "MI250X", "cdna2", "MI250X"},
    {0x1002, 0x740c, "MI250", "cdna2", "MI250"},
    {0x1002, 0x740c, "MI250-MI250X", "cdna2"},
    // Huawei Ascend
    {0x19e5, 0xd801, "Ascend910", "davinci"},
    {0x19e5, 0xd802, "Ascend910B1", "davinci", "910B1"},
    {0x19e5, 0xd802, "Ascend910B2", "davinci", "910B2"},
    {0x19e5, 0xd802, "Ascend910B3", "davinci", "910B3"},
    {0x19e5, 0xd802, "Ascend910B4", "davinci", "910B4"},
    {0x19e5, 0xd802, "Ascend910B", "davinci"},
    {0x19e5, 0xd803, "Ascend910C", "davinci"},
    {0x19e5, 0xd500, "Ascend310P3", "davinci", "310P3"},
    {0x19e5, 0xd500, "Ascend310P", "davinci"},
    // Cambricon, Hygon, Kunlunxin: device ids unconfirmed, found by product name.
    {0xcabc, kAnyPciDevice, "MLU370-X4", "mlu", "MLU370-X4"},
    {0xcabc, kAnyPciDevice, "MLU370-S4", "mlu", "MLU370-S4"},
    {0xcabc, kAnyPciDevice, "MLU370-X8", "mlu", "MLU370-X8"},
    {0xcabc, kAnyPciDevice, "MLU590", "mlu", "MLU590"},
    {0x1d94, kAnyPciDevice, "K100-AI", "dcu", "K100_AI"},
    {0x1d22, kAnyPciDevice, "P800", "xpu", "P800"},
});

char HexDigit(unsigned value) { return "0123456789abcdef"[value & 0xf]; }

// Letters and digits only, lower case: "Ascend 910B3" -> "ascend910b3".
std::string Folded(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  return out;
}

}  // namespace

std::span<const KnownProduct> KnownProducts() { return kProducts; }

bool ChipNameMatches(std::string_view chip_key, std::string_view reported) {
  const std::string key = Folded(chip_key);
  const std::string name = Folded(reported);
  if (key.empty() || name.size() < key.size()) return false;
  return name.compare(name.size() - key.size(), key.size(), key) == 0;
}

const KnownProduct* FindProduct(uint16_t pci_vendor, uint16_t pci_device, std::string_view chip) {
  if (!chip.empty()) {
    for (const auto& product : kProducts) {
      if (product.pci_vendor == pci_vendor &&
          (product.pci_device == pci_device || product.pci_device == kAnyPciDevice) &&
          ChipNameMatches(product.chip, chip)) {
        return &product;
      }
    }
  }
  for (const auto& product : kProducts) {
    if (product.pci_vendor == pci_vendor && product.pci_device == pci_device &&
        product.chip.empty()) {
      return &product;
    }
  }
  return nullptr;
}

std::optional<std::string_view> CanonicalProductName(uint16_t pci_vendor, uint16_t pci_device,
                                                     std::string_view chip) {
  if (const KnownProduct* product = FindProduct(pci_vendor, pci_device, chip)) {
    return product->name;
  }
  return std::nullopt;
}

std::optional<std::string_view> KnownArchitecture(uint16_t pci_vendor, uint16_t pci_device,
                                                  std::string_view chip) {
  if (const KnownProduct* product = FindProduct(pci_vendor, pci_device, chip)) {
    return product->architecture;
  }
  return std::nullopt;
}

std::string ProductNameOrFallback(uint16_t pci_vendor, uint16_t pci_device, std::string_view chip) {
  if (auto name = CanonicalProductName(pci_vendor, pci_device, chip)) return std::string(*name);
  std::string out(VendorName(VendorFromPciId(pci_vendor)));
  out.push_back('-');
  for (int shift = 12; shift >= 0; shift -= 4) out.push_back(HexDigit(pci_device >> shift));
  return out;
}

std::string LabelSafe(std::string_view text) {
  std::string out;
  bool pending_dash = false;
  for (char c : text) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_';
    if (!keep) {
      pending_dash = !out.empty();
      continue;
    }
    if (pending_dash) out.push_back('-');
    pending_dash = false;
    out.push_back(c);
  }
  if (out.size() > 63) out.resize(63);
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out.back()))) out.pop_back();
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out.front()))) out.erase(0, 1);
  return out;
}

}  // namespace zhisuan::agent
