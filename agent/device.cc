#include "agent/device.h"

#include <array>
#include <utility>

namespace zhisuan::agent {
namespace {

struct VendorEntry {
  Vendor vendor;
  uint16_t pci_id;
  std::string_view name;
};

// PCI vendor ids from pci.ids (see ../shared/reference/accelerators.md). AMD's CPU id 0x1022 is
// deliberately absent: it names chipsets, not accelerators.
constexpr std::array<VendorEntry, 13> kVendors{{
    {Vendor::kNvidia, 0x10de, "nvidia"},
    {Vendor::kAmd, 0x1002, "amd"},
    {Vendor::kHuawei, 0x19e5, "huawei"},
    {Vendor::kCambricon, 0xcabc, "cambricon"},
    {Vendor::kHygon, 0x1d94, "hygon"},
    {Vendor::kKunlunxin, 0x1d22, "kunlunxin"},
    {Vendor::kEnflame, 0x1e36, "enflame"},
    {Vendor::kIluvatar, 0x1e3e, "iluvatar"},
    {Vendor::kMooreThreads, 0x1ed5, "moorethreads"},
    {Vendor::kMetaX, 0x9999, "metax"},
    {Vendor::kHabana, 0x1da3, "habana"},
    {Vendor::kTenstorrent, 0x1e52, "tenstorrent"},
    {Vendor::kIntel, 0x8086, "intel"},
}};

}  // namespace

std::string_view VendorName(Vendor vendor) {
  for (const auto& entry : kVendors) {
    if (entry.vendor == vendor) return entry.name;
  }
  return "unknown";
}

Vendor VendorFromPciId(uint16_t pci_vendor_id) {
  for (const auto& entry : kVendors) {
    if (entry.pci_id == pci_vendor_id) return entry.vendor;
  }
  return Vendor::kUnknown;
}

}  // namespace zhisuan::agent
