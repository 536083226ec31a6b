#include "controller/observation_cache.h"

#include "common/log.h"
#include "kube/store.h"

namespace zhisuan::controller {

Json MetadataOnly(const Json& object) {
  Json kept = Json::object();
  if (!object.is_object()) return kept;
  for (const char* field : {"apiVersion", "kind"}) {
    if (object.contains(field)) kept[field] = object.at(field);
  }
  if (!object.contains("metadata") || !object.at("metadata").is_object()) return kept;
  const Json& metadata = object.at("metadata");
  Json& kept_metadata = kept["metadata"] = Json::object();
  for (const char* field :
       {"name", "namespace", "uid", "resourceVersion", "labels", "deletionTimestamp"}) {
    if (metadata.contains(field)) kept_metadata[field] = metadata.at(field);
  }
  return kept;
}

void ObservationCache::UpsertPool(const Json& object) {
  const std::string key = kube::ObjectKey(object);
  auto pool = PoolObservationFromJson(object);
  std::lock_guard lock(mu_);
  ++generation_;
  if (!pool.ok()) {
    ZLOG(Warning) << "skipping ComputePool " << key << " that does not decode: " << pool.status();
    pools_.erase(key);
    return;
  }
  if (!pool->invalid_spec.empty()) {
    // Kept: the planner reports it (Ready=False, InvalidSpec) and still handles its deletion.
    ZLOG(Warning) << "ComputePool " << key << " has an invalid spec: " << pool->invalid_spec;
  }
  pools_.insert_or_assign(key, std::make_shared<PoolObservation>(std::move(pool).value()));
}

void ObservationCache::RemovePool(const std::string& key) {
  std::lock_guard lock(mu_);
  ++generation_;
  pools_.erase(key);
}

bool ObservationCache::UpsertNode(const Json& object) {
  const std::string key = kube::ObjectKey(object);
  auto node = NodeInfoFromJson(object);
  std::lock_guard lock(mu_);
  ++generation_;
  auto known = nodes_.find(key);
  if (!node.ok()) {
    ZLOG(Warning) << "skipping Node " << key << " that does not decode: " << node.status();
    if (known == nodes_.end()) return false;
    nodes_.erase(known);
    return true;
  }
  const bool changed = known == nodes_.end() || !known->second->SameForPlanning(*node);
  nodes_.insert_or_assign(key, std::make_shared<NodeInfo>(std::move(node).value()));
  return changed;
}

void ObservationCache::RemoveNode(const std::string& name) {
  std::lock_guard lock(mu_);
  ++generation_;
  nodes_.erase(name);
  deleted_compute_nodes_.erase(name);
}

bool ObservationCache::UpsertComputeNode(const Json& object) {
  const std::string key = kube::ObjectKey(object);
  auto compute_node = api::ComputeNodeFromJson(object);
  std::optional<IgnoredComputeNode> ignored;
  if (!compute_node.ok()) ignored = IgnoredComputeNodeFrom(object, compute_node.status().message());
  std::lock_guard lock(mu_);
  ++generation_;
  auto known = compute_nodes_.find(key);
  auto known_ignored = ignored_compute_nodes_.find(key);
  if (ignored) {
    // Changed unless it was already ignored for the same reason.
    const bool changed = known != compute_nodes_.end() ||
                         known_ignored == ignored_compute_nodes_.end() ||
                         known_ignored->second.reason != ignored->reason ||
                         known_ignored->second.uid != ignored->uid;
    if (known != compute_nodes_.end()) compute_nodes_.erase(known);
    ignored_compute_nodes_.insert_or_assign(key, std::move(*ignored));
    return changed;
  }
  const bool changed = known_ignored != ignored_compute_nodes_.end() ||
                       known == compute_nodes_.end() || known->second->uid != compute_node->uid ||
                       !(known->second->status == compute_node->status);
  if (known_ignored != ignored_compute_nodes_.end()) ignored_compute_nodes_.erase(known_ignored);
  // The last one seen stands in until the new one's status is published (Published).
  if (Published(*compute_node)) deleted_compute_nodes_.erase(key);
  compute_nodes_.insert_or_assign(
      key, std::make_shared<api::ComputeNode>(std::move(compute_node).value()));
  return changed;
}

void ObservationCache::RemoveComputeNode(const std::string& name) {
  std::lock_guard lock(mu_);
  ++generation_;
  auto known = compute_nodes_.find(name);
  if (known != compute_nodes_.end() && nodes_.contains(name)) {
    deleted_compute_nodes_.insert_or_assign(name, known->second);
  }
  if (known != compute_nodes_.end()) compute_nodes_.erase(known);
  ignored_compute_nodes_.erase(name);
}

void ObservationCache::UpsertQuota(const Json& object) {
  const std::string key = kube::ObjectKey(object);
  auto quota = QuotaObservationFromJson(object);
  std::lock_guard lock(mu_);
  ++generation_;
  if (!quota.ok()) {
    ZLOG(Warning) << "skipping ComputeQuota " << key << " that does not decode: " << quota.status();
    quotas_.erase(key);
    return;
  }
  if (!quota->invalid_spec.empty()) {
    ZLOG(Warning) << "ComputeQuota " << key
                  << " has an invalid spec and caps nothing: " << quota->invalid_spec;
  }
  quotas_.insert_or_assign(key, std::make_shared<QuotaObservation>(std::move(quota).value()));
}

void ObservationCache::RemoveQuota(const std::string& key) {
  std::lock_guard lock(mu_);
  ++generation_;
  quotas_.erase(key);
}

bool ObservationCache::IsAgentPod(const Json& object) const {
  if (!agent_selector_) return false;
  const Json& metadata = object.value("metadata", Json::object());
  if (metadata.value("namespace", "") != agent_selector_->pod_namespace) return false;
  const Json labels = metadata.value("labels", Json::object());
  std::map<std::string, std::string> values;
  for (const auto& [key, value] : labels.items()) {
    if (value.is_string()) values.emplace(key, value.get<std::string>());
  }
  return agent_selector_->selector.Matches(values);
}

std::string ObservationCache::UpsertAgent(const Json& object) {
  const std::string key = kube::ObjectKey(object);
  std::lock_guard lock(mu_);
  std::optional<AgentInfo> agent;
  if (IsAgentPod(object)) {
    auto decoded = AgentInfoFromJson(object);
    if (decoded.ok()) {
      agent = std::move(decoded).value();
    } else {
      ZLOG(Warning) << "agent pod " << key << " does not decode: " << decoded.status();
    }
  }
  auto known = agents_.find(key);
  if (!agent) {
    if (known == agents_.end()) return "";
    std::string node = known->second->node;
    agents_.erase(known);
    ++generation_;
    return node;
  }
  if (known != agents_.end() && *known->second == *agent) return "";
  ++generation_;
  std::string node = agent->node;
  agents_.insert_or_assign(key, std::make_shared<AgentInfo>(std::move(*agent)));
  return node;
}

std::string ObservationCache::UpsertPod(const Json& object) {
  const std::string key = kube::ObjectKey(object);
  auto pod = PodInfoFromJson(object);
  std::lock_guard lock(mu_);
  auto known = pods_.find(key);
  if (!pod.ok() || pod->node.empty() || pod->finished) {
    if (known == pods_.end()) return "";
    std::string node = known->second->node;
    pods_.erase(known);
    ++generation_;
    return node;
  }
  if (known != pods_.end() && *known->second == *pod) return "";
  ++generation_;
  std::string node = pod->node;
  pods_.insert_or_assign(key, std::make_shared<PodInfo>(std::move(pod).value()));
  return node;
}

std::string ObservationCache::RemovePod(const std::string& key) {
  std::lock_guard lock(mu_);
  auto known = pods_.find(key);
  if (known == pods_.end()) return "";
  ++generation_;
  std::string node = known->second->node;
  pods_.erase(known);
  return node;
}

std::string ObservationCache::RemoveAgent(const std::string& key) {
  std::lock_guard lock(mu_);
  auto known = agents_.find(key);
  if (known == agents_.end()) return "";
  ++generation_;
  std::string node = known->second->node;
  agents_.erase(known);
  return node;
}

Json PodForStore(const Json& object) {
  Json kept = MetadataOnly(object);
  if (kept.contains("metadata")) kept["metadata"].erase("labels");
  return kept;
}

uint64_t ObservationCache::Generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

ClusterSnapshot ObservationCache::Snapshot() const {
  ClusterSnapshot snapshot;
  std::lock_guard lock(mu_);
  snapshot.pools.reserve(pools_.size());
  for (const auto& [key, pool] : pools_) snapshot.pools.push_back_shared(pool);
  snapshot.nodes.reserve(nodes_.size());
  for (const auto& [name, node] : nodes_) snapshot.nodes.push_back_shared(node);
  snapshot.compute_nodes.reserve(compute_nodes_.size());
  for (const auto& [name, compute_node] : compute_nodes_) {
    snapshot.compute_nodes.push_back_shared(compute_node);
  }
  for (const auto& [name, compute_node] : deleted_compute_nodes_) {
    snapshot.deleted_compute_nodes.push_back_shared(compute_node);
  }
  snapshot.agents.reserve(agents_.size());
  for (const auto& [key, agent] : agents_) snapshot.agents.push_back_shared(agent);
  snapshot.pods.reserve(pods_.size());
  for (const auto& [key, pod] : pods_) snapshot.pods.push_back_shared(pod);
  snapshot.quotas.reserve(quotas_.size());
  for (const auto& [key, quota] : quotas_) snapshot.quotas.push_back_shared(quota);
  snapshot.ignored_compute_nodes.reserve(ignored_compute_nodes_.size());
  for (const auto& [name, ignored] : ignored_compute_nodes_) {
    snapshot.ignored_compute_nodes.push_back(ignored);
  }
  return snapshot;
}

std::shared_ptr<const PoolObservation> ObservationCache::FindPool(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = pools_.find(key);
  return it == pools_.end() ? nullptr : it->second;
}

std::shared_ptr<const api::ComputeNode> ObservationCache::FindComputeNode(
    const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = compute_nodes_.find(name);
  return it == compute_nodes_.end() ? nullptr : it->second;
}

std::optional<std::string> ObservationCache::PoolVersion(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = pools_.find(key);
  if (it == pools_.end()) return std::nullopt;
  return it->second->pool.resource_version;
}

std::optional<std::string> ObservationCache::NodeVersion(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return std::nullopt;
  return it->second->resource_version;
}

}  // namespace zhisuan::controller
