#include "controller/plan_executor.h"

#include <initializer_list>

#include "api/group_version.h"
#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::controller {
namespace {

kube::ObjectReference PoolReference(std::string_view ns, std::string_view name,
                                    std::string_view uid) {
  return {std::string(api::kApiVersion), "ComputePool", std::string(ns), std::string(name),
          std::string(uid)};
}

}  // namespace

Json NodeBindingPatch(const NodeChange& change) {
  Json taints = Json::array();
  for (const auto& taint : change.taints) {
    Json item = {{"key", taint.key}, {"effect", taint.effect}};
    if (!taint.value.empty()) item["value"] = taint.value;
    taints.push_back(std::move(item));
  }
  Json label = change.to_binding.empty() ? Json(nullptr) : Json(change.to_binding);
  // The resourceVersion makes the server refuse the write (409) if the node changed since the
  // plan read it; the taint list is replaced whole, which is safe for the same reason.
  return {{"metadata",
           {{"resourceVersion", change.resource_version},
            {"labels", {{std::string(api::kPoolLabel), std::move(label)}}}}},
          {"spec", {{"taints", std::move(taints)}}}};
}

Json PoolMetadataPatch(const PoolChange& change) {
  Json metadata = {{"resourceVersion", change.resource_version}};
  if (change.finalizers) metadata["finalizers"] = *change.finalizers;
  if (change.remove_legacy_annotations) {
    for (std::string_view key : {kImpairedSinceAnnotation, kDrainingSinceAnnotation}) {
      metadata["annotations"][std::string(key)] = nullptr;
    }
  }
  return {{"metadata", std::move(metadata)}};
}

Json PoolStatusPatch(const api::ComputePoolStatus& status) {
  Json json = api::ToJson(status);
  // A merge patch leaves out fields alone; absent figures must be cleared explicitly. (Lists are
  // replaced whole, so a clock that stopped is dropped with its list.)
  if (!status.carbon_free_ratio) json["carbonFreeRatio"] = nullptr;
  if (!status.carbon_intensity) json["carbonIntensity"] = nullptr;
  if (status.impaired_members.empty()) json["impairedMembers"] = nullptr;
  if (status.draining_members.empty()) json["drainingMembers"] = nullptr;
  return {{"status", std::move(json)}};
}

namespace {
// `to` as a merge patch over `from`: a figure no longer there is cleared with null.
Json AmountsPatch(const api::ComputeQuotaAmounts& from, const api::ComputeQuotaAmounts& to) {
  Json json = api::ToJson(to);
  if (from.accelerators && !to.accelerators) json["accelerators"] = nullptr;
  for (const auto& [precision, value] : from.flops) {
    if (!to.flops.contains(precision)) {
      json["flops"][std::string(api::PrecisionName(precision))] = nullptr;
    }
  }
  return json;
}
}  // namespace

Json QuotaStatusPatch(const QuotaChange& change) {
  return {{"status",
           {{"observedGeneration", change.to.observed_generation},
            {"hard", AmountsPatch(change.from.hard, change.to.hard)},
            {"used", AmountsPatch(change.from.used, change.to.used)}}}};
}

Json EvictionBody(const PodEviction& eviction) {
  // The uid precondition: a pod recreated under the same name since the plan is not evicted.
  return {{"apiVersion", "policy/v1"},
          {"kind", "Eviction"},
          {"metadata", {{"name", eviction.name}, {"namespace", eviction.pod_namespace}}},
          {"deleteOptions", {{"preconditions", {{"uid", eviction.uid}}}}}};
}

PlanExecutor::PlanExecutor(kube::ApiClientPtr client, EventSink* events, WriteGate may_write,
                           std::string field_manager)
    : client_(std::move(client)),
      events_(events),
      may_write_(std::move(may_write)),
      field_manager_(std::move(field_manager)) {}

namespace {
StatusOr<std::string> VersionOf(const StatusOr<Json>& result) {
  if (!result.ok()) return result.status();
  return result->value("/metadata/resourceVersion"_json_pointer, std::string());
}
}  // namespace

StatusOr<std::string> PlanExecutor::WriteNode(const NodeChange& change) {
  return VersionOf(client_->Patch(kube::kNodes, "", change.node, kube::PatchType::kMerge,
                                  NodeBindingPatch(change), {field_manager_, false, ""}));
}

Status PlanExecutor::Evict(const PodEviction& eviction) {
  auto result = client_->CreateSubresource(kube::kPods, eviction.pod_namespace, eviction.name,
                                           "eviction", EvictionBody(eviction));
  return result.ok() ? OkStatus() : result.status();
}

StatusOr<std::string> PlanExecutor::WritePoolMetadata(const PoolChange& change) {
  auto result = client_->Patch(api::kComputePools, change.pool_namespace, change.name,
                               kube::PatchType::kMerge, PoolMetadataPatch(change),
                               {field_manager_, false, ""});
  // A pool whose last finalizer we removed is gone; that is success.
  if (!result.ok() && kube::IsNotFound(result.status()) && change.RemovesFinalizer()) {
    return std::string();
  }
  return VersionOf(result);
}

StatusOr<std::string> PlanExecutor::WritePoolStatus(const PoolChange& change) {
  return VersionOf(client_->Patch(api::kComputePools, change.pool_namespace, change.name,
                                  kube::PatchType::kMerge, PoolStatusPatch(*change.status),
                                  {field_manager_, false, "status"}));
}

void PlanExecutor::WarnIgnored(const IgnoredComputeNode& ignored) {
  {
    std::lock_guard lock(mu_);
    std::string& warned_version = warned_version_[ignored.name];
    if (warned_version == ignored.resource_version) return;
    warned_version = ignored.resource_version;
  }
  ZLOG(Warning) << "ignoring ComputeNode " << ignored.name << ": " << ignored.reason;
  if (events_ == nullptr) return;
  events_->Emit(
      {std::string(api::kApiVersion), "ComputeNode", "", ignored.name, ignored.uid},
      kube::EventType::kWarning, "IgnoredComputeNode",
      StrCat("the controller ignores this ComputeNode until it is fixed: ", ignored.reason));
}

Status PlanExecutor::CheckNoNodeCarriesBinding(const PoolChange& change) {
  // The plan comes from the informer cache, which misses a bind whose write landed but whose
  // reply was lost (an API server restarting mid-request leaves no version to wait for). Removing
  // the finalizer then would orphan that node for good, so the release is checked live. One List
  // per pool deletion, a rare event, is a small price.
  kube::ListOptions options;
  options.label_selector =
      StrCat(api::kPoolLabel, "=", api::PoolBindingValue(change.pool_namespace, change.name));
  ZHISUAN_ASSIGN_OR_RETURN(kube::ObjectList bound, client_->List(kube::kNodes, "", options));
  if (bound.items.empty()) return OkStatus();
  const Json& node = bound.items.front();
  // Aborted, not a conflict: the pool is retried with backoff until the cache has seen the
  // binding and the planner releases it.
  return AbortedError(StrCat("node ", node.value("/metadata/name"_json_pointer, std::string()),
                             " still carries the pool's binding (", bound.items.size(),
                             " node(s)); waiting for the cache to see it"));
}

ExecutionResult PlanExecutor::Execute(const PoolPlan& plan) {
  ExecutionResult result;
  auto fail = [&](const std::string& pool_key, const Status& status) {
    if (pool_key.empty()) return;
    if (kube::IsConflict(status) || kube::IsNotFound(status)) {
      result.conflicted_pools.insert(pool_key);
    } else {
      result.failed_pools.insert(pool_key);
    }
    if (result.first_error.ok()) result.first_error = status;
  };
  auto failed = [&](const std::string& pool_key) {
    return result.conflicted_pools.contains(pool_key) || result.failed_pools.contains(pool_key);
  };
  // Asked before every write. Once the gate closes it stays closed for the rest of the plan, and
  // each pool a withheld write belonged to is failed (retried with backoff, should this replica
  // lead again; normally the process exits on losing leadership first).
  auto may_write = [&](std::initializer_list<const std::string*> pool_keys) {
    if (!result.lost_leadership && (!may_write_ || may_write_())) return true;
    if (!result.lost_leadership) {
      ZLOG(Warning) << "no longer leading: the rest of this plan is not written";
      result.lost_leadership = true;
    }
    for (const std::string* pool_key : pool_keys) {
      fail(*pool_key, UnavailableError("not leading: write withheld"));
    }
    return false;
  };

  // 1. Finalizers before any node is bound.
  std::set<std::string> metadata_written;
  for (const auto& change : plan.pool_changes) {
    if (!change.AddsFinalizer()) continue;
    if (!may_write({&change.pool_key})) continue;
    auto written = WritePoolMetadata(change);
    if (!written.ok()) {
      ZLOG(Warning) << "adding finalizer to ComputePool " << change.pool_key << ": "
                    << written.status();
      fail(change.pool_key, written.status());
      continue;
    }
    ++result.pool_writes;
    result.written_versions[StrCat("computepools/", change.pool_key)] = *written;
    metadata_written.insert(change.pool_key);
  }

  // 2. Nodes. A node taken by a pool whose finalizer could not be written stays as it is; the
  // pool giving it up (if any) will release it on its next plan.
  for (const auto& change : plan.node_changes) {
    if (!change.to_pool.empty() && failed(change.to_pool)) continue;
    if (!may_write({&change.to_pool, &change.from_pool})) continue;
    auto written = WriteNode(change);
    if (!written.ok()) {
      ZLOG(Warning) << "writing binding of node " << change.node << " (" << change.from_binding
                    << " -> " << change.to_binding << "): " << written.status();
      fail(change.to_pool, written.status());
      fail(change.from_pool, written.status());
      continue;
    }
    ++result.node_writes;
    result.written_versions[StrCat("nodes/", change.node)] = *written;
  }

  // 2b. Evictions, once the nodes they empty carry the taint that keeps new pods off them. One
  // that fails (other than a PDB's refusal) has its pool retried with backoff, after its status
  // is written: the status says what the drain waits for.
  std::set<std::string> eviction_failed;
  for (const auto& eviction : plan.evictions) {
    if (failed(eviction.pool_key)) continue;
    if (!may_write({&eviction.pool_key})) continue;
    Status evicted = Evict(eviction);
    if (evicted.ok()) {
      ++result.evictions;
      ZLOG(Info) << "evicted pod " << eviction.pod_namespace << "/" << eviction.name
                 << " from node " << eviction.node << " for ComputePool " << eviction.pool_key;
    } else if (kube::IsTooManyRequests(evicted)) {
      // A PodDisruptionBudget forbids it for now; the plan asks to be made again (drain.h).
      ++result.evictions_refused;
      ZLOG(Info) << "eviction of pod " << eviction.pod_namespace << "/" << eviction.name
                 << " from node " << eviction.node << " refused for now: " << evicted;
    } else if (!kube::IsNotFound(evicted) && !kube::IsConflict(evicted)) {
      // Gone, or replaced by a pod of the same name (the uid precondition): nothing to evict.
      ZLOG(Warning) << "evicting pod " << eviction.pod_namespace << "/" << eviction.name
                    << " from node " << eviction.node << ": " << evicted;
      eviction_failed.insert(eviction.pool_key);
      if (result.first_error.ok()) result.first_error = evicted;
    }
  }

  // 3. Pool metadata and status, only for pools whose node writes all landed.
  for (const auto& change : plan.pool_changes) {
    if (failed(change.pool_key)) continue;
    if (change.RemovesFinalizer()) {
      Status released = CheckNoNodeCarriesBinding(change);
      if (!released.ok()) {
        ZLOG(Warning) << "keeping the finalizer of ComputePool " << change.pool_key << ": "
                      << released;
        fail(change.pool_key, released);
        continue;
      }
    }
    if (change.ChangesMetadata() && !metadata_written.contains(change.pool_key)) {
      if (!may_write({&change.pool_key})) continue;
      auto written = WritePoolMetadata(change);
      if (!written.ok()) {
        ZLOG(Warning) << "writing metadata of ComputePool " << change.pool_key << ": "
                      << written.status();
        fail(change.pool_key, written.status());
        continue;
      }
      ++result.pool_writes;
      result.written_versions[StrCat("computepools/", change.pool_key)] = *written;
    }
    if (change.status && !change.RemovesFinalizer()) {
      if (!may_write({&change.pool_key})) continue;
      auto written = WritePoolStatus(change);
      if (!written.ok()) {
        ZLOG(Warning) << "writing status of ComputePool " << change.pool_key << ": "
                      << written.status();
        fail(change.pool_key, written.status());
        continue;
      }
      ++result.pool_writes;
      result.written_versions[StrCat("computepools/", change.pool_key)] = *written;
    }
  }

  result.failed_pools.insert(eviction_failed.begin(), eviction_failed.end());

  // 3b. Quota status: what the namespace's pools hold now that the node writes landed. It is
  // informational (planning counts the node labels), so a failed write only retries the pool.
  for (const auto& change : plan.quota_changes) {
    if (!may_write({})) break;
    auto written = client_->Patch(api::kComputeQuotas, change.quota_namespace, change.name,
                                  kube::PatchType::kMerge, QuotaStatusPatch(change),
                                  {field_manager_, false, "status"});
    if (!written.ok()) {
      if (kube::IsNotFound(written.status())) continue;  // deleted meanwhile
      ZLOG(Warning) << "writing status of ComputeQuota " << change.quota_key << ": "
                    << written.status();
      result.failed_quotas.insert(change.quota_key);
      if (result.first_error.ok()) result.first_error = written.status();
      continue;
    }
    ++result.quota_writes;
  }

  // 4. Events, for what really happened.
  if (events_ != nullptr) {
    for (const auto& event : plan.events) {
      const std::string pool_key = StrCat(event.pool_namespace, "/", event.pool_name);
      if (failed(pool_key)) continue;
      if (!may_write({&pool_key})) continue;  // an Event is a write too
      events_->Emit(PoolReference(event.pool_namespace, event.pool_name, event.pool_uid),
                    event.type == PlannedEvent::Type::kWarning ? kube::EventType::kWarning
                                                               : kube::EventType::kNormal,
                    event.reason, event.message);
    }
  }
  for (const auto& ignored : plan.ignored_compute_nodes) {
    if (!may_write({})) break;  // its Event is a write
    WarnIgnored(ignored);
  }
  return result;
}

}  // namespace zhisuan::controller
