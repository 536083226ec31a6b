// PlanPools: orchestrates the stages for every pool in turn (membership, placement, status
// roll-up, conditions, messages) over one table of nodes whose bindings the plan updates as it
// goes, then emits the node writes once every pool has had its say.

#include <algorithm>
#include <chrono>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "common/strings.h"
#include "controller/reconcile/claim_template.h"
#include "controller/reconcile/conditions.h"
#include "controller/reconcile/drain.h"
#include "controller/reconcile/membership.h"
#include "controller/reconcile/messages.h"
#include "controller/reconcile/placement.h"
#include "controller/reconcile/pool_planner.h"
#include "controller/reconcile/quota.h"
#include "controller/reconcile/status_rollup.h"

namespace zhisuan::controller {
namespace {

using stages::NodeEntry;
using std::chrono::seconds;

// How often a drain waiting on evictions (a PodDisruptionBudget said no) tries them again.
constexpr seconds kDrainRetry{10};

// Plans an event about `pool`.
void AddEvent(PoolPlan& plan, const api::ComputePool& pool, PlannedEvent::Type type,
              std::string_view reason, std::string message) {
  plan.events.push_back(
      {pool.pool_namespace, pool.name, pool.uid, type, std::string(reason), std::move(message)});
}

// Which of two agent pods on one node speaks for it: a Ready one, else the one whose readiness
// changed last (the newest pod of a rolling update); then by name, for determinism.
bool BetterAgent(const AgentInfo& a, const AgentInfo& b) {
  const WallTime never{};
  return std::make_tuple(a.ready, a.since.value_or(never), b.pod) >
         std::make_tuple(b.ready, b.since.value_or(never), a.pod);
}

PoolChange BaseChange(const api::ComputePool& pool) {
  PoolChange change;
  change.pool_key = pool.Key();
  change.pool_namespace = pool.pool_namespace;
  change.name = pool.name;
  change.uid = pool.uid;
  change.resource_version = pool.resource_version;
  return change;
}

// Whether the pool held its capacity once: a shortfall since then is a degradation, and an
// all-or-nothing pool keeps what it has rather than giving it up.
bool EverSatisfied(const api::ComputePool& pool) {
  const api::Condition* previous =
      api::FindCondition(pool.status.conditions, api::kConditionCapacitySatisfied);
  // A pool a quota held back while it held nodes keeps them as a degraded one would: taking them
  // back is not what a quota does.
  return previous != nullptr &&
         (previous->status == "True" || previous->reason == reasons::kCapacityDegraded ||
          (previous->reason == reasons::kQuotaExceeded && !pool.status.nodes.empty()));
}

// The conditions written into `status`, their messages held steady, and the Unsatisfiable event
// when the shortfall is news.
void WriteConditions(const api::ComputePool& pool, bool covered, stages::PoolConditions conditions,
                     api::ComputePoolStatus& status, PoolPlan& plan) {
  // Holding the text steady saves one API write per waiting pool per node event, which starved
  // new pools (bench/fleet, 500 pools on 500 nodes).
  stages::HoldSteadyMessage(pool.status.conditions, conditions.ready);
  stages::HoldSteadyMessage(pool.status.conditions, conditions.capacity);
  for (auto* condition :
       {&conditions.ready, &conditions.capacity, &conditions.carbon, &conditions.health}) {
    api::SetCondition(status.conditions, std::move(*condition));
  }
  if (covered) return;
  const api::Condition* before =
      api::FindCondition(pool.status.conditions, api::kConditionCapacitySatisfied);
  const api::Condition* after =
      api::FindCondition(status.conditions, api::kConditionCapacitySatisfied);
  if (stages::ShortfallChanged(before, *after)) {
    AddEvent(plan, pool, PlannedEvent::Type::kWarning, "Unsatisfiable", after->message);
  }
}

// The finalizer, the grace clocks and the status, where they differ from what the pool has.
PoolChange ChangeOf(const PoolObservation& observation,
                    const std::map<std::string, WallTime>& impaired_since,
                    const std::map<std::string, WallTime>& draining_since,
                    api::ComputePoolStatus status) {
  const api::ComputePool& pool = observation.pool;
  PoolChange change = BaseChange(pool);
  if (std::find(pool.finalizers.begin(), pool.finalizers.end(), api::kPoolFinalizer) ==
      pool.finalizers.end()) {
    auto finalizers = pool.finalizers;
    finalizers.push_back(std::string(api::kPoolFinalizer));
    change.finalizers = std::move(finalizers);
  }
  // The clocks are the controller's state, so they live where only the controller writes.
  status.impaired_members = MemberClocks(impaired_since);
  status.draining_members = MemberClocks(draining_since);
  if (status != pool.status) change.status = std::move(status);
  change.remove_legacy_annotations = observation.legacy_clock_annotations;
  return change;
}

class Planner {
 public:
  // Every reconcile builds one Planner over the whole cluster, so this is O(nodes) with small
  // constants: a vector in name order and hash lookups, no per-node tree nodes or string copies
  // beyond the bindings (bench/controller measured the maps it replaced).
  Planner(const ClusterSnapshot& snapshot, WallTime now, const PlannerConfig& config)
      : now_(now), config_(config) {
    std::unordered_map<std::string_view, const api::ComputeNode*> compute_nodes;
    compute_nodes.reserve(snapshot.compute_nodes.size());
    for (const auto& compute_node : snapshot.compute_nodes) {
      compute_nodes.emplace(compute_node.name, &compute_node);  // the first of a name counts
    }
    std::unordered_map<std::string_view, const api::ComputeNode*> deleted_compute_nodes;
    for (const auto& compute_node : snapshot.deleted_compute_nodes) {
      deleted_compute_nodes.emplace(compute_node.name, &compute_node);
    }
    std::unordered_map<std::string_view, const AgentInfo*> agents;
    for (const auto& agent : snapshot.agents) {
      // Several pods on one node (a rolling update): a Ready one wins, then the latest change.
      auto [it, added] = agents.emplace(agent.node, &agent);
      if (!added && BetterAgent(agent, *it->second)) it->second = &agent;
    }
    nodes_.reserve(snapshot.nodes.size());
    for (const auto& node : snapshot.nodes) nodes_.push_back({&node, nullptr, {}});
    // The cache lists nodes in name order already; hand-built snapshots may not.
    auto by_name = [](const NodeEntry& a, const NodeEntry& b) {
      return a.node->name < b.node->name;
    };
    if (!std::is_sorted(nodes_.begin(), nodes_.end(), by_name)) {
      std::stable_sort(nodes_.begin(), nodes_.end(), by_name);
    }
    nodes_.erase(std::unique(nodes_.begin(), nodes_.end(),
                             [](const NodeEntry& a, const NodeEntry& b) {
                               return a.node->name == b.node->name;
                             }),
                 nodes_.end());
    for (const auto& pod : snapshot.pods) {
      if (!pod.node.empty()) pods_on_node_[pod.node].push_back(&pod);
    }
    for (const auto& quota : snapshot.quotas) {
      quotas_[quota.quota.quota_namespace].push_back(&quota);
    }
    for (auto& [quota_namespace, quotas] : quotas_) {
      std::sort(quotas.begin(), quotas.end(),
                [](const auto* a, const auto* b) { return a->quota.name < b->quota.name; });
    }
    position_.reserve(nodes_.size());
    for (size_t i = 0; i < nodes_.size(); ++i) {
      NodeEntry& entry = nodes_[i];
      position_.emplace(entry.node->name, i);
      auto compute_node = compute_nodes.find(entry.node->name);
      if (compute_node != compute_nodes.end()) entry.compute_node = compute_node->second;
      // Until a recreated ComputeNode's status is published, the last one seen speaks for it.
      auto deleted = deleted_compute_nodes.find(entry.node->name);
      if ((entry.compute_node == nullptr || !Published(*entry.compute_node)) &&
          deleted != deleted_compute_nodes.end()) {
        entry.compute_node = deleted->second;
        entry.compute_node_deleted = true;
      }
      if (auto agent = agents.find(entry.node->name); agent != agents.end()) {
        entry.agent = agent->second;
      }
      entry.binding = entry.node->PoolBinding();
    }
  }

  void RegisterPool(const PoolObservation& observation) {
    const std::string binding = observation.pool.BindingValue();
    pool_keys_[binding] = observation.pool.Key();
    pools_by_binding_[binding] = &observation;
  }

  void Plan(const PoolObservation& observation, PoolPlan& plan) {
    planned_namespaces_.insert(observation.pool.pool_namespace);
    if (observation.pool.deleting) {
      PlanDeletion(observation.pool, plan);
    } else if (!observation.invalid_spec.empty()) {
      PlanInvalidSpec(observation, plan);
    } else {
      PlanPool(observation, plan);
    }
  }

  // Node writes, once every pool has had its say: a node released by one pool and taken by a
  // later one is one write.
  void EmitNodeChanges(PoolPlan& plan) const {
    for (const NodeEntry& entry : nodes_) {
      const NodeInfo* node = entry.node;
      const std::string& wanted = entry.binding;
      const std::string current = node->PoolBinding();
      if (!current.empty() && wanted != current) PlanReleaseEvictions(entry, current, plan);
      const std::string_view effect =
          DrainOf(*node, wanted).draining ? stages::kDrainingEffect : stages::kExclusiveEffect;
      if (wanted == current && stages::TaintsAsWanted(node->taints, wanted, effect)) continue;
      NodeChange change;
      change.node = node->name;
      change.resource_version = node->resource_version;
      change.from_binding = current;
      change.to_binding = wanted;
      change.from_pool = PoolKeyOf(current);
      change.to_pool = PoolKeyOf(wanted);
      change.taints = stages::DesiredTaints(node->taints, wanted, effect);
      plan.node_changes.push_back(std::move(change));
    }
  }

  // The status of every quota in the namespaces planned (`all`: every namespace with a quota), as
  // the plan leaves what their pools hold, where it differs from what the quota says.
  void EmitQuotaChanges(bool all, PoolPlan& plan) const {
    for (const auto& [quota_namespace, quotas] : quotas_) {
      if (!all && !planned_namespaces_.contains(quota_namespace)) continue;
      const stages::QuotaWorth used = NamespaceUsage(quota_namespace);
      for (const QuotaObservation* observation : quotas) {
        if (!observation->invalid_spec.empty()) continue;  // caps nothing, counts nothing
        const api::ComputeQuota& quota = observation->quota;
        api::ComputeQuotaStatus status = stages::QuotaStatusOf(*observation, used);
        if (status == quota.status) continue;
        plan.quota_changes.push_back(
            {quota.Key(), quota.quota_namespace, quota.name, quota.status, std::move(status)});
      }
    }
  }

 private:
  // What the pools of `pool_namespace` hold as the plan stands: every node bound to one of them.
  stages::QuotaWorth NamespaceUsage(const std::string& pool_namespace) const {
    stages::QuotaWorth used;
    for (const NodeEntry& entry : nodes_) {
      if (entry.binding.empty()) continue;
      auto owner = pools_by_binding_.find(entry.binding);
      if (owner == pools_by_binding_.end() ||
          owner->second->pool.pool_namespace != pool_namespace) {
        continue;
      }
      used += stages::WorthOf(entry.compute_node);
    }
    return used;
  }

  const std::vector<const QuotaObservation*>& QuotasOf(const std::string& pool_namespace) const {
    static const std::vector<const QuotaObservation*> kNone;
    auto it = quotas_.find(pool_namespace);
    return it == quotas_.end() ? kNone : it->second;
  }

  const std::vector<const PodInfo*>& PodsOn(const std::string& node) const {
    static const std::vector<const PodInfo*> kNone;
    auto it = pods_on_node_.find(node);
    return it == pods_on_node_.end() ? kNone : it->second;
  }

  // Where `node` stands if the plan binds it to `binding`; a binding no pool owns drains nothing.
  stages::DrainState DrainOf(const NodeInfo& node, const std::string& binding) const {
    auto owner = pools_by_binding_.find(binding);
    if (binding.empty() || owner == pools_by_binding_.end()) return {};
    return stages::AssessDrain(node, binding, owner->second->pool.pool_namespace, PodsOn(node.name),
                               owner->second->draining_since, config_, now_);
  }

  // A node the plan takes from `binding`'s pool: its tenant's pods are evicted with it, once. What
  // a PodDisruptionBudget keeps there is drained by the next pool that binds the node.
  void PlanReleaseEvictions(const NodeEntry& entry, const std::string& binding,
                            PoolPlan& plan) const {
    if (!entry.binding.empty()) return;  // moved to another pool: that pool drains it
    const std::string pool_key = PoolKeyOf(binding);
    if (pool_key.empty()) return;
    stages::PlanEvictions(
        pool_key, entry.node->name,
        stages::PodsToDrain(PodsOn(entry.node->name), "", config_.drain_exempt_namespaces),
        plan.evictions);
  }

  // The drains of a pool's bound nodes: their evictions, when each began, a Draining condition
  // when they keep it from its capacity, and when to look again.
  struct PoolDrains {
    std::map<std::string, stages::DrainState> draining;  // by node
    std::map<std::string, WallTime> since;
  };
  PoolDrains PlanDrains(const api::ComputePool& pool,
                        const std::vector<const stages::NodeFit*>& fits,
                        const std::map<std::string, WallTime>& recorded, PoolPlan& plan) const {
    PoolDrains drains;
    const std::string binding = pool.BindingValue();
    std::optional<WallTime> next;
    for (const stages::NodeFit* fit : fits) {
      stages::DrainState state = DrainOf(*fit->node, binding);
      if (!state.draining) continue;
      const std::string& name = fit->node->name;
      if (!recorded.contains(name)) {
        AddEvent(plan, pool, PlannedEvent::Type::kNormal, "NodeDraining",
                 StrCat("draining node ", name,
                        " before the pool counts it: ", stages::DrainText(name, state)));
      }
      stages::PlanEvictions(pool.Key(), name, state.pods, plan.evictions);
      drains.since[name] = state.since;
      if (!next || state.deadline < *next) next = state.deadline;
      drains.draining.emplace(name, std::move(state));
    }
    if (next) {
      // Evictions a PodDisruptionBudget refused are retried; pod deletions also queue the pool.
      auto wait = std::min(std::chrono::ceil<seconds>(*next - now_), kDrainRetry);
      auto& requeue = plan.requeue_after[pool.Key()];
      requeue = requeue.count() > 0 ? std::min(requeue, wait) : wait;
      requeue = std::max(requeue, seconds(1));
    }
    return drains;
  }

  std::string PoolKeyOf(const std::string& binding) const {
    if (binding.empty()) return "";
    auto it = pool_keys_.find(binding);
    return it == pool_keys_.end() ? "" : it->second;
  }

  // The binding the plan leaves `node` with, by name; the node must be in the snapshot.
  std::string& BindingOf(const std::string& node) { return nodes_[position_.at(node)].binding; }

  void PlanDeletion(const api::ComputePool& pool, PoolPlan& plan) {
    const std::string binding = pool.BindingValue();
    for (NodeEntry& entry : nodes_) {
      if (entry.binding != binding) continue;
      entry.binding = "";
      AddEvent(plan, pool, PlannedEvent::Type::kNormal, "NodeUnbound",
               StrCat("released node ", entry.node->name, ": the pool is being deleted"));
    }
    auto finalizers = pool.finalizers;
    if (std::erase(finalizers, std::string(api::kPoolFinalizer)) > 0) {
      PoolChange change = BaseChange(pool);
      change.finalizers = std::move(finalizers);
      plan.pool_changes.push_back(std::move(change));
    }
  }

  // A spec the controller cannot use: the pool says why (Ready=False, InvalidSpec), binds nothing
  // and keeps what it holds, as the spec that chose those nodes is gone and workloads may run on
  // them. It still gets its finalizer, so deleting it releases them.
  void PlanInvalidSpec(const PoolObservation& observation, PoolPlan& plan) {
    const api::ComputePool& pool = observation.pool;
    const std::string binding = pool.BindingValue();
    api::ComputePoolStatus status = pool.status;
    status.observed_generation = pool.generation;
    status.nodes.clear();
    for (const NodeEntry& entry : nodes_) {
      if (entry.binding == binding) status.nodes.push_back(entry.node->name);  // in name order
    }
    const api::Condition* before = api::FindCondition(pool.status.conditions, api::kConditionReady);
    api::Condition ready =
        stages::InvalidSpecCondition(pool, observation.invalid_spec, status.nodes.size(), now_);
    if (before == nullptr || before->reason != ready.reason || before->message != ready.message) {
      AddEvent(plan, pool, PlannedEvent::Type::kWarning, reasons::kInvalidSpec, ready.message);
    }
    api::SetCondition(status.conditions, std::move(ready));
    PoolChange change = ChangeOf(observation, observation.impaired_since,
                                 observation.draining_since, std::move(status));
    if (!change.Empty()) plan.pool_changes.push_back(std::move(change));
  }

  void PlanPool(const PoolObservation& observation, PoolPlan& plan) {
    const api::ComputePool& pool = observation.pool;
    const double need =
        pool.spec.accelerators ? *pool.spec.accelerators : pool.spec.flops.value_or(0);
    const stages::PoolMembership membership =
        stages::ObserveMembers(nodes_, observation, config_, now_);
    const bool ever_satisfied = EverSatisfied(pool);
    stages::Placement placement = stages::Place(pool.spec, need, membership, ever_satisfied);
    const std::vector<const QuotaObservation*>& quotas = QuotasOf(pool.pool_namespace);
    const std::string held_back =
        quotas.empty() ? ""
                       : stages::LimitToQuotas(pool.spec, need, membership, quotas,
                                               NamespaceUsage(pool.pool_namespace), placement);
    Bind(pool, placement, plan);

    const stages::PoolOutcome outcome = stages::OutcomeOf(membership, placement);
    const stages::GraceClocks grace = stages::TrackGrace(outcome.members, now_);
    if (grace.next_deadline) {
      auto wait = std::chrono::ceil<seconds>(*grace.next_deadline - now_);
      plan.requeue_after[pool.Key()] = std::max(wait, seconds(1));
    }
    if (!placement.covered) plan.waiting_pools.insert(pool.Key());

    const PoolDrains drains = PlanDrains(pool, outcome.fits, observation.draining_since, plan);
    const stages::PoolOutcome counted = Counted(placement, outcome, drains);
    api::ComputePoolStatus status = stages::RollUpStatus(pool, counted.fits);
    if (config_.dra_claim_templates) {
      status.scheduling_resource_claim_template = ClaimTemplateName(pool.name);
    }
    stages::Placement shown = placement;
    std::string message;
    if (placement.covered && !drains.draining.empty() && !stages::Covers(counted.planned, need)) {
      shown.covered = false;
      shown.capacity_reason = reasons::kDraining;
      message = DrainingMessage(pool.spec, need, counted, drains);
    } else {
      message = stages::CapacityMessage(pool.spec, need, membership, placement, counted);
      if (!held_back.empty()) message += StrCat("; ", held_back);
    }
    WriteConditions(pool, placement.covered,
                    stages::DeriveConditions(pool, shown, counted, std::move(message),
                                             status.accelerator_count, now_),
                    status, plan);
    PoolChange change =
        ChangeOf(observation, grace.impaired_since, drains.since, std::move(status));
    if (!change.Empty()) plan.pool_changes.push_back(std::move(change));
  }

  // `outcome` without the nodes still draining: what the pool counts (status, conditions).
  static stages::PoolOutcome Counted(const stages::Placement& placement,
                                     const stages::PoolOutcome& outcome, const PoolDrains& drains) {
    if (drains.draining.empty()) return outcome;
    stages::PoolOutcome counted;
    for (const stages::MemberState* member : outcome.members) {
      if (drains.draining.contains(member->fit.node->name)) continue;
      counted.members.push_back(member);
      counted.fits.push_back(&member->fit);
      counted.planned += member->planning_capacity;
    }
    for (const auto& candidate : placement.added) {
      if (drains.draining.contains(candidate.name())) continue;
      counted.fits.push_back(candidate.fit);
      counted.planned += candidate.capacity;
    }
    return counted;
  }

  static std::string DrainingMessage(const api::ComputePoolSpec& spec, double need,
                                     const stages::PoolOutcome& counted, const PoolDrains& drains) {
    std::vector<std::string> nodes;
    for (const auto& [name, state] : drains.draining) {
      nodes.push_back(stages::DrainText(name, state));
    }
    return StrCat(stages::FormatCapacity(spec, need), " requested; ",
                  stages::FormatCapacity(spec, counted.planned), " counted on ",
                  stages::Plural(counted.fits.size(), "node"), "; waiting for ",
                  stages::Plural(nodes.size(), "bound node"), " to drain: ", StrJoin(nodes, "; "));
  }

  // Applies `placement` to the node table, with an event per bind and release and one for a
  // repair (members replaced by new ones).
  void Bind(const api::ComputePool& pool, const stages::Placement& placement, PoolPlan& plan) {
    for (const auto& [name, why] : placement.release) {
      BindingOf(name) = "";
      AddEvent(plan, pool, PlannedEvent::Type::kNormal, "NodeUnbound",
               StrCat("released node ", name, ": ", why));
    }
    const std::string binding = pool.BindingValue();
    for (const auto& candidate : placement.added) {
      BindingOf(candidate.name()) = binding;
      AddEvent(plan, pool, PlannedEvent::Type::kNormal, "NodeBound",
               StrCat("bound node ", candidate.name(), " (",
                      stages::FormatCapacity(pool.spec, candidate.capacity), ")"));
    }
    const std::vector<std::string> replaced = stages::ReplacedMembers(placement);
    if (!replaced.empty() && !placement.added.empty()) {
      std::vector<std::string> added_names;
      for (const auto& candidate : placement.added) added_names.push_back(candidate.name());
      AddEvent(plan, pool, PlannedEvent::Type::kNormal, "PoolRepaired",
               StrCat("replaced ", StrJoin(replaced, ", "), " with ", StrJoin(added_names, ", ")));
    }
  }

  const WallTime now_;
  const PlannerConfig& config_;
  std::vector<NodeEntry> nodes_;                           // sorted by name: the plan's order
  std::unordered_map<std::string_view, size_t> position_;  // node name -> index in nodes_
  std::map<std::string, std::string> pool_keys_;
  std::map<std::string, const PoolObservation*> pools_by_binding_;
  std::unordered_map<std::string_view, std::vector<const PodInfo*>> pods_on_node_;
  std::map<std::string, std::vector<const QuotaObservation*>> quotas_;  // by namespace, by name
  std::set<std::string> planned_namespaces_;
};

}  // namespace

bool HasMatchingAccelerator(const api::ComputePoolSpec& spec,
                            const api::ComputeNode& compute_node) {
  return std::any_of(compute_node.status.accelerators.begin(),
                     compute_node.status.accelerators.end(),
                     [&spec](const api::AcceleratorStatus& device) {
                       return stages::AcceleratorMatches(spec, device);
                     });
}

bool PoolChange::AddsFinalizer() const {
  return finalizers && std::find(finalizers->begin(), finalizers->end(), api::kPoolFinalizer) !=
                           finalizers->end();
}

bool PoolChange::RemovesFinalizer() const { return finalizers && !AddsFinalizer(); }

PoolPlan PlanPools(const ClusterSnapshot& snapshot, WallTime now, const PlannerConfig& config,
                   const std::set<std::string>& only_pools) {
  // Second precision, as the API stores times: a plan made from what it wrote must match it.
  now = std::chrono::floor<seconds>(now);
  PoolPlan plan;
  plan.ignored_compute_nodes = snapshot.ignored_compute_nodes;
  std::sort(plan.ignored_compute_nodes.begin(), plan.ignored_compute_nodes.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  Planner planner(snapshot, now, config);
  std::vector<const PoolObservation*> order;
  for (const auto& observation : snapshot.pools) {
    planner.RegisterPool(observation);
    if (only_pools.empty() || only_pools.contains(observation.pool.Key())) {
      order.push_back(&observation);
    }
  }
  // Deleting pools first, so what they free is there for the others; then the oldest pool first,
  // so an established request is never starved by newer ones.
  std::sort(order.begin(), order.end(), [](const PoolObservation* a, const PoolObservation* b) {
    return std::make_tuple(!a->pool.deleting, a->creation_timestamp, a->pool.Key()) <
           std::make_tuple(!b->pool.deleting, b->creation_timestamp, b->pool.Key());
  });
  for (const PoolObservation* observation : order) planner.Plan(*observation, plan);
  planner.EmitNodeChanges(plan);
  planner.EmitQuotaChanges(only_pools.empty(), plan);
  return plan;
}

}  // namespace zhisuan::controller
