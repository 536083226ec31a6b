#include "tests/integration/faults/invariants.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>

#include "api/compute_node.h"
#include "api/compute_pool.h"
#include "api/meta.h"
#include "api/quantity.h"
#include "common/strings.h"

namespace zhisuan::faults {
namespace {

using Json = nlohmann::json;

// What one Node says about its binding.
struct NodeBinding {
  std::optional<std::string> label;  // zhisuan.io/pool
  std::vector<std::string> taints;   // "value:effect" of every zhisuan.io/pool taint
};

NodeBinding BindingOf(const Json& node) {
  NodeBinding binding;
  const Json labels = node.value("/metadata/labels"_json_pointer, Json::object());
  if (auto it = labels.find(std::string(api::kPoolLabel)); it != labels.end() && it->is_string()) {
    binding.label = it->get<std::string>();
  }
  for (const auto& taint : node.value("/spec/taints"_json_pointer, Json::array())) {
    if (taint.value("key", "") == api::kPoolTaintKey) {
      binding.taints.push_back(StrCat(taint.value("value", ""), ":", taint.value("effect", "")));
    }
  }
  return binding;
}

std::string ConditionField(const Json& pool, std::string_view type, const char* field) {
  for (const auto& condition : pool.value("/status/conditions"_json_pointer, Json::array())) {
    if (condition.value("type", "") == type) {
      const Json value = condition.value(field, Json());
      return value.is_string() ? value.get<std::string>() : value.dump();
    }
  }
  return "";
}

bool AcceleratorMatches(const api::ComputePoolSpec& spec, const api::AcceleratorStatus& device) {
  if (!spec.vendor.empty() && device.vendor != spec.vendor) return false;
  return spec.products.empty() || std::find(spec.products.begin(), spec.products.end(),
                                            device.product) != spec.products.end();
}

// Status quantities are stored with four significant digits.
bool RoughlyEqual(double a, double b) {
  return std::fabs(a - b) <= 1e-3 * std::max(std::fabs(a), std::fabs(b)) + 1e-9;
}

void CheckPool(const Json& object, const api::ComputePool& pool,
               const std::map<std::string, std::vector<std::string>>& labelled,
               const std::map<std::string, api::ComputeNode>& compute_nodes,
               std::vector<std::string>& out) {
  const std::string key = pool.Key();
  auto fail = [&](const std::string& what) { out.push_back(StrCat("pool ", key, ": ", what)); };
  if (pool.deleting) fail("still being deleted (deletionTimestamp set)");
  if (!object.contains("status")) {
    fail("has no status");
    return;
  }
  const api::ComputePoolStatus& status = pool.status;
  if (status.observed_generation != pool.generation) {
    fail(StrCat("status.observedGeneration ", status.observed_generation, " != generation ",
                pool.generation));
  }
  auto found = labelled.find(pool.BindingValue());
  const std::vector<std::string> bound =
      found == labelled.end() ? std::vector<std::string>{} : found->second;
  if (status.nodes != bound) {
    fail(StrCat("status.nodes [", StrJoin(status.nodes, ","), "] but the nodes labelled ",
                pool.BindingValue(), " are [", StrJoin(bound, ","), "]"));
  }
  const int node_count = object.value("/status/nodeCount"_json_pointer, -1);
  if (node_count != static_cast<int>(status.nodes.size())) {
    fail(StrCat("status.nodeCount ", node_count, " but ", status.nodes.size(), " nodes listed"));
  }

  // Capacity from the members' ComputeNodes: healthy accelerators that match the spec.
  int accelerators = 0;
  double flops = 0;
  // The pool's carbon figures are weighted by the members' average power (docs/controller.md,
  // Carbon figures): only members with both a ratio and a power figure count.
  std::optional<double> min_ratio, max_ratio;
  for (const auto& name : status.nodes) {
    auto it = compute_nodes.find(name);
    if (it == compute_nodes.end()) continue;  // missing or undecodable: nothing counted
    for (const auto& device : it->second.status.accelerators) {
      if (!device.healthy || !AcceleratorMatches(pool.spec, device)) continue;
      ++accelerators;
      flops += api::At(device.peak_flops, pool.spec.precision);
    }
    const auto& ratio = it->second.status.energy.carbon_free_ratio;
    if (!ratio || !it->second.status.energy.average_power_watts) continue;
    min_ratio = std::min(min_ratio.value_or(*ratio), *ratio);
    max_ratio = std::max(max_ratio.value_or(*ratio), *ratio);
  }
  if (status.accelerator_count != accelerators) {
    fail(StrCat("status.acceleratorCount ", status.accelerator_count, " but the members have ",
                accelerators, " healthy matching accelerators"));
  }
  if (!RoughlyEqual(status.flops, flops)) {
    fail(StrCat("status.flops ", api::FormatQuantity(status.flops), " but the members sum to ",
                api::FormatQuantity(flops)));
  }
  if (!min_ratio && status.carbon_free_ratio) {
    fail(StrCat("status.carbonFreeRatio ", *status.carbon_free_ratio,
                " but no member has both a carbon-free ratio and an average power"));
  }
  if (min_ratio) {
    // An energy-weighted average lies between the counted members' extremes.
    if (!status.carbon_free_ratio || *status.carbon_free_ratio < *min_ratio - 1e-6 ||
        *status.carbon_free_ratio > *max_ratio + 1e-6) {
      fail(StrCat("status.carbonFreeRatio ",
                  status.carbon_free_ratio ? std::to_string(*status.carbon_free_ratio) : "unset",
                  " outside the members' range ", *min_ratio, "..", *max_ratio));
    }
  }

  // Conditions: all four, for this generation, and Ready exactly when the other three are True.
  bool others_true = true;
  for (std::string_view type :
       {api::kConditionReady, api::kConditionCapacitySatisfied, api::kConditionCarbonCompliant,
        api::kConditionAcceleratorsHealthy}) {
    const std::string value = ConditionField(object, type, "status");
    if (value.empty()) {
      fail(StrCat("has no ", type, " condition"));
      continue;
    }
    const std::string observed = ConditionField(object, type, "observedGeneration");
    if (observed != std::to_string(pool.generation)) {
      fail(StrCat(type, ".observedGeneration ", observed, " != generation ", pool.generation));
    }
    if (type != api::kConditionReady) others_true = others_true && value == "True";
  }
  const std::string ready = ConditionField(object, api::kConditionReady, "status");
  if ((ready == "True") != others_true) {
    fail(StrCat("Ready is ", ready,
                " but CapacitySatisfied/CarbonCompliant/AcceleratorsHealthy are ",
                ConditionField(object, api::kConditionCapacitySatisfied, "status"), "/",
                ConditionField(object, api::kConditionCarbonCompliant, "status"), "/",
                ConditionField(object, api::kConditionAcceleratorsHealthy, "status")));
  }
  if (status.nodes.empty() &&
      ConditionField(object, api::kConditionAcceleratorsHealthy, "status") != "Unknown") {
    fail("has no members but AcceleratorsHealthy is not Unknown");
  }
}

}  // namespace

std::vector<std::string> FindViolations(kube::ApiClient& api, const ExpectedPools& expected) {
  std::vector<std::string> out;
  auto pools = api.List(api::kComputePools, "", {});
  auto nodes = api.List(kube::kNodes, "", {});
  auto compute_node_list = api.List(api::kComputeNodes, "", {});
  if (!pools.ok() || !nodes.ok() || !compute_node_list.ok()) {
    out.push_back(StrCat("cannot read the cluster: ", pools.status().ToString(), " / ",
                         nodes.status().ToString(), " / ", compute_node_list.status().ToString()));
    return out;
  }
  std::map<std::string, api::ComputeNode> compute_nodes;
  for (const auto& object : compute_node_list->items) {
    auto decoded = api::ComputeNodeFromJson(object);
    if (!decoded.ok()) continue;  // the controller ignores it too
    const std::string name = decoded->name;
    compute_nodes.emplace(name, std::move(*decoded));
  }

  // Bindings as the Nodes carry them.
  std::map<std::string, std::vector<std::string>> labelled;  // binding -> sorted node names
  std::map<std::string, std::string> node_binding;           // node -> binding
  for (const auto& node : nodes->items) {
    const std::string name = node["metadata"]["name"].get<std::string>();
    const NodeBinding binding = BindingOf(node);
    if (binding.taints.size() > 1) {
      out.push_back(StrCat("node ", name, " carries ", binding.taints.size(),
                           " pool taints: ", StrJoin(binding.taints, ", ")));
    }
    if (binding.label) {
      // NoSchedule while the node drains, NoExecute once it is the pool's (issue 17).
      if (binding.taints.size() != 1 || (binding.taints[0] != *binding.label + ":NoExecute" &&
                                         binding.taints[0] != *binding.label + ":NoSchedule")) {
        out.push_back(StrCat("node ", name, " is labelled for ", *binding.label,
                             " but its pool taints are [", StrJoin(binding.taints, ", "), "]"));
      }
      labelled[*binding.label].push_back(name);
      node_binding[name] = *binding.label;
    } else if (!binding.taints.empty()) {
      out.push_back(StrCat("node ", name, " is tainted [", StrJoin(binding.taints, ", "),
                           "] without the pool label"));
    }
  }
  for (auto& [binding, names] : labelled) std::sort(names.begin(), names.end());

  std::map<std::string, std::vector<std::string>> listed_by_binding;
  std::set<std::string> existing;
  for (const auto& object : pools->items) {
    auto pool = api::ComputePoolFromJson(object);
    if (!pool.ok()) {
      out.push_back(StrCat("a pool does not decode: ", pool.status().ToString()));
      continue;
    }
    existing.insert(pool->Key());
    listed_by_binding[pool->BindingValue()] = pool->status.nodes;
    CheckPool(object, *pool, labelled, compute_nodes, out);
  }

  // Orphans: a binding must name an existing pool that lists the node.
  for (const auto& [node, binding] : node_binding) {
    auto pool = listed_by_binding.find(binding);
    if (pool == listed_by_binding.end()) {
      out.push_back(StrCat("node ", node, " is bound to ", binding, ", which is no pool"));
    } else if (std::find(pool->second.begin(), pool->second.end(), node) == pool->second.end()) {
      out.push_back(StrCat("node ", node, " is bound to ", binding, ", which does not list it"));
    }
  }
  for (const auto& key : expected.present) {
    if (!existing.contains(key)) out.push_back(StrCat("pool ", key, " was lost"));
  }
  for (const auto& key : expected.deleted) {
    if (existing.contains(key)) out.push_back(StrCat("pool ", key, " was deleted but remains"));
  }
  return out;
}

std::string DumpCluster(kube::ApiClient& api) {
  std::ostringstream dump;
  auto pools = api.List(api::kComputePools, "", {});
  dump << "ComputePools:\n";
  if (pools.ok()) {
    for (const auto& pool : pools->items) {
      dump << "  " << pool["metadata"].value("namespace", "") << "/"
           << pool["metadata"].value("name", "")
           << " generation=" << pool["metadata"].value("generation", 0)
           << " deleting=" << pool["metadata"].contains("deletionTimestamp")
           << " spec=" << pool.value("spec", Json()).dump()
           << "\n    status=" << pool.value("status", Json()).dump() << "\n";
    }
  } else {
    dump << "  (" << pools.status() << ")\n";
  }
  auto nodes = api.List(kube::kNodes, "", {});
  dump << "Nodes:\n";
  if (nodes.ok()) {
    for (const auto& node : nodes->items) {
      const NodeBinding binding = BindingOf(node);
      dump << "  " << node["metadata"].value("name", "") << " label=" << binding.label.value_or("-")
           << " taints=[" << StrJoin(binding.taints, ",") << "]\n";
    }
  } else {
    dump << "  (" << nodes.status() << ")\n";
  }
  return dump.str();
}

}  // namespace zhisuan::faults
