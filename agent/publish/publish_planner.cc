#include "agent/publish/publish_planner.h"

#include <cmath>
#include <regex>
#include <string>

#include "agent/publish/compute_node_status.h"
#include "common/strings.h"

namespace zhisuan::agent {
namespace {

// A published figure within `ratio` of the new one is kept: drift is not news.
void KeepWithinTolerance(double before, double& now, double ratio) {
  if (before > 0 && now > 0 && std::abs(now - before) <= ratio * before) now = before;
}

// A condition message with its FLOPS figures ("989 TFLOP/s") blanked.
std::string WithoutFigures(const std::string& message) {
  static const std::regex kFigure("[0-9.]+ TFLOP/s");
  return std::regex_replace(message, kFigure, "# TFLOP/s");
}

// Drops nulls, empty objects and empty arrays, recursively, so {"energy": {}} equals {}.
Json Normalise(const Json& value) {
  if (value.is_object()) {
    Json out = Json::object();
    for (const auto& [key, item] : value.items()) {
      Json normalised = Normalise(item);
      if (normalised.is_null()) continue;
      if ((normalised.is_object() || normalised.is_array()) && normalised.empty()) continue;
      out[key] = std::move(normalised);
    }
    return out;
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (const auto& item : value) out.push_back(Normalise(item));
    return out;
  }
  return value;
}

const Json* Find(const Json& object, std::initializer_list<std::string_view> path) {
  const Json* current = &object;
  for (std::string_view key : path) {
    if (!current->is_object()) return nullptr;
    auto it = current->find(key);
    if (it == current->end()) return nullptr;
    current = &*it;
  }
  return current;
}

std::string StringAt(const Json& object, std::initializer_list<std::string_view> path) {
  const Json* value = Find(object, path);
  return value != nullptr && value->is_string() ? value->get<std::string>() : std::string();
}

// Keeps the published average power (and its source) unless the new figure moved by more than
// `ratio` of it. With no new figure, keeps it only while the agent's window is still filling.
// Nothing published yet: the desired figure goes out as it is (its first publication).
void KeepAveragePower(const Json& status, double ratio, bool pending, api::EnergyStatus& desired) {
  const Json* watts = Find(status, {"energy", "averagePowerWatts"});
  if (watts == nullptr || !watts->is_number()) return;
  const double published = watts->get<double>();
  const bool keep = desired.average_power_watts
                        ? std::abs(*desired.average_power_watts - published) <= ratio * published
                        : pending;
  if (!keep) return;
  desired.average_power_watts = published;
  desired.average_power_source = StringAt(status, {"energy", "averagePowerSource"});
}

// The agent's labels on `node`: per managedFields where the server reports them; where it does not
// (an old server, a stripped object), every label of the agent's key set that is present.
std::set<std::string> OwnedAgentLabels(const Json& node, const std::string& manager) {
  if (Find(node, {"metadata", "managedFields"}) != nullptr) return LabelsAppliedBy(node, manager);
  std::set<std::string> owned;
  const Json* labels = Find(node, {"metadata", "labels"});
  if (labels == nullptr || !labels->is_object()) return owned;
  for (std::string_view key : {api::kLabelVendor, api::kLabelProduct, api::kLabelAcceleratorCount,
                               api::kLabelAcceleratorMemory, api::kLabelArchitecture}) {
    if (labels->contains(key)) owned.insert(std::string(key));
  }
  return owned;
}

bool LabelsNeedApply(const DesiredPublication& desired, const Json& node,
                     const std::string& manager) {
  const std::set<std::string> owned = OwnedAgentLabels(node, manager);
  std::set<std::string> wanted;
  for (const auto& [key, value] : desired.labels) wanted.insert(key);
  // Keys the agent holds but no longer wants: an apply releases (and so removes) them.
  if (owned != wanted) return true;
  const Json* labels = Find(node, {"metadata", "labels"});
  for (const auto& [key, value] : desired.labels) {
    if (labels == nullptr || !labels->is_object()) return true;
    auto it = labels->find(key);
    if (it == labels->end() || !it->is_string() || it->get<std::string>() != value) return true;
  }
  return false;
}

bool HasOwnerReference(const Json& compute_node, const Json& wanted) {
  const Json* references = Find(compute_node, {"metadata", "ownerReferences"});
  if (references == nullptr || !references->is_array()) return false;
  for (const auto& reference : *references) {
    if (!reference.is_object()) continue;
    bool same = true;
    for (const char* key : {"apiVersion", "kind", "name", "uid"}) {
      same = same && reference.value(key, Json()) == wanted[key];
    }
    if (same) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::set<std::string> LabelsAppliedBy(const Json& object, std::string_view manager) {
  std::set<std::string> keys;
  const Json* entries = Find(object, {"metadata", "managedFields"});
  if (entries == nullptr || !entries->is_array()) return keys;
  for (const auto& entry : *entries) {
    if (!entry.is_object() || entry.value("manager", "") != manager ||
        entry.value("operation", "") != "Apply" || !entry.value("subresource", "").empty()) {
      continue;
    }
    const Json* labels = Find(entry, {"fieldsV1", "f:metadata", "f:labels"});
    if (labels == nullptr || !labels->is_object()) continue;
    for (const auto& [field, unused] : labels->items()) {
      if (StartsWith(field, "f:")) keys.insert(field.substr(2));
    }
  }
  return keys;
}

Json NodeOwnerReference(std::string_view node_name, std::string_view node_uid) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"name", std::string(node_name)},
          {"uid", std::string(node_uid)}};
}

bool SameStatus(const Json& a, const Json& b) { return Normalise(a) == Normalise(b); }

api::ComputeNodeStatus StabiliseStatus(api::ComputeNodeStatus desired, const Json& observed_object,
                                       const PublishPolicy& policy, bool average_power_pending) {
  const Json* generation = Find(observed_object, {"metadata", "generation"});
  const int64_t observed_generation =
      generation != nullptr && generation->is_number_integer() ? generation->get<int64_t>() : 0;
  for (auto& condition : desired.conditions) condition.observed_generation = observed_generation;

  const Json* status = Find(observed_object, {"status"});
  if (status == nullptr || !status->is_object()) return desired;
  if (const Json* conditions = Find(*status, {"conditions"});
      conditions && conditions->is_array()) {
    for (const auto& item : *conditions) {
      auto observed = api::ConditionFromJson(item);
      if (!observed.ok()) continue;
      for (auto& condition : desired.conditions) {
        if (condition.type == observed->type && condition.status == observed->status) {
          condition.last_transition_time = observed->last_transition_time;
          // The suspect peak's figures move with every probe run; the facts (which device and
          // precision) are the news.
          if (condition.type == kConditionPeakFlopsSuspect &&
              condition.reason == observed->reason &&
              WithoutFigures(condition.message) == WithoutFigures(observed->message)) {
            condition.message = observed->message;
          }
        }
      }
    }
  }
  // Per accelerator, the same tolerance, matched by uuid.
  if (const Json* accelerators = Find(*status, {"accelerators"});
      accelerators && accelerators->is_array()) {
    for (const auto& item : *accelerators) {
      if (!item.is_object() || !item.contains("measuredFlops")) continue;
      const std::string uuid = item.value("uuid", "");
      auto published = api::FlopsFromJson(item["measuredFlops"], "measuredFlops");
      if (!published.ok()) continue;
      for (auto& accelerator : desired.accelerators) {
        if (accelerator.uuid != uuid) continue;
        for (Precision precision : kAllPrecisions) {
          KeepWithinTolerance(At(*published, precision), At(accelerator.measured_flops, precision),
                              policy.measured_flops_tolerance_ratio);
        }
      }
    }
  }
  KeepAveragePower(*status, policy.average_power_threshold_ratio, average_power_pending,
                   desired.energy);
  if (const Json* measured = Find(*status, {"flops", "measured"})) {
    auto published = api::FlopsFromJson(*measured, "status.flops.measured");
    if (published.ok()) {
      for (Precision precision : kAllPrecisions) {
        KeepWithinTolerance(At(*published, precision), At(desired.measured_flops, precision),
                            policy.measured_flops_tolerance_ratio);
      }
    }
  }
  return desired;
}

PublishPlan PlanPublish(const DesiredPublication& desired, const ObservedObjects& observed,
                        const PublishPolicy& policy) {
  PublishPlan plan;
  if (!observed.node) return plan;
  const Json& node = *observed.node;

  if (LabelsNeedApply(desired, node, policy.field_manager)) {
    Json labels = Json::object();
    for (const auto& [key, value] : desired.labels) labels[key] = value;
    plan.node_labels = Json{{"apiVersion", "v1"},
                            {"kind", "Node"},
                            {"metadata", {{"name", desired.node_name}, {"labels", labels}}}};
  }

  const std::string node_uid = StringAt(node, {"metadata", "uid"});
  const Json owner = NodeOwnerReference(desired.node_name, node_uid);
  const std::string api_version(api::kApiVersion);
  if (!observed.compute_node || !HasOwnerReference(*observed.compute_node, owner)) {
    plan.compute_node = Json{
        {"apiVersion", api_version},
        {"kind", "ComputeNode"},
        {"metadata", {{"name", desired.node_name}, {"ownerReferences", Json::array({owner})}}}};
  }

  const Json empty = Json::object();
  const Json& observed_object = observed.compute_node ? *observed.compute_node : empty;
  const api::ComputeNodeStatus status =
      StabiliseStatus(desired.status, observed_object, policy, desired.average_power_pending);
  const Json status_json = api::ToJson(status);
  const Json* observed_status = Find(observed_object, {"status"});
  if (!observed.compute_node || observed_status == nullptr ||
      !SameStatus(status_json, *observed_status)) {
    plan.compute_node_status = Json{{"apiVersion", api_version},
                                    {"kind", "ComputeNode"},
                                    {"metadata", {{"name", desired.node_name}}},
                                    {"status", status_json}};
  }
  return plan;
}

}  // namespace zhisuan::agent
