#pragma once
// The API group and version of Zhisuan's custom resources, and where each kind is served. The one
// C++ source for them (the chart's CRDs in charts/zhisuan/crds/ declare the same). kube/ is a
// general Kubernetes client that knows nothing of Zhisuan, so callers hand these to it.

#include <string>
#include <string_view>
#include <type_traits>

namespace zhisuan::api {

inline constexpr std::string_view kGroup = "zhisuan.io";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kApiVersion = "zhisuan.io/v1alpha1";

// Where a custom resource is served: group, version, plural resource name, kind, and whether it
// is namespaced. Converts to any aggregate with those five fields in that order (in practice
// kube::ResourceType), so api/ can hand the address to the client without depending on it.
struct CustomResource {
  std::string_view group;
  std::string_view version;
  std::string_view resource;
  std::string_view kind;
  bool namespaced = false;

  template <typename ResourceType>
  requires std::is_aggregate_v<ResourceType> && requires {
    ResourceType{std::string(), std::string(), std::string(), std::string(), bool()};
  }
  operator ResourceType() const {  // NOLINT(google-explicit-constructor): by design
    return ResourceType{std::string(group), std::string(version), std::string(resource),
                        std::string(kind), namespaced};
  }
};

inline constexpr CustomResource kComputeNodes{kGroup, kVersion, "computenodes", "ComputeNode",
                                              false};
inline constexpr CustomResource kComputePools{kGroup, kVersion, "computepools", "ComputePool",
                                              true};
inline constexpr CustomResource kComputeQuotas{kGroup, kVersion, "computequotas", "ComputeQuota",
                                               true};

}  // namespace zhisuan::api
