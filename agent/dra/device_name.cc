#include "agent/dra/device_name.h"

#include <cctype>

namespace zhisuan::agent::dra {
namespace {

// Lower case, with every character a DNS label cannot hold turned into '-'.
std::string LabelSafe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    out.push_back(std::isalnum(byte) != 0 ? static_cast<char>(std::tolower(byte)) : '-');
  }
  return out;
}

}  // namespace

std::string DraDeviceName(const Accelerator& accelerator) {
  if (!accelerator.pci_bus_id.empty()) return "pci-" + LabelSafe(accelerator.pci_bus_id);
  return LabelSafe(VendorName(accelerator.vendor)) + "-" + std::to_string(accelerator.index);
}

std::optional<Accelerator> FindByDraDeviceName(const std::vector<Accelerator>& accelerators,
                                               std::string_view device_name) {
  for (const Accelerator& accelerator : accelerators) {
    if (DraDeviceName(accelerator) == device_name) return accelerator;
  }
  return std::nullopt;
}

}  // namespace zhisuan::agent::dra
