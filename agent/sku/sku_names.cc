#include "agent/sku/sku_names.h"

#include <array>
#include <cctype>

#include "agent/device.h"

namespace zhisuan::agent {
namespace {

// Sources: pci.ids (NVIDIA, AMD) and ../shared/reference/accelerators.md. Ascend ids are not in
// pci.ids; d801 (Ascend 910) and d802 (Ascend 910B) are what Huawei's own driver matches on and
// are marked unverified there.
constexpr std::array<KnownProduct, 14> kProducts{{
    {0x10de, 0x2330, "H100-SXM5", "hopper"},
    {0x10de, 0x2331, "H100-PCIe", "hopper"},
    {0x10de, 0x2335, "H200-SXM", "hopper"},
    {0x10de, 0x2329, "H20", "hopper"},
    {0x10de, 0x20b0, "A100-SXM4-40GB", "ampere"},
    {0x10de, 0x20b2, "A100-SXM4-80GB", "ampere"},
    {0x10de, 0x20b5, "A100-PCIe-80GB", "ampere"},
    {0x10de, 0x20f1, "A100-PCIe", "ampere"},
    {0x10de, 0x26b9, "L40S", "ada"},
    {0x1002, 0x74a1, "MI300X", "cdna3"},
    {0x1002, 0x740f, "MI210", "cdna2"},
    {0x1002, 0x740c, "MI250X", "cdna2"},
    {0x19e5, 0xd801, "Ascend910", "davinci"},
    {0x19e5, 0xd802, "Ascend910B", "davinci"},
}};

char HexDigit(unsigned value) { return "0123456789abcdef"[value & 0xf]; }

}  // namespace

std::span<const KnownProduct> KnownProducts() { return kProducts; }

std::optional<std::string_view> CanonicalProductName(uint16_t pci_vendor, uint16_t pci_device) {
  for (const auto& product : kProducts) {
    if (product.pci_vendor == pci_vendor && product.pci_device == pci_device) return product.name;
  }
  return std::nullopt;
}

std::optional<std::string_view> KnownArchitecture(uint16_t pci_vendor, uint16_t pci_device) {
  for (const auto& product : kProducts) {
    if (product.pci_vendor == pci_vendor && product.pci_device == pci_device) {
      return product.architecture;
    }
  }
  return std::nullopt;
}

std::string ProductNameOrFallback(uint16_t pci_vendor, uint16_t pci_device) {
  if (auto name = CanonicalProductName(pci_vendor, pci_device)) return std::string(*name);
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
