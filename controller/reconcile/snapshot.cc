#include "controller/reconcile/snapshot.h"

#include <ctime>
#include <stdexcept>

#include "common/strings.h"

namespace zhisuan::controller {

std::string NodeInfo::Zone() const {
  auto it = labels.find(std::string(kZoneLabel));
  return it == labels.end() ? "" : it->second;
}

std::string NodeInfo::Rack() const {
  auto it = labels.find(std::string(kRackLabel));
  if (it == labels.end()) it = labels.find(std::string(kRackLabelFallback));
  return it == labels.end() ? "" : it->second;
}

std::string NodeInfo::PoolBinding() const {
  auto it = labels.find(std::string(api::kPoolLabel));
  return it == labels.end() ? "" : it->second;
}

bool NodeInfo::SameForPlanning(const NodeInfo& other) const {
  return name == other.name && uid == other.uid && labels == other.labels && ready == other.ready &&
         unschedulable == other.unschedulable && deleting == other.deleting &&
         taints == other.taints;
}

StatusOr<NodeInfo> NodeInfoFromJson(const Json& object) {
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object()) {
    return InvalidArgumentError("Node has no metadata");
  }
  NodeInfo node;
  try {
    const Json& metadata = object["metadata"];
    node.name = metadata.value("name", "");
    node.uid = metadata.value("uid", "");
    node.resource_version = metadata.value("resourceVersion", "");
    node.deleting =
        metadata.contains("deletionTimestamp") && !metadata["deletionTimestamp"].is_null();
    if (metadata.contains("labels") && metadata["labels"].is_object()) {
      node.labels = metadata["labels"].get<std::map<std::string, std::string>>();
    }
    // By reference: a kubelet's status (images, conditions, addresses) is most of a Node, and
    // every heartbeat is decoded.
    static const Json kNoObject = Json::object(), kNoArray = Json::array();
    auto field = [](const Json& parent, const char* name, const Json& absent) -> const Json& {
      auto it = parent.find(name);
      if (it == parent.end() || it->is_null()) return absent;
      if (it->type() != absent.type()) {
        throw std::invalid_argument(
            StrCat(name, " is ", it->type_name(), ", not ", absent.type_name()));
      }
      return *it;
    };
    const Json& spec = field(object, "spec", kNoObject);
    node.unschedulable = spec.value("unschedulable", false);
    for (const auto& taint : field(spec, "taints", kNoArray)) {
      node.taints.push_back(
          {taint.value("key", ""), taint.value("value", ""), taint.value("effect", "")});
    }
    const Json& status = field(object, "status", kNoObject);
    for (const auto& condition : field(status, "conditions", kNoArray)) {
      if (condition.value("type", "") == "Ready") {
        node.ready = condition.value("status", "") == "True";
      }
    }
  } catch (const Json::exception& error) {
    return InvalidArgumentError(StrCat("Node is malformed: ", error.what()));
  } catch (const std::invalid_argument& error) {
    return InvalidArgumentError(StrCat("Node is malformed: ", error.what()));
  }
  if (node.name.empty()) return InvalidArgumentError("Node has no metadata.name");
  return node;
}

StatusOr<PodInfo> PodInfoFromJson(const Json& object) {
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object()) {
    return InvalidArgumentError("Pod has no metadata");
  }
  PodInfo pod;
  try {
    const Json& metadata = object["metadata"];
    pod.pod_namespace = metadata.value("namespace", "");
    pod.name = metadata.value("name", "");
    pod.uid = metadata.value("uid", "");
    pod.terminating =
        metadata.contains("deletionTimestamp") && !metadata["deletionTimestamp"].is_null();
    auto annotations = metadata.find("annotations");
    pod.mirror = annotations != metadata.end() && annotations->is_object() &&
                 annotations->contains("kubernetes.io/config.mirror");
    auto owners = metadata.find("ownerReferences");
    if (owners != metadata.end() && owners->is_array()) {
      for (const auto& owner : *owners) {
        if (owner.value("controller", false) && owner.value("kind", "") == "DaemonSet" &&
            StartsWith(owner.value("apiVersion", ""), "apps/")) {
          pod.daemon_set = true;
        }
      }
    }
    auto spec = object.find("spec");
    if (spec != object.end() && spec->is_object()) pod.node = spec->value("nodeName", "");
    auto status = object.find("status");
    if (status != object.end() && status->is_object()) {
      const std::string phase = status->value("phase", "");
      pod.finished = phase == "Succeeded" || phase == "Failed";
    }
  } catch (const Json::exception& error) {
    return InvalidArgumentError(StrCat("Pod is malformed: ", error.what()));
  }
  if (pod.name.empty() || pod.pod_namespace.empty()) {
    return InvalidArgumentError("Pod has no metadata.name or metadata.namespace");
  }
  return pod;
}

StatusOr<AgentInfo> AgentInfoFromJson(const Json& object) {
  AgentInfo agent;
  try {
    const Json& metadata = object.at("metadata");
    agent.pod = StrCat(metadata.value("namespace", ""), "/", metadata.value("name", ""));
    agent.node = object.value("/spec/nodeName"_json_pointer, std::string());
    std::optional<WallTime> created;
    if (metadata.contains("creationTimestamp") && metadata["creationTimestamp"].is_string()) {
      created = ParseRfc3339(metadata["creationTimestamp"].get<std::string>());
    }
    agent.since = created;
    const Json conditions = object.value("/status/conditions"_json_pointer, Json::array());
    for (const auto& condition : conditions) {
      if (!condition.is_object() || condition.value("type", "") != "Ready") continue;
      agent.ready = condition.value("status", "") == "True";
      const std::string changed = condition.value("lastTransitionTime", "");
      if (auto parsed = ParseRfc3339(changed)) agent.since = parsed;
    }
  } catch (const Json::exception& error) {
    return InvalidArgumentError(StrCat("agent Pod is malformed: ", error.what()));
  }
  if (agent.node.empty() || StartsWith(agent.pod, "/") || EndsWith(agent.pod, "/")) {
    return InvalidArgumentError("agent Pod has no name, namespace or spec.nodeName");
  }
  return agent;
}

std::optional<WallTime> ParseRfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  auto field = [&](size_t at, size_t length) { return ParseInt64(text.substr(at, length)); };
  auto year = field(0, 4), month = field(5, 2), day = field(8, 2), hour = field(11, 2),
       minute = field(14, 2), second = field(17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  size_t at = 19;
  if (at < text.size() && text[at] == '.') {
    ++at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at;
  }
  int64_t offset_seconds = 0;
  std::string_view zone = text.substr(at);
  if (zone == "Z" || zone == "z") {
    offset_seconds = 0;
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    auto hours = ParseInt64(zone.substr(1, 2)), minutes = ParseInt64(zone.substr(4, 2));
    if (!hours || !minutes) return std::nullopt;
    offset_seconds = (*hours * 3600 + *minutes * 60) * (zone[0] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  std::tm utc{};
  utc.tm_year = static_cast<int>(*year - 1900);
  utc.tm_mon = static_cast<int>(*month - 1);
  utc.tm_mday = static_cast<int>(*day);
  utc.tm_hour = static_cast<int>(*hour);
  utc.tm_min = static_cast<int>(*minute);
  utc.tm_sec = static_cast<int>(*second);
  const int64_t seconds = static_cast<int64_t>(timegm(&utc)) - offset_seconds;
  return WallTime(std::chrono::seconds(seconds));
}

std::string FormatWallTime(WallTime time) {
  return api::FormatRfc3339(
      std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count());
}

std::vector<api::MemberSince> MemberClocks(const std::map<std::string, WallTime>& since) {
  std::vector<api::MemberSince> members;
  members.reserve(since.size());
  for (const auto& [node, time] : since) members.push_back({node, FormatWallTime(time)});
  return members;
}

std::map<std::string, WallTime> ClocksFromMembers(const std::vector<api::MemberSince>& members) {
  std::map<std::string, WallTime> since;
  for (const auto& member : members) {
    auto parsed = ParseRfc3339(member.since);
    if (parsed && !member.node.empty()) since.emplace(member.node, *parsed);
  }
  return since;
}

StatusOr<PoolObservation> PoolObservationFromJson(const Json& object) {
  PoolObservation observation;
  Status spec_error;
  ZHISUAN_ASSIGN_OR_RETURN(observation.pool, api::ComputePoolFromJson(object, &spec_error));
  if (!spec_error.ok()) observation.invalid_spec = spec_error.message();
  const Json& metadata = object["metadata"];
  if (metadata.contains("creationTimestamp") && metadata["creationTimestamp"].is_string()) {
    observation.creation_timestamp = metadata["creationTimestamp"].get<std::string>();
  }
  observation.impaired_since = ClocksFromMembers(observation.pool.status.impaired_members);
  observation.draining_since = ClocksFromMembers(observation.pool.status.draining_members);
  // Tenant-writable, so never read: only noted, so the next metadata write removes them.
  if (metadata.contains("annotations") && metadata["annotations"].is_object()) {
    const Json& annotations = metadata["annotations"];
    observation.legacy_clock_annotations =
        annotations.contains(std::string(kImpairedSinceAnnotation)) ||
        annotations.contains(std::string(kDrainingSinceAnnotation));
  }
  return observation;
}

StatusOr<QuotaObservation> QuotaObservationFromJson(const Json& object) {
  QuotaObservation observation;
  Status spec_error;
  ZHISUAN_ASSIGN_OR_RETURN(observation.quota, api::ComputeQuotaFromJson(object, &spec_error));
  if (!spec_error.ok()) observation.invalid_spec = spec_error.message();
  return observation;
}

IgnoredComputeNode IgnoredComputeNodeFrom(const Json& object, std::string reason) {
  IgnoredComputeNode ignored;
  ignored.reason = std::move(reason);
  if (!object.is_object() || !object.contains("metadata") || !object.at("metadata").is_object()) {
    return ignored;
  }
  const Json& metadata = object.at("metadata");
  auto text = [&](const char* key) {
    return metadata.contains(key) && metadata.at(key).is_string()
               ? metadata.at(key).get<std::string>()
               : std::string();
  };
  ignored.name = text("name");
  ignored.uid = text("uid");
  ignored.resource_version = text("resourceVersion");
  return ignored;
}

}  // namespace zhisuan::controller
