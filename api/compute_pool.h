#pragma once
// ComputePool (zhisuan.io/v1alpha1, namespaced: the namespace is the tenant). The CRD, with its
// CEL validation, is charts/zhisuan/crds/zhisuan.io_computepools.yaml; the spec decoder below
// repeats its checks on what the planner acts on (ranges, selectors, vendor and products), since
// the controller may run against an older CRD that let such a spec through.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/meta.h"
#include "api/precision.h"

namespace zhisuan::api {

// Condition types on ComputePool.status.conditions.
inline constexpr std::string_view kConditionReady = "Ready";
inline constexpr std::string_view kConditionCapacitySatisfied = "CapacitySatisfied";
inline constexpr std::string_view kConditionCarbonCompliant = "CarbonCompliant";
inline constexpr std::string_view kConditionAcceleratorsHealthy = "AcceleratorsHealthy";

struct ComputePoolSpec {
  std::string vendor;                 // empty: any
  std::vector<std::string> products;  // empty: any product of the vendor
  std::optional<double> flops;        // exactly one of flops and accelerators
  Precision precision = Precision::kBf16;
  std::optional<int> accelerators;
  std::optional<double> min_carbon_free_ratio;
  std::optional<double> max_intensity;
  LabelSelector node_selector;
  bool all_or_nothing = true;  // spec.allocation: AllOrNothing (default) or Partial

  friend bool operator==(const ComputePoolSpec&, const ComputePoolSpec&) = default;
};

struct Toleration {
  std::string key, op, value, effect;
  friend bool operator==(const Toleration&, const Toleration&) = default;
};

// When something began for one member node: the controller's grace clocks (how long a member has
// fallen short, how long a drain has run). They live in the status because only the controller
// may write it (tenants get computepools/status read-only), so a tenant cannot reset a clock and
// keep a dead node, or cut a drain short (docs/security.md).
struct MemberSince {
  std::string node;
  std::string since;  // RFC 3339
  friend bool operator==(const MemberSince&, const MemberSince&) = default;
};

struct ComputePoolStatus {
  int64_t observed_generation = 0;
  std::vector<Condition> conditions;
  std::vector<std::string> nodes;  // sorted
  int accelerator_count = 0;
  double flops = 0;  // at spec precision
  std::optional<double> carbon_free_ratio;
  std::optional<double> carbon_intensity;
  // Members that report a carbon figure but no energy figure yet (ComputeNode
  // status.energy.averagePowerWatts), so the two figures above leave them out; 0 when all count.
  int carbon_uncounted_nodes = 0;
  std::map<std::string, std::string> scheduling_node_selector;
  std::vector<Toleration> scheduling_tolerations;
  // status.scheduling.resourceClaimTemplateName: the pool's DRA ResourceClaimTemplate (the
  // controller's --dra); "" without one.
  std::string scheduling_resource_claim_template;
  std::vector<MemberSince> impaired_members;  // by node name; status.impairedMembers
  std::vector<MemberSince> draining_members;  // by node name; status.drainingMembers

  friend bool operator==(const ComputePoolStatus&, const ComputePoolStatus&) = default;
};

struct ComputePool {
  std::string pool_namespace;
  std::string name;
  std::string uid;
  std::string resource_version;
  int64_t generation = 0;
  bool deleting = false;  // metadata.deletionTimestamp is set
  std::vector<std::string> finalizers;
  ComputePoolSpec spec;
  ComputePoolStatus status;

  std::string Key() const { return pool_namespace + "/" + name; }
  std::string BindingValue() const { return PoolBindingValue(pool_namespace, name); }
};

// Fails on anything malformed, spec and status included.
StatusOr<ComputePool> ComputePoolFromJson(const Json& object);
// For the controller, which must still report on (and clean up after) a pool it cannot act on:
// fails only when the metadata is malformed. A spec that does not decode leaves `spec` empty and
// says why in *spec_error (ok otherwise); a status that does not decode is left empty, since the
// controller rewrites it.
StatusOr<ComputePool> ComputePoolFromJson(const Json& object, Status* spec_error);
StatusOr<ComputePoolSpec> ComputePoolSpecFromJson(const Json& spec);
// The vendor a product name belongs to, by the prefixes of the names agents report (H100-SXM5 is
// nvidia's, Ascend910B huawei's); nullopt for a name no known family claims.
std::optional<std::string_view> ProductVendor(std::string_view product);
Json ToJson(const ComputePoolSpec& spec);
// The status object as the CRD stores it (nodeCount derived).
Json ToJson(const ComputePoolStatus& status);
StatusOr<ComputePoolStatus> ComputePoolStatusFromJson(const Json& status);

}  // namespace zhisuan::api
