#include "controller/pool_controller.h"

#include <malloc.h>

#include "api/group_version.h"
#include "common/log.h"
#include "common/strings.h"
#include "common/thread_guard.h"
#include "controller/reconcile/claim_template.h"

namespace zhisuan::controller {
namespace {

// client-go's per-key backoff, capped at 30 s instead of 1000 s: a pool whose writes failed
// through an API server or etcd outage (a dozen failures doubling from 5 ms) is reconciled again
// within half a minute of the outage's end, not a quarter of an hour later.
kube::WorkQueueOptions PoolQueueOptions() {
  kube::WorkQueueOptions options;
  options.per_key_backoff.max = std::chrono::seconds(30);
  return options;
}

constexpr char kBindingIndex[] = "binding";
constexpr char kNamespaceIndex[] = "namespace";
// How long node events are gathered before the waiting pools are re-planned (see OnNodeChange).
constexpr std::chrono::milliseconds kWaitingRefreshInterval{500};

kube::InformerOptions InformerFor(const kube::ResourceType& type,
                                  std::function<Json(const Json&)> project_for_store = nullptr) {
  kube::InformerOptions options;
  options.type = type;
  options.project_for_store = std::move(project_for_store);
  // Nothing here reads managedFields, and they are a large share of every cached object.
  options.drop_managed_fields = true;
  return options;
}

// Pods bound to a node, in every namespace: a drain waits for those on the nodes it empties. The
// list is of every such pod in the cluster, kept as PodForStore and decoded as PodInfo (small).
kube::InformerOptions PodInformer() {
  kube::InformerOptions options = InformerFor(kube::kPods, PodForStore);
  options.field_selector = "spec.nodeName!=";
  return options;
}

std::string LabelOf(const kube::ObjectPtr& object, std::string_view key) {
  if (!object) return "";
  const Json& labels = object->value("/metadata/labels"_json_pointer, Json::object());
  auto it = labels.find(std::string(key));
  return it != labels.end() && it->is_string() ? it->get<std::string>() : "";
}

std::optional<int64_t> VersionNumber(const std::string& resource_version) {
  return ParseInt64(resource_version);
}

// What the template watch keeps: the metadata, with the owner references that name the pool.
Json TemplateForStore(const Json& object) {
  Json kept = MetadataOnly(object);
  const Json& owners = object.value("/metadata/ownerReferences"_json_pointer, Json::array());
  if (!owners.empty()) kept["metadata"]["ownerReferences"] = owners;
  return kept;
}

// The ComputePool that owns a template, as "namespace/name"; "" when none does.
std::string OwningPoolKey(const Json& object) {
  const Json& metadata = object.value("metadata", Json::object());
  for (const Json& owner : metadata.value("ownerReferences", Json::array())) {
    if (owner.value("kind", "") == api::kComputePools.kind) {
      return StrCat(metadata.value("namespace", ""), "/", owner.value("name", ""));
    }
  }
  return "";
}

}  // namespace

PoolController::PoolController(const kube::ApiClientPtr& client, EventSink* events,
                               ControllerMetrics* metrics, PoolControllerOptions options,
                               ClockPtr clock)
    : client_(client),
      metrics_(metrics),
      options_(std::move(options)),
      clock_(std::move(clock)),
      executor_(client, events, options_.may_write),
      claim_templates_(client, options_.may_write),
      orphans_(client, executor_, options_.planner),
      pools_(client, InformerFor(api::kComputePools, MetadataOnly), clock_),
      nodes_(client, InformerFor(kube::kNodes, MetadataOnly), clock_),
      compute_nodes_(client, InformerFor(api::kComputeNodes, MetadataOnly), clock_),
      pods_(client, PodInformer(), clock_),
      quotas_(client, InformerFor(api::kComputeQuotas, MetadataOnly), clock_),
      observations_(options_.agent_pods),
      queue_(PoolQueueOptions(), clock_) {
  // Pools by the label value that binds nodes to them: a node event finds its pool in O(1).
  Status indexed = pools_.store().AddIndex(kBindingIndex, [](const Json& pool) {
    const Json& metadata = pool.value("metadata", Json::object());
    return std::vector<std::string>{
        api::PoolBindingValue(metadata.value("namespace", ""), metadata.value("name", ""))};
  });
  if (!indexed.ok()) ZLOG(Error) << "pool index: " << indexed;
  // Pools by namespace: a ComputeQuota change re-plans the pools it caps, and only those.
  indexed = pools_.store().AddIndex(kNamespaceIndex, [](const Json& pool) {
    return std::vector<std::string>{pool.value("/metadata/namespace"_json_pointer, std::string())};
  });
  if (!indexed.ok()) ZLOG(Error) << "pool namespace index: " << indexed;

  // Each handler decodes the object into the ObservationCache first, then queues the pools it
  // affects, which are planned from what was just decoded.
  pools_.AddEventHandlers({[this](const kube::ObjectPtr& pool) {
                             observations_.UpsertPool(*pool);
                             queue_.Add(kube::ObjectKey(*pool));
                           },
                           [this](const kube::ObjectPtr&, const kube::ObjectPtr& pool) {
                             observations_.UpsertPool(*pool);
                             queue_.Add(kube::ObjectKey(*pool));
                           },
                           [this](const kube::ObjectPtr& pool) {
                             observations_.RemovePool(kube::ObjectKey(*pool));
                             queue_.Add(kube::ObjectKey(*pool));
                             RequestSweep();  // it may have gone without releasing its nodes
                           }});
  nodes_.AddEventHandlers({[this](const kube::ObjectPtr& node) {
                             observations_.UpsertNode(*node);
                             OnNodeChange(nullptr, node);
                           },
                           [this](const kube::ObjectPtr& old_node, const kube::ObjectPtr& node) {
                             // Kubelets rewrite node status every few seconds; only a change the
                             // planner reads matters.
                             if (observations_.UpsertNode(*node)) OnNodeChange(old_node, node);
                           },
                           [this](const kube::ObjectPtr& node) {
                             observations_.RemoveNode(kube::ObjectKey(*node));
                             OnNodeChange(node, nullptr);
                           }});
  compute_nodes_.AddEventHandlers({[this](const kube::ObjectPtr& object) {
                                     observations_.UpsertComputeNode(*object);
                                     OnComputeNodeChange(object);
                                   },
                                   [this](const kube::ObjectPtr&, const kube::ObjectPtr& object) {
                                     // Agents rewrite status on a timer; only a change the planner
                                     // reads matters.
                                     if (observations_.UpsertComputeNode(*object)) {
                                       OnComputeNodeChange(object);
                                     }
                                   },
                                   [this](const kube::ObjectPtr& object) {
                                     observations_.RemoveComputeNode(kube::ObjectKey(*object));
                                     OnComputeNodeChange(object);
                                   }});
  quotas_.AddEventHandlers({[this](const kube::ObjectPtr& quota) {
                              observations_.UpsertQuota(*quota);
                              OnQuotaChange(quota);
                            },
                            [this](const kube::ObjectPtr&, const kube::ObjectPtr& quota) {
                              observations_.UpsertQuota(*quota);
                              OnQuotaChange(quota);
                            },
                            [this](const kube::ObjectPtr& quota) {
                              observations_.RemoveQuota(kube::ObjectKey(*quota));
                              OnQuotaChange(quota);
                            }});
  pods_.AddEventHandlers({[this](const kube::ObjectPtr& pod) {
                            OnPodChange(observations_.UpsertPod(*pod));
                            OnAgentChange(observations_.UpsertAgent(*pod));
                          },
                          [this](const kube::ObjectPtr&, const kube::ObjectPtr& pod) {
                            OnPodChange(observations_.UpsertPod(*pod));
                            OnAgentChange(observations_.UpsertAgent(*pod));
                          },
                          [this](const kube::ObjectPtr& pod) {
                            OnPodChange(observations_.RemovePod(kube::ObjectKey(*pod)));
                            OnAgentChange(observations_.RemoveAgent(kube::ObjectKey(*pod)));
                          }});
  if (options_.planner.dra_claim_templates) WatchClaimTemplates();
}

void PoolController::WatchClaimTemplates() {
  kube::InformerOptions options = InformerFor(kResourceClaimTemplates, TemplateForStore);
  options.label_selector = StrCat(kClaimTemplateManagedByLabel, "=", kClaimTemplateManagedBy);
  claim_template_watch_ = std::make_unique<kube::Informer>(client_, std::move(options), clock_);
  // Only a deletion matters: the spec is immutable, and the writer made every other change.
  claim_template_watch_->AddEventHandlers(
      {nullptr, nullptr, [this](const kube::ObjectPtr& deleted) {
         claim_templates_.Forget(kube::ObjectKey(*deleted));
         if (std::string pool = OwningPoolKey(*deleted); !pool.empty()) queue_.Add(pool);
       }});
}

PoolController::~PoolController() { Stop(); }

void PoolController::StartInformers() {
  pools_.Start();
  nodes_.Start();
  compute_nodes_.Start();
  pods_.Start();
  quotas_.Start();
  if (claim_template_watch_) claim_template_watch_->Start();
}

bool PoolController::WaitForSync(std::chrono::milliseconds timeout) const {
  return pools_.WaitForSync(timeout) && nodes_.WaitForSync(timeout) &&
         compute_nodes_.WaitForSync(timeout) && pods_.WaitForSync(timeout) &&
         quotas_.WaitForSync(timeout) &&
         (!claim_template_watch_ || claim_template_watch_->WaitForSync(timeout));
}

bool PoolController::HasSynced() const {
  return pools_.HasSynced() && nodes_.HasSynced() && compute_nodes_.HasSynced() &&
         pods_.HasSynced() && quotas_.HasSynced() &&
         (!claim_template_watch_ || claim_template_watch_->HasSynced());
}

void PoolController::StartWorkers() {
  std::lock_guard lock(mu_);
  if (workers_started_ || stopped_) return;
  workers_started_ = true;
  for (const auto& key : pools_.store().ListKeys()) queue_.Add(key);
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    workers_.emplace_back([this] { RunGuarded("pool-worker", [this] { Work(); }); });
  }
  housekeeper_ = std::thread([this] { RunGuarded("housekeeping", [this] { Housekeeping(); }); });
  if (options_.orphan_sweep_interval.count() > 0) {
    sweep_requested_ = true;  // once at the start: a pool may have gone while no one led
    sweeper_ = std::thread([this] { RunGuarded("orphan-sweep", [this] { SweepOrphans(); }); });
  }
}

void PoolController::RequestSweep() {
  {
    std::lock_guard lock(mu_);
    sweep_requested_ = true;
  }
  stopping_.notify_all();
}

void PoolController::SweepOrphans() {
  std::unique_lock lock(mu_);
  while (!stopped_) {
    stopping_.wait_for(lock, options_.orphan_sweep_interval,
                       [this] { return stopped_ || sweep_requested_; });
    if (stopped_) return;
    sweep_requested_ = false;
    lock.unlock();
    // The nodes first, then the live List of pools (reconcile/orphans.h says why).
    const StatusOr<int> released = orphans_.Sweep(Snapshot());
    if (!released.ok()) {
      ZLOG(Warning) << "orphan sweep: " << released.status() << "; the next sweep tries again";
    } else if (*released > 0) {
      ZLOG(Info) << "orphan sweep released " << *released << " node(s)";
    }
    lock.lock();
  }
}

void PoolController::Housekeeping() {
  std::optional<uint64_t> observed;
  std::unique_lock lock(mu_);
  while (!stopped_) {
    const uint64_t generation = observations_.Generation();
    if (generation != observed) {
      lock.unlock();
      if (metrics_ != nullptr) metrics_->ObserveCluster(Snapshot());
      // Every event frees the whole object it arrived as once it is decoded, between the small
      // long-lived entries that stay, and glibc keeps such scattered free pages resident. At
      // 5,000 nodes that held RSS at 434 MiB against ~40 MiB of live cache (bench/fleet);
      // trimming once a second after a change hands the free pages back.
      malloc_trim(0);
      observed = generation;
      lock.lock();
    }
    stopping_.wait_for(lock, options_.housekeeping_interval, [this] { return stopped_; });
  }
}

void PoolController::Stop() {
  std::vector<std::thread> workers;
  std::thread housekeeper;
  std::thread sweeper;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    workers.swap(workers_);
    housekeeper.swap(housekeeper_);
    sweeper.swap(sweeper_);
  }
  stopping_.notify_all();
  queue_.ShutDown();
  for (auto& worker : workers) worker.join();
  if (housekeeper.joinable()) housekeeper.join();
  if (sweeper.joinable()) sweeper.join();
  pools_.Stop();
  nodes_.Stop();
  compute_nodes_.Stop();
  pods_.Stop();
  quotas_.Stop();
  if (claim_template_watch_) claim_template_watch_->Stop();
}

void PoolController::Work() {
  while (auto key = queue_.Get()) {
    Reconcile(*key);
    queue_.Done(*key);
    if (metrics_ != nullptr) metrics_->SetQueueDepth(queue_.Len());
  }
}

void PoolController::EnqueueBinding(const std::string& binding) {
  if (binding.empty()) return;
  auto pools = pools_.store().ByIndex(kBindingIndex, binding);
  if (!pools.ok()) return;
  for (const auto& pool : *pools) queue_.Add(kube::ObjectKey(*pool));
}

void PoolController::EnqueueWaitingPools(const std::string& node_name,
                                         std::chrono::milliseconds delay) {
  // A node with no accelerator a pool asks for can never count for it, so its events cannot
  // change that pool's plan; nor can a node without a (decodable) ComputeNode, which has no
  // capacity at all. At 5,000 nodes the 100 waiting pools asking for a product no node has were
  // re-planned after every freed node, 8 ms each, and a new pool queued behind them (bench/fleet).
  const auto compute_node = observations_.FindComputeNode(node_name);
  if (!compute_node) return;
  std::vector<std::string> waiting;
  {
    std::lock_guard lock(mu_);
    waiting.assign(waiting_pools_.begin(), waiting_pools_.end());
  }
  for (const auto& key : waiting) {
    const auto pool = observations_.FindPool(key);
    if (pool && !HasMatchingAccelerator(pool->pool.spec, *compute_node)) continue;
    if (delay.count() > 0) {
      queue_.AddAfter(key, delay);  // an earlier pending delay wins: adds coalesce
    } else {
      queue_.Add(key);
    }
  }
}

void PoolController::OnNodeChange(const kube::ObjectPtr& old_node,
                                  const kube::ObjectPtr& new_node) {
  const std::string old_binding = LabelOf(old_node, api::kPoolLabel);
  const std::string new_binding = LabelOf(new_node, api::kPoolLabel);
  EnqueueBinding(old_binding);
  if (new_binding != old_binding) EnqueueBinding(new_binding);
  // A free node (or one just freed) is capacity for the pools that wait for some; a node just
  // taken changes what they are told is eligible. Either way they are re-planned after a short
  // delay, and delayed adds coalesce: a stream of node events costs each waiting pool one
  // reconcile per interval, not one per event, and a new pool's own event is not queued behind
  // every waiting pool (bench/fleet: 150 waiting pools re-planned per freed node held a new pool
  // back by over a second).
  if ((new_node && new_binding.empty()) || new_binding != old_binding) {
    const kube::ObjectPtr& node = new_node ? new_node : old_node;
    EnqueueWaitingPools(node->value("/metadata/name"_json_pointer, std::string()),
                        kWaitingRefreshInterval);
  }
}

void PoolController::OnComputeNodeChange(const kube::ObjectPtr& compute_node) {
  if (!compute_node) return;
  const std::string name = compute_node->value("/metadata/name"_json_pointer, std::string());
  kube::ObjectPtr node = nodes_.store().Get(name);
  if (!node) return;  // the Node event will come
  const std::string binding = LabelOf(node, api::kPoolLabel);
  if (binding.empty()) {
    EnqueueWaitingPools(name, kWaitingRefreshInterval);  // coalesced, as for node events
  } else {
    EnqueueBinding(binding);
  }
}

void PoolController::OnQuotaChange(const kube::ObjectPtr& quota) {
  if (!quota) return;
  auto pools = pools_.store().ByIndex(
      kNamespaceIndex, quota->value("/metadata/namespace"_json_pointer, std::string()));
  if (!pools.ok()) return;
  for (const auto& pool : *pools) queue_.Add(kube::ObjectKey(*pool));
}

void PoolController::OnPodChange(const std::string& node) {
  if (node.empty()) return;
  EnqueueBinding(LabelOf(nodes_.store().Get(node), api::kPoolLabel));
}

void PoolController::OnAgentChange(const std::string& node) {
  if (node.empty()) return;
  const std::string binding = LabelOf(nodes_.store().Get(node), api::kPoolLabel);
  if (binding.empty()) {
    EnqueueWaitingPools(node, kWaitingRefreshInterval);
  } else {
    EnqueueBinding(binding);
  }
}

ClusterSnapshot PoolController::Snapshot() const { return observations_.Snapshot(); }

bool PoolController::CachesBehindOurWrites() {
  std::lock_guard lock(mu_);
  for (auto it = expected_versions_.begin(); it != expected_versions_.end();) {
    const std::string& key = it->first;
    // The decoded view is what the next plan reads, so it is the one that must have caught up.
    const std::optional<std::string> version = StartsWith(key, "nodes/")
                                                   ? observations_.NodeVersion(key.substr(6))
                                                   : observations_.PoolVersion(key.substr(13));
    const auto cached = version ? VersionNumber(*version) : std::nullopt;
    // Gone, or at (or past) what we wrote: caught up. resourceVersions are opaque by contract,
    // but every API server in use issues etcd revisions, which only grow; when one does not
    // parse, waiting would never end, so it counts as caught up.
    if (!version || !cached || *cached >= it->second) {
      it = expected_versions_.erase(it);
    } else {
      return true;
    }
  }
  return false;
}

bool PoolController::EnsureClaimTemplate(const ClusterSnapshot& snapshot,
                                         const std::string& pool_key) {
  for (const PoolObservation& observation : snapshot.pools) {
    const api::ComputePool& pool = observation.pool;
    if (pool.Key() != pool_key) continue;
    // A deleted pool's template goes with it (owner reference); an invalid spec has no devices.
    if (pool.deleting || !observation.invalid_spec.empty()) return true;
    StatusOr<int> written = claim_templates_.Ensure(DesiredClaimTemplate(pool));
    if (!written.ok()) ZLOG(Warning) << "pool " << pool_key << ": " << written.status();
    return written.ok();
  }
  return true;
}

void PoolController::Reconcile(const std::string& pool_key) {
  const SteadyTime started = clock_->Now();
  if (CachesBehindOurWrites()) {
    // Planning now would undo or repeat our last writes; the watch event is moments away.
    // (Re-queueing put-off keys from the event handlers instead cut no latency in bench/fleet
    // and re-planned every put-off pool at each catch-up: 3 to 5 times a burst's reconciles.)
    queue_.AddAfter(pool_key, std::chrono::milliseconds(50));
    return;
  }
  const ClusterSnapshot snapshot = Snapshot();
  const PoolPlan plan = PlanPools(snapshot, clock_->WallNow(), options_.planner, {pool_key});
  ExecutionResult result = executor_.Execute(plan);
  if (options_.planner.dra_claim_templates && !EnsureClaimTemplate(snapshot, pool_key)) {
    result.failed_pools.insert(pool_key);
  }
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, version] : result.written_versions) {
      if (auto number = VersionNumber(version)) expected_versions_[key] = *number;
    }
    if (plan.waiting_pools.contains(pool_key)) {
      waiting_pools_.insert(pool_key);
    } else {
      waiting_pools_.erase(pool_key);
    }
  }
  if (!result.Complete()) {
    ZLOG(Info) << "reconcile of " << pool_key << " incomplete, retrying: " << result.first_error;
    queue_.AddRateLimited(pool_key);
  } else {
    queue_.Forget(pool_key);
    auto requeue = plan.requeue_after.find(pool_key);
    if (requeue != plan.requeue_after.end()) queue_.AddAfter(pool_key, requeue->second);
  }
  if (result.node_writes > 0) {
    ZLOG(Info) << "reconciled " << pool_key << ": " << result.node_writes << " node writes, "
               << result.pool_writes << " pool writes";
  }
  if (metrics_ != nullptr) {
    metrics_->ObserveReconcile(std::chrono::duration<double>(clock_->Now() - started).count(),
                               result.Complete());
  }
}

}  // namespace zhisuan::controller
