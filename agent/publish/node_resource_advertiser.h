#pragma once
// Advertising accelerators as extended resources by patching the Node's status, for nodes without
// a kubelet device-plugin directory (kwok-simulated nodes, and clusters that only need scheduling
// to count devices). Capacity is every device, allocatable the healthy ones, as kubelet reports
// for device plugins. Pure planning plus a small writer; writes only when a count changed.

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "agent/device.h"
#include "kube/client.h"

namespace zhisuan::agent {

struct ResourceCount {
  int64_t capacity = 0;
  int64_t allocatable = 0;
  friend bool operator==(const ResourceCount&, const ResourceCount&) = default;
};
using ResourceCounts = std::map<std::string, ResourceCount>;

// Counts per resource name (resource_naming.h); `unhealthy` holds the UUIDs not allocatable.
ResourceCounts CountResources(const std::vector<Accelerator>& accelerators,
                              std::string_view resource_prefix,
                              const std::map<std::string, std::string>& unhealthy);

// The JSON patch (RFC 6902) for /api/v1/nodes/<n>/status that makes `node` show `counts`, e.g.
// [{"op":"add","path":"/status/capacity/nvidia.com~1gpu","value":"8"}, ...]; nullopt when it
// already does. Resources not in `counts` are left alone (they are not the agent's).
std::optional<nlohmann::json> PlanNodeResourcePatch(const nlohmann::json& node,
                                                    const ResourceCounts& counts);

// "nvidia.com/gpu" -> "nvidia.com~1gpu" (RFC 6901).
std::string EscapeJsonPointer(std::string_view token);

class NodeResourceAdvertiser {
 public:
  NodeResourceAdvertiser(kube::ApiClientPtr client, std::string node_name);
  // Patches the Node's status when it does not show `counts`; returns the number of writes (0/1).
  StatusOr<int> Advertise(const ResourceCounts& counts);
  uint64_t writes() const;

 private:
  const kube::ApiClientPtr client_;
  const std::string node_name_;
  mutable std::mutex mu_;
  std::optional<nlohmann::json> node_;  // as last returned by the server; nullopt: read first
  uint64_t writes_ = 0;
};

}  // namespace zhisuan::agent
