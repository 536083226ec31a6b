#include "agent/deviceplugin/allocation.h"

#include <algorithm>

#include "common/strings.h"

namespace zhisuan::agent {
namespace {

constexpr char kReadWrite[] = "rw";

void AddDevice(ContainerAllocation& allocation, const std::string& path) {
  for (const auto& device : allocation.devices) {
    if (device.host_path == path) return;
  }
  allocation.devices.push_back({path, path, kReadWrite});
}

}  // namespace

ContainerAllocation VendorAllocation(Vendor vendor,
                                     const std::vector<const Accelerator*>& selected) {
  ContainerAllocation allocation;
  switch (vendor) {
    case Vendor::kNvidia: {
      std::vector<std::string> uuids;
      for (const Accelerator* accelerator : selected) {
        uuids.push_back(accelerator->uuid);
        allocation.cdi_devices.push_back(StrCat("nvidia.com/gpu=", accelerator->uuid));
      }
      allocation.envs["NVIDIA_VISIBLE_DEVICES"] = StrJoin(uuids, ",");
      break;
    }
    case Vendor::kAmd: {
      AddDevice(allocation, "/dev/kfd");
      for (const Accelerator* accelerator : selected) {
        for (const auto& node : accelerator->device_nodes) {
          if (StartsWith(node, "/dev/dri/renderD")) AddDevice(allocation, node);
        }
      }
      break;
    }
    case Vendor::kHuawei: {
      std::vector<int> indices;
      for (const Accelerator* accelerator : selected) {
        indices.push_back(accelerator->index);
        AddDevice(allocation, StrCat("/dev/davinci", accelerator->index));
      }
      allocation.envs["ASCEND_VISIBLE_DEVICES"] = StrJoin(indices, ",");
      for (const char* shared : {"/dev/davinci_manager", "/dev/devmm_svm", "/dev/hisi_hdc"}) {
        AddDevice(allocation, shared);
      }
      break;
    }
    default:
      for (const Accelerator* accelerator : selected) {
        for (const auto& node : accelerator->device_nodes) AddDevice(allocation, node);
      }
      break;
  }
  return allocation;
}

ResourceDevices::ResourceDevices(std::string resource_name, std::vector<Accelerator> accelerators)
    : resource_name_(std::move(resource_name)), accelerators_(std::move(accelerators)) {
  std::stable_sort(accelerators_.begin(), accelerators_.end(),
                   [](const Accelerator& a, const Accelerator& b) { return a.index < b.index; });
  for (size_t i = 0; i < accelerators_.size(); ++i) by_id_[accelerators_[i].uuid] = i;
}

const Accelerator* ResourceDevices::Find(const std::string& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &accelerators_[it->second];
}

std::vector<PluginDevice> ResourceDevices::List(
    const std::map<std::string, std::string>& unhealthy) const {
  std::vector<PluginDevice> devices;
  for (const auto& accelerator : accelerators_) {
    devices.push_back(
        {accelerator.uuid, !unhealthy.contains(accelerator.uuid), accelerator.numa_node});
  }
  return devices;
}

StatusOr<ContainerAllocation> ResourceDevices::Allocate(
    const std::vector<std::string>& ids,
    const std::map<std::string, std::string>& unhealthy) const {
  if (ids.empty()) return InvalidArgumentError(StrCat("no devices requested of ", resource_name_));
  std::vector<const Accelerator*> selected;
  for (const auto& id : ids) {
    const Accelerator* accelerator = Find(id);
    if (accelerator == nullptr) {
      std::vector<std::string> known;
      for (const auto& a : accelerators_) known.push_back(a.uuid);
      return InvalidArgumentError(StrCat("unknown device ID \"", id, "\" for resource ",
                                         resource_name_,
                                         "; this node has: ", StrJoin(known, ", ")));
    }
    if (auto it = unhealthy.find(id); it != unhealthy.end()) {
      return FailedPreconditionError(StrCat("device ", id, " (", resource_name_, " index ",
                                            accelerator->index, ") is Unhealthy: ", it->second));
    }
    if (std::find(selected.begin(), selected.end(), accelerator) == selected.end()) {
      selected.push_back(accelerator);
    }
  }
  std::sort(selected.begin(), selected.end(),
            [](const Accelerator* a, const Accelerator* b) { return a->index < b->index; });
  return VendorAllocation(selected.front()->vendor, selected);
}

std::vector<std::string> ResourceDevices::Prefer(const std::vector<std::string>& available,
                                                 const std::vector<std::string>& must_include,
                                                 int allocation_size) const {
  std::vector<std::string> chosen;
  std::set<std::string> taken;
  std::map<int, int> must_per_node;
  for (const auto& id : must_include) {
    if (static_cast<int>(chosen.size()) >= allocation_size) break;
    if (!taken.insert(id).second) continue;
    chosen.push_back(id);
    if (const Accelerator* accelerator = Find(id)) ++must_per_node[accelerator->numa_node];
  }
  // Candidates per NUMA node, each in index order (accelerators_ is).
  std::map<int, std::vector<std::string>> per_node;
  std::set<std::string> offered(available.begin(), available.end());
  for (const auto& accelerator : accelerators_) {
    if (offered.contains(accelerator.uuid) && !taken.contains(accelerator.uuid)) {
      per_node[accelerator.numa_node].push_back(accelerator.uuid);
    }
  }
  std::vector<int> order;
  order.reserve(per_node.size());
  for (const auto& [node, ids] : per_node) order.push_back(node);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    // Known NUMA nodes before unknown (-1); then where the must-include devices are; then size.
    const auto key = [&](int node) {
      const int must = must_per_node.contains(node) ? must_per_node.at(node) : 0;
      return std::make_tuple(node < 0 ? 1 : 0, -must, -static_cast<int>(per_node.at(node).size()),
                             node);
    };
    return key(a) < key(b);
  });
  for (int node : order) {
    for (const auto& id : per_node[node]) {
      if (static_cast<int>(chosen.size()) >= allocation_size) return chosen;
      chosen.push_back(id);
    }
  }
  return chosen;
}

}  // namespace zhisuan::agent
