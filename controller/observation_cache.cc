#include "controller/observation_cache.h"

#include "common/log.h"
#include "kube/store.h"

namespace zhisuan::controller {

void ObservationCache::UpsertPool(const Json& object) {
  const std::string key = kube::ObjectKey(object);
  auto pool = PoolObservationFromJson(object);
  std::lock_guard lock(mu_);
  if (!pool.ok()) {
    ZLOG(Warning) << "skipping ComputePool " << key << " that does not decode: " << pool.status();
    pools_.erase(key);
    return;
  }
  pools_.insert_or_assign(key, std::move(pool).value());
}

void ObservationCache::RemovePool(const std::string& key) {
  std::lock_guard lock(mu_);
  pools_.erase(key);
}

void ObservationCache::UpsertNode(const Json& object) {
  const std::string key = kube::ObjectKey(object);
  auto node = NodeInfoFromJson(object);
  std::lock_guard lock(mu_);
  if (!node.ok()) {
    ZLOG(Warning) << "skipping Node " << key << " that does not decode: " << node.status();
    nodes_.erase(key);
    return;
  }
  nodes_.insert_or_assign(key, std::move(node).value());
}

void ObservationCache::RemoveNode(const std::string& name) {
  std::lock_guard lock(mu_);
  nodes_.erase(name);
}

void ObservationCache::UpsertComputeNode(const Json& object) {
  const std::string key = kube::ObjectKey(object);
  ComputeNodeEntry entry;
  auto compute_node = api::ComputeNodeFromJson(object);
  if (compute_node.ok()) {
    entry.decoded = std::move(compute_node).value();
  } else {
    if (object.is_object() && object.contains("metadata") && object["metadata"].is_object()) {
      const Json& metadata = object["metadata"];
      auto text = [&](const char* field) {
        auto it = metadata.find(field);
        return it != metadata.end() && it->is_string() ? it->get<std::string>() : "";
      };
      entry.ignored.name = text("name");
      entry.ignored.uid = text("uid");
      entry.ignored.resource_version = text("resourceVersion");
    }
    entry.ignored.reason = compute_node.status().message();
  }
  std::lock_guard lock(mu_);
  compute_nodes_.insert_or_assign(key, std::move(entry));
}

void ObservationCache::RemoveComputeNode(const std::string& name) {
  std::lock_guard lock(mu_);
  compute_nodes_.erase(name);
}

ClusterSnapshot ObservationCache::Snapshot() const {
  ClusterSnapshot snapshot;
  std::lock_guard lock(mu_);
  snapshot.pools.reserve(pools_.size());
  for (const auto& [key, pool] : pools_) snapshot.pools.push_back(pool);
  snapshot.nodes.reserve(nodes_.size());
  for (const auto& [name, node] : nodes_) snapshot.nodes.push_back(node);
  snapshot.compute_nodes.reserve(compute_nodes_.size());
  for (const auto& [name, entry] : compute_nodes_) {
    if (entry.decoded) {
      snapshot.compute_nodes.push_back(*entry.decoded);
    } else {
      snapshot.ignored_compute_nodes.push_back(entry.ignored);
    }
  }
  return snapshot;
}

std::optional<std::string> ObservationCache::PoolVersion(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = pools_.find(key);
  if (it == pools_.end()) return std::nullopt;
  return it->second.pool.resource_version;
}

std::optional<std::string> ObservationCache::NodeVersion(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return std::nullopt;
  return it->second.resource_version;
}

}  // namespace zhisuan::controller
