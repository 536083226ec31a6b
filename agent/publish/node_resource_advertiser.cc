#include "agent/publish/node_resource_advertiser.h"

#include "agent/resource_naming.h"
#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::agent {
namespace {

using Json = nlohmann::json;

std::optional<std::string> QuantityAt(const Json& node, std::string_view field,
                                      const std::string& resource) {
  auto status = node.find("status");
  if (status == node.end() || !status->is_object()) return std::nullopt;
  auto list = status->find(field);
  if (list == status->end() || !list->is_object()) return std::nullopt;
  auto value = list->find(resource);
  if (value == list->end() || !value->is_string()) return std::nullopt;
  return value->get<std::string>();
}

bool HasObject(const Json& node, std::string_view field) {
  auto status = node.find("status");
  if (status == node.end() || !status->is_object()) return false;
  auto list = status->find(field);
  return list != status->end() && list->is_object();
}

}  // namespace

std::string EscapeJsonPointer(std::string_view token) {
  std::string escaped;
  for (char c : token) {
    if (c == '~') {
      escaped += "~0";
    } else if (c == '/') {
      escaped += "~1";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

ResourceCounts CountResources(const std::vector<Accelerator>& accelerators,
                              std::string_view resource_prefix,
                              const std::map<std::string, std::string>& unhealthy) {
  ResourceCounts counts;
  for (const auto& accelerator : accelerators) {
    ResourceCount& count = counts[ResourceNameFor(accelerator, resource_prefix)];
    ++count.capacity;
    if (!unhealthy.contains(accelerator.uuid)) ++count.allocatable;
  }
  return counts;
}

std::optional<Json> PlanNodeResourcePatch(const Json& node, const ResourceCounts& counts) {
  Json patch = Json::array();
  for (std::string_view field : {"capacity", "allocatable"}) {
    bool has_object = HasObject(node, field);
    for (const auto& [resource, count] : counts) {
      const std::string wanted = StrCat(field == "capacity" ? count.capacity : count.allocatable);
      if (QuantityAt(node, field, resource) == wanted) continue;
      if (!has_object) {
        // "add" on /status/capacity/x fails when /status/capacity itself is missing.
        patch.push_back(
            {{"op", "add"}, {"path", StrCat("/status/", field)}, {"value", Json::object()}});
        has_object = true;
      }
      patch.push_back({{"op", "add"},
                       {"path", StrCat("/status/", field, "/", EscapeJsonPointer(resource))},
                       {"value", wanted}});
    }
  }
  if (patch.empty()) return std::nullopt;
  return patch;
}

NodeResourceAdvertiser::NodeResourceAdvertiser(kube::ApiClientPtr client, std::string node_name)
    : client_(std::move(client)), node_name_(std::move(node_name)) {}

uint64_t NodeResourceAdvertiser::writes() const {
  std::lock_guard lock(mu_);
  return writes_;
}

StatusOr<int> NodeResourceAdvertiser::Advertise(const ResourceCounts& counts) {
  std::lock_guard lock(mu_);
  if (!node_) {
    auto node = client_->Get(kube::kNodes, "", node_name_);
    if (!node.ok()) return node.status().Annotate(StrCat("reading Node ", node_name_));
    node_ = std::move(*node);
  }
  auto patch = PlanNodeResourcePatch(*node_, counts);
  if (!patch) return 0;
  ++writes_;
  kube::PatchOptions options;
  options.subresource = "status";
  auto node = client_->Patch(kube::kNodes, "", node_name_, kube::PatchType::kJson, *patch, options);
  if (!node.ok()) {
    node_.reset();
    return node.status().Annotate(StrCat("advertising resources on Node ", node_name_));
  }
  ZLOG(Info) << "advertised " << patch->dump() << " on Node " << node_name_;
  node_ = std::move(*node);
  return 1;
}

}  // namespace zhisuan::agent
