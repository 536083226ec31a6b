#include "agent/publish/node_labels.h"

#include <algorithm>
#include <tuple>

#include "api/meta.h"
#include "common/strings.h"

namespace zhisuan::agent {

std::string FormatMemoryLabel(uint64_t bytes) {
  constexpr uint64_t kGiB = uint64_t{1} << 30;
  const uint64_t gib = (bytes + kGiB / 2) / kGiB;
  if (gib == 0) return "0";
  return StrCat(gib, "Gi");
}

NodeLabels NodeLabelsFor(const std::vector<Accelerator>& accelerators) {
  if (accelerators.empty()) return {};
  // (vendor name, product) -> devices in that group.
  std::map<std::pair<std::string, std::string>, std::vector<const Accelerator*>> groups;
  for (const auto& accelerator : accelerators) {
    groups[{std::string(VendorName(accelerator.vendor)), accelerator.product}].push_back(
        &accelerator);
  }
  // std::map iterates in (vendor, product) order, so keeping only a strictly larger group breaks
  // ties towards the first vendor and product alphabetically.
  auto majority = groups.begin();
  for (auto it = groups.begin(); it != groups.end(); ++it) {
    if (it->second.size() > majority->second.size()) majority = it;
  }
  const auto& [key, devices] = *majority;
  NodeLabels labels;
  labels[std::string(api::kLabelVendor)] = key.first;
  if (!key.second.empty()) labels[std::string(api::kLabelProduct)] = key.second;
  labels[std::string(api::kLabelAcceleratorCount)] = StrCat(devices.size());
  // The smallest memory in the group: what every device of the product is guaranteed to have.
  uint64_t memory = devices.front()->memory_bytes;
  for (const Accelerator* device : devices) memory = std::min(memory, device->memory_bytes);
  if (memory > 0) labels[std::string(api::kLabelAcceleratorMemory)] = FormatMemoryLabel(memory);
  for (const Accelerator* device : devices) {
    if (!device->architecture.empty()) {
      labels[std::string(api::kLabelArchitecture)] = device->architecture;
      break;
    }
  }
  return labels;
}

}  // namespace zhisuan::agent
