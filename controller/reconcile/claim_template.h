#pragma once
// The ResourceClaimTemplate (resource.k8s.io/v1) the controller keeps in each ComputePool's
// namespace when DRA is on (--dra): one accelerator from the devices the agents publish for the
// pool's nodes (their `pool` attribute is the node's zhisuan.io/pool label, docs/dra.md) and of
// the pool's vendor and products. Pure: the writer is controller/claim_template_writer.h.

#include <string>
#include <string_view>

#include "api/compute_pool.h"

namespace zhisuan::controller {

// The DRA driver the agents publish as (agent/dra/device_name.h).
inline constexpr std::string_view kDraDriverName = "accelerators.zhisuan.io";
// Every template the controller keeps carries this label, which its watch selects on.
inline constexpr std::string_view kClaimTemplateManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr std::string_view kClaimTemplateManagedBy = "zhisuan-controller";

// "<pool>-accelerator": the name the pool's status.scheduling.resourceClaimTemplateName gives.
std::string ClaimTemplateName(std::string_view pool_name);

// The CEL expression that selects the pool's devices.
std::string PoolDeviceSelector(const api::ComputePool& pool);

// The whole object: name, namespace, an owner reference to the pool (the garbage collector
// deletes it with the pool), and the spec.
api::Json DesiredClaimTemplate(const api::ComputePool& pool);

}  // namespace zhisuan::controller
