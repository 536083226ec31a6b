#include "controller/reconcile/pool_planner.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "api/quantity.h"
#include "common/strings.h"

namespace zhisuan::controller {
namespace {

// A capacity message without its volatile parts: the " (free: ...)" zone list and the
// "; nodes not eligible: ..." breakdown, which change whenever another pool binds a node.
std::string ShortfallGist(std::string_view message) {
  std::string gist(message);
  if (auto at = gist.find(" (free: "); at != std::string::npos) {
    auto end = gist.find(')', at);
    gist.erase(at, end == std::string::npos ? std::string::npos : end + 1 - at);
  }
  if (auto at = gist.find("; nodes not eligible: "); at != std::string::npos) {
    auto end = gist.find("; ", at + 2);
    gist.erase(at, end == std::string::npos ? std::string::npos : end - at);
  }
  return gist;
}

using std::chrono::seconds;

// FLOPS figures are sums of doubles; a request met to within this fraction counts as met, so
// 20P asked for and 2.5P x 8 bound is satisfied whatever order the sum ran in.
constexpr double kCoverTolerance = 1e-9;

bool Covers(double have, double need) { return have >= need * (1 - kCoverTolerance); }

std::string FormatCapacity(const api::ComputePoolSpec& spec, double capacity) {
  if (spec.accelerators) {
    const auto count = static_cast<int64_t>(std::llround(capacity));
    return StrCat(count, count == 1 ? " accelerator" : " accelerators");
  }
  return StrCat(api::FormatQuantity(capacity), " ", api::PrecisionName(spec.precision));
}

std::string FormatNumber(double value) {
  // Two decimals are what a carbon figure is quoted with; StrCat would print 0.62000000000000011.
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", value);
  std::string text = buffer;
  while (!text.empty() && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

std::string Plural(size_t count, std::string_view word) {
  return StrCat(count, " ", word, count == 1 ? "" : "s");
}

// Why a node cannot join a pool, in the order they are checked (the first one found is reported).
enum class Exclusion {
  kNone,
  kOtherPool,
  kNotReady,
  kNoComputeNode,
  kNoMatchingAccelerators,
  kSelector,
  kCarbon,
};

// How one node measures up against one pool's spec.
struct NodeFit {
  const NodeInfo* node = nullptr;
  const api::ComputeNode* compute_node = nullptr;
  int matching = 0;           // accelerators of the wanted vendor/product
  int healthy_matching = 0;   // ...that are healthy
  double capacity = 0;        // of the healthy matching ones, in request units
  bool selected = false;      // meets spec.nodeSelector
  bool carbon_ok = false;     // meets the carbon policy exactly (admission)
  bool carbon_far = false;    // beyond the policy by more than the margin (immediate eviction)
  std::string carbon_detail;  // what is out of policy, for messages
  std::vector<std::string> unhealthy_reasons;

  bool Schedulable() const { return node->ready && !node->unschedulable && !node->deleting; }
  Exclusion AdmissionExclusion() const {
    if (!Schedulable()) return Exclusion::kNotReady;
    if (compute_node == nullptr) return Exclusion::kNoComputeNode;
    if (capacity <= 0) return Exclusion::kNoMatchingAccelerators;
    if (!selected) return Exclusion::kSelector;
    if (!carbon_ok) return Exclusion::kCarbon;
    return Exclusion::kNone;
  }
};

bool AcceleratorMatches(const api::ComputePoolSpec& spec, const api::AcceleratorStatus& device) {
  if (!spec.vendor.empty() && device.vendor != spec.vendor) return false;
  if (!spec.products.empty() && std::find(spec.products.begin(), spec.products.end(),
                                          device.product) == spec.products.end()) {
    return false;
  }
  return true;
}

NodeFit Fit(const api::ComputePoolSpec& spec, const PlannerConfig& config, const NodeInfo& node,
            const api::ComputeNode* compute_node) {
  NodeFit fit;
  fit.node = &node;
  fit.compute_node = compute_node;
  fit.selected = spec.node_selector.Matches(node.labels);
  if (compute_node == nullptr) return fit;
  for (const auto& device : compute_node->status.accelerators) {
    if (!AcceleratorMatches(spec, device)) continue;
    ++fit.matching;
    if (!device.healthy) {
      fit.unhealthy_reasons.push_back(device.reason.empty() ? "unhealthy" : device.reason);
      continue;
    }
    ++fit.healthy_matching;
    fit.capacity += spec.accelerators ? 1.0 : api::At(device.peak_flops, spec.precision);
  }
  const api::EnergyStatus& energy = compute_node->status.energy;
  fit.carbon_ok = true;
  std::vector<std::string> details;
  if (spec.min_carbon_free_ratio) {
    const double min = *spec.min_carbon_free_ratio;
    if (!energy.carbon_free_ratio) {
      fit.carbon_ok = false;
      fit.carbon_far = true;  // unknown energy never meets a policy
      details.push_back("reports no carbon-free ratio");
    } else if (*energy.carbon_free_ratio < min) {
      fit.carbon_ok = false;
      fit.carbon_far =
          fit.carbon_far || *energy.carbon_free_ratio < min - config.carbon_free_ratio_margin;
      details.push_back(StrCat("carbon-free ratio ", FormatNumber(*energy.carbon_free_ratio), " < ",
                               FormatNumber(min)));
    }
  }
  if (spec.max_intensity) {
    const double max = *spec.max_intensity;
    if (!energy.carbon_intensity) {
      fit.carbon_ok = false;
      fit.carbon_far = true;
      details.push_back("reports no carbon intensity");
    } else if (*energy.carbon_intensity > max) {
      fit.carbon_ok = false;
      fit.carbon_far =
          fit.carbon_far || *energy.carbon_intensity > max + config.carbon_intensity_margin;
      details.push_back(StrCat("carbon intensity ", FormatNumber(*energy.carbon_intensity), " > ",
                               FormatNumber(max), " gCO2e/kWh"));
    }
  }
  fit.carbon_detail = StrJoin(details, ", ");
  return fit;
}

// A member's standing, which decides the capacity the planner credits it with.
struct MemberState {
  NodeFit fit;
  double planning_capacity = 0;   // what the planner counts on
  bool impaired = false;          // NotReady or out of carbon policy, within the margin
  std::optional<WallTime> since;  // when the impairment began (impaired only)
  std::optional<WallTime> deadline;
  std::string problem;  // why it counts for nothing, or what is wrong; "" when fine
};

MemberState AssessMember(const NodeFit& fit, const PoolObservation& observation,
                         const PlannerConfig& config, WallTime now) {
  MemberState state;
  state.fit = fit;
  const NodeInfo& node = *fit.node;
  // Hard faults: an operator or the tenant changed something; no grace.
  if (node.deleting) {
    state.problem = "node is being deleted";
  } else if (node.unschedulable) {
    state.problem = "node is cordoned";
  } else if (fit.compute_node == nullptr) {
    state.problem = "node has no ComputeNode";
  } else if (fit.matching == 0) {
    state.problem = "no accelerators match spec.accelerator";
  } else if (!fit.selected) {
    state.problem = "node no longer matches spec.nodeSelector";
  } else if (!fit.carbon_ok && fit.carbon_far) {
    state.problem = StrCat("out of carbon policy: ", fit.carbon_detail);
  }
  if (!state.problem.empty()) return state;

  // Soft faults: they often clear by themselves, so the member keeps its capacity for a grace
  // period measured from when the fault was first seen.
  std::optional<seconds> grace;
  std::vector<std::string> faults;
  if (!node.ready) {
    grace = config.health_grace;
    faults.push_back("node not Ready");
  }
  if (!fit.carbon_ok) {
    grace = grace ? std::min(*grace, config.carbon_grace) : config.carbon_grace;
    faults.push_back(StrCat("out of carbon policy: ", fit.carbon_detail));
  }
  if (!grace) {
    state.planning_capacity = fit.capacity;
    return state;
  }
  state.impaired = true;
  auto recorded = observation.impaired_since.find(node.name);
  state.since = recorded != observation.impaired_since.end() ? recorded->second : now;
  state.deadline = *state.since + *grace;
  const std::string what = StrJoin(faults, "; ");
  if (now < *state.deadline) {
    state.planning_capacity = fit.capacity;
    state.problem = StrCat(what, " since ", FormatWallTime(*state.since), "; replaced after ",
                           FormatWallTime(*state.deadline), " if it persists");
  } else {
    state.problem = StrCat(what, " since ", FormatWallTime(*state.since));
  }
  return state;
}

struct Candidate {
  const NodeFit* fit;
  double capacity;
  double carbon_free;  // for tie-breaks: greener first
  std::string zone, rack;
  const std::string& name() const { return fit->node->name; }
};

// Largest first (fewest nodes), greener on ties, then by name for determinism.
bool PreferCandidate(const Candidate& a, const Candidate& b) {
  return std::tie(b.capacity, b.carbon_free, a.name()) <
         std::tie(a.capacity, a.carbon_free, b.name());
}

// Drops chosen nodes, smallest first, that the rest covers without.
void TrimExcess(std::vector<Candidate>& chosen, double need) {
  double total = 0;
  for (const auto& candidate : chosen) total += candidate.capacity;
  std::vector<Candidate> by_size = chosen;
  std::stable_sort(by_size.begin(), by_size.end(), [](const Candidate& a, const Candidate& b) {
    return std::tie(a.capacity, b.name()) < std::tie(b.capacity, a.name());
  });
  for (const auto& candidate : by_size) {
    if (!Covers(total - candidate.capacity, need)) continue;
    total -= candidate.capacity;
    std::erase_if(chosen, [&](const Candidate& c) { return c.name() == candidate.name(); });
  }
}

// The fewest candidates (already in preference order) covering `need`: the largest ones, with the
// last pick the smallest node that still covers what is left. nullopt when they cannot.
std::optional<std::vector<Candidate>> CoverWithin(const std::vector<Candidate>& candidates,
                                                  double need) {
  std::vector<Candidate> chosen;
  double total = 0;
  for (size_t i = 0; i < candidates.size() && !Covers(total, need); ++i) {
    const double remaining = need - total;
    if (candidates[i].capacity < remaining * (1 - kCoverTolerance)) {
      chosen.push_back(candidates[i]);
      total += candidates[i].capacity;
      continue;
    }
    // This one finishes the job; a smaller one further down may too, with less waste.
    size_t best = i;
    for (size_t j = i + 1; j < candidates.size(); ++j) {
      if (Covers(candidates[j].capacity, remaining) &&
          candidates[j].capacity < candidates[best].capacity) {
        best = j;
      }
    }
    chosen.push_back(candidates[best]);
    total += candidates[best].capacity;
  }
  if (!Covers(total, need)) return std::nullopt;
  TrimExcess(chosen, need);
  return chosen;
}

double Sum(const std::vector<Candidate>& candidates) {
  double total = 0;
  for (const auto& candidate : candidates) total += candidate.capacity;
  return total;
}

// Picks new members covering `need`, preferring one rack, then one zone (the members' own when
// the pool already has members there), then spilling across zones biggest zone first.
std::optional<std::vector<Candidate>> ChooseNodes(std::vector<Candidate> candidates, double need,
                                                  const std::vector<const MemberState*>& members) {
  std::sort(candidates.begin(), candidates.end(), PreferCandidate);
  // The domain all members share, if they share one.
  std::optional<std::string> member_zone, member_rack;
  bool one_zone = true, one_rack = true;
  for (const MemberState* member : members) {
    const std::string zone = member->fit.node->Zone();
    const std::string rack = zone + "/" + member->fit.node->Rack();
    if (zone.empty() || (member_zone && *member_zone != zone)) one_zone = false;
    if (member->fit.node->Rack().empty() || (member_rack && *member_rack != rack)) {
      one_rack = false;
    }
    member_zone = zone;
    member_rack = rack;
  }
  const bool has_members = !members.empty();

  // Tier by tier; within a tier the domain needing the fewest nodes, then the least excess, then
  // the first name wins.
  for (int tier = 0; tier < 2; ++tier) {
    if (has_members && !(tier == 0 ? one_rack : one_zone)) continue;
    std::map<std::string, std::vector<Candidate>> domains;
    for (const auto& candidate : candidates) {
      if (candidate.zone.empty() || (tier == 0 && candidate.rack.empty())) continue;
      std::string domain = tier == 0 ? candidate.zone + "/" + candidate.rack : candidate.zone;
      if (has_members && domain != (tier == 0 ? *member_rack : *member_zone)) continue;
      domains[domain].push_back(candidate);
    }
    std::optional<std::vector<Candidate>> best;
    std::tuple<size_t, double> best_key;
    for (const auto& [domain, in_domain] : domains) {
      auto chosen = CoverWithin(in_domain, need);
      if (!chosen) continue;
      std::tuple<size_t, double> key{chosen->size(), Sum(*chosen) - need};
      if (!best || key < best_key) {
        best = std::move(chosen);
        best_key = key;
      }
    }
    if (best) return best;
  }
  // No single domain: fill the zone with the most capacity first, so the pool spans few zones.
  std::map<std::string, double> zone_capacity;
  for (const auto& candidate : candidates) zone_capacity[candidate.zone] += candidate.capacity;
  std::stable_sort(candidates.begin(), candidates.end(),
                   [&](const Candidate& a, const Candidate& b) {
                     const double za = zone_capacity[a.zone], zb = zone_capacity[b.zone];
                     if (za != zb) return za > zb;
                     return a.zone < b.zone;
                   });
  std::vector<Candidate> chosen;
  double total = 0;
  for (const auto& candidate : candidates) {
    if (Covers(total, need)) break;
    chosen.push_back(candidate);
    total += candidate.capacity;
  }
  if (!Covers(total, need)) return std::nullopt;
  TrimExcess(chosen, need);
  return chosen;
}

// Whether `current` already is what DesiredTaints would make of it: no allocation, for the
// every-node check at the end of each plan.
bool TaintsAsWanted(const std::vector<Taint>& current, const std::string& binding) {
  size_t ours = 0;
  bool exact = false;
  for (const auto& taint : current) {
    if (taint.key != api::kPoolTaintKey) continue;
    ++ours;
    exact = taint.value == binding && taint.effect == "NoSchedule";
  }
  return binding.empty() ? ours == 0 : ours == 1 && exact;
}

std::vector<Taint> DesiredTaints(const std::vector<Taint>& current, const std::string& binding) {
  const Taint ours{std::string(api::kPoolTaintKey), binding, "NoSchedule"};
  size_t our_key = 0;
  bool exact = false;
  for (const auto& taint : current) {
    if (taint.key != api::kPoolTaintKey) continue;
    ++our_key;
    exact = taint == ours;
  }
  if (!binding.empty() && our_key == 1 && exact) return current;
  std::vector<Taint> desired;
  for (const auto& taint : current) {
    if (taint.key != api::kPoolTaintKey) desired.push_back(taint);
  }
  if (!binding.empty()) desired.push_back(ours);
  return desired;
}

api::Condition MakeCondition(std::string_view type, bool ok, std::string_view reason,
                             std::string message, int64_t generation, WallTime now,
                             std::string_view status_override = "") {
  api::Condition condition;
  condition.type = type;
  condition.status = status_override.empty() ? (ok ? "True" : "False") : status_override;
  condition.reason = reason;
  condition.message = std::move(message);
  condition.observed_generation = generation;
  condition.last_transition_time = FormatWallTime(now);
  return condition;
}

std::string PolicyText(const api::ComputePoolSpec& spec) {
  std::vector<std::string> parts;
  if (spec.min_carbon_free_ratio) {
    parts.push_back(StrCat("carbon-free ratio >= ", FormatNumber(*spec.min_carbon_free_ratio)));
  }
  if (spec.max_intensity) {
    parts.push_back(StrCat("intensity <= ", FormatNumber(*spec.max_intensity), " gCO2e/kWh"));
  }
  return StrJoin(parts, " and ");
}

// Everything planning one pool produces besides node bindings.
struct PoolOutcome {
  std::vector<std::string> members;  // after the plan
  bool covered = false;
  std::string capacity_reason;
  std::string capacity_message;
};

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
    position_.reserve(nodes_.size());
    for (size_t i = 0; i < nodes_.size(); ++i) {
      NodeEntry& entry = nodes_[i];
      position_.emplace(entry.node->name, i);
      auto compute_node = compute_nodes.find(entry.node->name);
      if (compute_node != compute_nodes.end()) entry.compute_node = compute_node->second;
      entry.binding = entry.node->PoolBinding();
    }
  }

  void Plan(const PoolObservation& observation, PoolPlan& plan) {
    if (observation.pool.deleting) {
      PlanDeletion(observation, plan);
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
      if (wanted == current && TaintsAsWanted(node->taints, wanted)) continue;
      std::vector<Taint> taints = DesiredTaints(node->taints, wanted);
      NodeChange change;
      change.node = node->name;
      change.resource_version = node->resource_version;
      change.from_binding = current;
      change.to_binding = wanted;
      change.from_pool = PoolKeyOf(current);
      change.to_pool = PoolKeyOf(wanted);
      change.taints = std::move(taints);
      plan.node_changes.push_back(std::move(change));
    }
  }

  void RegisterPool(const api::ComputePool& pool) { pool_keys_[pool.BindingValue()] = pool.Key(); }

 private:
  std::string PoolKeyOf(const std::string& binding) const {
    if (binding.empty()) return "";
    auto it = pool_keys_.find(binding);
    return it == pool_keys_.end() ? "" : it->second;
  }

  // The binding the plan leaves `node` with, by name; the node must be in the snapshot.
  std::string& BindingOf(const std::string& node) { return nodes_[position_.at(node)].binding; }

  static void AddEvent(PoolPlan& plan, const api::ComputePool& pool, PlannedEvent::Type type,
                       std::string_view reason, std::string message) {
    plan.events.push_back(
        {pool.pool_namespace, pool.name, pool.uid, type, std::string(reason), std::move(message)});
  }

  void PlanDeletion(const PoolObservation& observation, PoolPlan& plan) {
    const api::ComputePool& pool = observation.pool;
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

  static PoolChange BaseChange(const api::ComputePool& pool) {
    PoolChange change;
    change.pool_key = pool.Key();
    change.pool_namespace = pool.pool_namespace;
    change.name = pool.name;
    change.uid = pool.uid;
    change.resource_version = pool.resource_version;
    return change;
  }

  void PlanPool(const PoolObservation& observation, PoolPlan& plan) {
    const api::ComputePool& pool = observation.pool;
    const api::ComputePoolSpec& spec = pool.spec;
    const std::string binding = pool.BindingValue();
    const double need = spec.accelerators ? *spec.accelerators : spec.flops.value_or(0);

    // Observe: members (by label, the source of truth) and how every free node fits. A node in
    // another pool is only counted: how it would fit cannot matter.
    std::vector<NodeFit> fits;
    fits.reserve(nodes_.size());  // never reallocated: candidates point into it
    std::vector<MemberState> members;
    std::vector<Candidate> candidates;
    std::map<Exclusion, size_t> excluded;
    for (const NodeEntry& entry : nodes_) {
      const bool member = entry.binding == binding;
      if (!member && !entry.binding.empty()) {
        ++excluded[Exclusion::kOtherPool];
        continue;
      }
      const NodeFit& fit = fits.emplace_back(Fit(spec, config_, *entry.node, entry.compute_node));
      if (member) {
        members.push_back(AssessMember(fit, observation, config_, now_));
        continue;
      }
      const Exclusion exclusion = fit.AdmissionExclusion();
      if (exclusion != Exclusion::kNone) {
        ++excluded[exclusion];
        continue;
      }
      const auto* energy = &fit.compute_node->status.energy;
      candidates.push_back({&fit, fit.capacity, energy->carbon_free_ratio.value_or(0),
                            fit.node->Zone(), fit.node->Rack()});
    }

    // Decide.
    double kept = 0;
    std::vector<const MemberState*> contributing;
    for (const auto& member : members) {
      if (member.planning_capacity > 0) {
        kept += member.planning_capacity;
        contributing.push_back(&member);
      }
    }
    const api::Condition* previous =
        api::FindCondition(pool.status.conditions, api::kConditionCapacitySatisfied);
    const bool ever_satisfied =
        previous != nullptr &&
        (previous->status == "True" || previous->reason == reasons::kCapacityDegraded);

    std::set<std::string> release;  // members to unbind, with why
    std::map<std::string, std::string> release_why;
    std::vector<Candidate> added;
    PoolOutcome outcome;
    double eligible_total = kept + Sum(candidates);
    if (Covers(kept, need)) {
      // Enough already: let go of members that count for nothing, then shrink smallest first.
      outcome.covered = true;
      for (const auto& member : members) {
        if (member.planning_capacity <= 0) {
          release.insert(member.fit.node->name);
          release_why[member.fit.node->name] =
              StrCat("not needed (", member.problem.empty() ? "no capacity" : member.problem, ")");
        }
      }
      std::vector<const MemberState*> by_value = contributing;
      std::sort(by_value.begin(), by_value.end(), [](const MemberState* a, const MemberState* b) {
        return std::tie(a->planning_capacity, b->fit.node->name) <
               std::tie(b->planning_capacity, a->fit.node->name);
      });
      double total = kept;
      for (const MemberState* member : by_value) {
        if (!Covers(total - member->planning_capacity, need)) continue;
        total -= member->planning_capacity;
        release.insert(member->fit.node->name);
        release_why[member->fit.node->name] = "not needed after the pool shrank";
      }
    } else if (auto chosen = ChooseNodes(candidates, need - kept, contributing)) {
      outcome.covered = true;
      added = std::move(*chosen);
      for (const auto& member : members) {
        if (member.planning_capacity <= 0) {
          release.insert(member.fit.node->name);
          release_why[member.fit.node->name] = StrCat("replaced (", member.problem, ")");
        }
      }
    } else if (!spec.all_or_nothing) {
      added = candidates;  // Partial: everything eligible helps
      outcome.capacity_reason = reasons::kPartiallySatisfied;
    } else if (!ever_satisfied) {
      // A pool that never held its capacity holds no nodes: the members are left over from an
      // interrupted bind (or the spec changed before it completed), and other pools may need them.
      for (const auto& member : members) {
        release.insert(member.fit.node->name);
        release_why[member.fit.node->name] = "the all-or-nothing pool cannot be satisfied";
      }
      outcome.capacity_reason = reasons::kInsufficientCapacity;
    } else {
      outcome.capacity_reason = reasons::kCapacityDegraded;
    }

    // Bindings and events.
    for (const auto& name : release) {
      BindingOf(name) = "";
      AddEvent(plan, pool, PlannedEvent::Type::kNormal, "NodeUnbound",
               StrCat("released node ", name, ": ", release_why[name]));
    }
    for (const auto& candidate : added) {
      BindingOf(candidate.name()) = binding;
      AddEvent(plan, pool, PlannedEvent::Type::kNormal, "NodeBound",
               StrCat("bound node ", candidate.name(), " (",
                      FormatCapacity(spec, candidate.capacity), ")"));
    }
    std::vector<std::string> replaced;
    for (const auto& name : release) {
      if (StartsWith(release_why[name], "replaced")) replaced.push_back(name);
    }
    if (!replaced.empty() && !added.empty()) {
      std::vector<std::string> added_names;
      for (const auto& candidate : added) added_names.push_back(candidate.name());
      AddEvent(plan, pool, PlannedEvent::Type::kNormal, "PoolRepaired",
               StrCat("replaced ", StrJoin(replaced, ", "), " with ", StrJoin(added_names, ", ")));
    }

    // The members after the plan, and the state that rides along with them.
    std::vector<const MemberState*> final_members;
    for (const auto& member : members) {
      if (!release.contains(member.fit.node->name)) final_members.push_back(&member);
    }
    std::map<std::string, WallTime> impaired_since;
    std::optional<WallTime> next_deadline;
    for (const MemberState* member : final_members) {
      if (!member->impaired) continue;
      impaired_since[member->fit.node->name] = *member->since;
      if (*member->deadline > now_ && (!next_deadline || *member->deadline < *next_deadline)) {
        next_deadline = *member->deadline;
      }
    }
    if (next_deadline) {
      auto wait = std::chrono::ceil<seconds>(*next_deadline - now_);
      plan.requeue_after[pool.Key()] = std::max(wait, seconds(1));
    }

    // Capacity message, from the state after the plan.
    double planned = 0;
    for (const MemberState* member : final_members) planned += member->planning_capacity;
    for (const auto& candidate : added) planned += candidate.capacity;
    const size_t final_count = final_members.size() + added.size();
    if (outcome.covered) {
      outcome.capacity_reason = reasons::kSatisfied;
      outcome.capacity_message =
          StrCat(FormatCapacity(spec, need), " requested; ", FormatCapacity(spec, planned),
                 " bound on ", Plural(final_count, "node"));
    } else {
      plan.waiting_pools.insert(pool.Key());
      std::set<std::string> taken;
      for (const auto& candidate : added) taken.insert(candidate.name());
      std::vector<Candidate> free_nodes;
      for (const auto& candidate : candidates) {
        if (!taken.contains(candidate.name())) free_nodes.push_back(candidate);
      }
      std::vector<std::string> out_of_service;
      for (const MemberState* member : final_members) {
        if (member->planning_capacity <= 0) {
          out_of_service.push_back(StrCat(member->fit.node->name, " (", member->problem, ")"));
        }
      }
      outcome.capacity_message =
          ShortfallMessage(spec, need, planned, final_count, eligible_total, free_nodes, excluded,
                           out_of_service, outcome.capacity_reason);
    }

    // Status.
    api::ComputePoolStatus status = pool.status;
    status.observed_generation = pool.generation;
    status.nodes.clear();
    status.accelerator_count = 0;
    status.flops = 0;
    double power = 0, ratio_weighted = 0, intensity_weighted = 0;
    double ratio_plain = 0, intensity_plain = 0;
    int ratio_count = 0, intensity_count = 0;
    bool all_have_power = true;
    std::vector<const NodeFit*> final_fits;
    for (const MemberState* member : final_members) final_fits.push_back(&member->fit);
    for (const auto& candidate : added) final_fits.push_back(candidate.fit);
    for (const NodeFit* fit : final_fits) {
      status.nodes.push_back(fit->node->name);
      status.accelerator_count += fit->healthy_matching;
      if (spec.accelerators) {
        for (const auto& device : fit->compute_node ? fit->compute_node->status.accelerators
                                                    : std::vector<api::AcceleratorStatus>{}) {
          if (device.healthy && AcceleratorMatches(spec, device)) {
            status.flops += api::At(device.peak_flops, spec.precision);
          }
        }
      } else {
        status.flops += fit->capacity;
      }
      if (fit->compute_node == nullptr) continue;
      const auto& node_status = fit->compute_node->status;
      if (node_status.power_capacity_watts <= 0) all_have_power = false;
      const double watts = static_cast<double>(node_status.power_capacity_watts);
      if (node_status.energy.carbon_free_ratio) {
        ratio_plain += *node_status.energy.carbon_free_ratio;
        ratio_weighted += *node_status.energy.carbon_free_ratio * watts;
        ++ratio_count;
      }
      if (node_status.energy.carbon_intensity) {
        intensity_plain += *node_status.energy.carbon_intensity;
        intensity_weighted += *node_status.energy.carbon_intensity * watts;
        ++intensity_count;
      }
      power += watts;
    }
    std::sort(status.nodes.begin(), status.nodes.end());
    // The API stores FLOPS as a 4-digit quantity; compare in that form, or the status read back
    // (15.83P) would never equal the one computed (15.8304P) and every plan would rewrite it.
    status.flops = api::ParseQuantity(api::FormatQuantity(status.flops)).value_or(status.flops);
    // Power-weighted when every member reports its power capacity (a 10 kW node burns ten times
    // the energy of a 1 kW one), else a plain average rather than a weighting that ignores some.
    const bool weighted = all_have_power && power > 0 &&
                          static_cast<size_t>(ratio_count) == final_fits.size() &&
                          static_cast<size_t>(intensity_count) == final_fits.size();
    status.carbon_free_ratio.reset();
    status.carbon_intensity.reset();
    if (ratio_count > 0) {
      status.carbon_free_ratio =
          Round(weighted ? ratio_weighted / power : ratio_plain / ratio_count);
    }
    if (intensity_count > 0) {
      status.carbon_intensity =
          Round(weighted ? intensity_weighted / power : intensity_plain / intensity_count);
    }
    status.scheduling_node_selector = {{std::string(api::kPoolLabel), binding}};
    status.scheduling_tolerations = {
        {std::string(api::kPoolTaintKey), "Equal", binding, "NoSchedule"}};

    const int64_t generation = pool.generation;
    api::Condition capacity =
        MakeCondition(api::kConditionCapacitySatisfied, outcome.covered, outcome.capacity_reason,
                      outcome.capacity_message, generation, now_);

    // Carbon.
    api::Condition carbon;
    if (!spec.min_carbon_free_ratio && !spec.max_intensity) {
      carbon = MakeCondition(api::kConditionCarbonCompliant, true, reasons::kNoCarbonPolicy,
                             "the pool sets no carbon policy", generation, now_);
    } else {
      std::vector<std::string> violations;
      for (const NodeFit* fit : final_fits) {
        if (fit->carbon_ok) continue;
        std::string violation = StrCat(fit->node->name, ": ", fit->carbon_detail);
        for (const MemberState* member : final_members) {
          if (&member->fit == fit && !member->problem.empty()) {
            violation = StrCat(fit->node->name, ": ", member->problem);
          }
        }
        violations.push_back(std::move(violation));
      }
      if (violations.empty()) {
        carbon = MakeCondition(
            api::kConditionCarbonCompliant, true, reasons::kCompliant,
            final_fits.empty()
                ? "no nodes bound"
                : StrCat("all ", Plural(final_fits.size(), "node"), " meet ", PolicyText(spec)),
            generation, now_);
      } else {
        carbon = MakeCondition(
            api::kConditionCarbonCompliant, false, reasons::kOutOfCarbonPolicy,
            StrCat(StrJoin(violations, "; "), ". The policy is ", PolicyText(spec),
                   "; members are replaced by compliant spares when any are available"),
            generation, now_);
      }
    }

    // Health.
    api::Condition health;
    if (final_fits.empty()) {
      health = MakeCondition(api::kConditionAcceleratorsHealthy, false, reasons::kNoMembers,
                             "no nodes bound", generation, now_, "Unknown");
    } else {
      std::vector<std::string> problems;
      for (const NodeFit* fit : final_fits) {
        std::vector<std::string> node_problems;
        if (!fit->node->ready) {
          std::string text = "node not Ready";
          for (const MemberState* member : final_members) {
            if (&member->fit == fit && member->since) {
              text = StrCat("node not Ready since ", FormatWallTime(*member->since));
            }
          }
          node_problems.push_back(std::move(text));
        }
        if (fit->node->unschedulable) node_problems.push_back("node cordoned");
        if (fit->compute_node == nullptr) node_problems.push_back("no ComputeNode");
        if (!fit->unhealthy_reasons.empty()) {
          node_problems.push_back(StrCat(fit->unhealthy_reasons.size(), " of ", fit->matching,
                                         " accelerators unhealthy (",
                                         StrJoin(fit->unhealthy_reasons, ", "), ")"));
        }
        if (!node_problems.empty()) {
          problems.push_back(StrCat(fit->node->name, ": ", StrJoin(node_problems, ", ")));
        }
      }
      health =
          problems.empty()
              ? MakeCondition(api::kConditionAcceleratorsHealthy, true, reasons::kAllHealthy,
                              StrCat("all ", status.accelerator_count, " accelerators on ",
                                     Plural(final_fits.size(), "node"), " are healthy"),
                              generation, now_)
              : MakeCondition(api::kConditionAcceleratorsHealthy, false, reasons::kUnhealthyMembers,
                              StrJoin(problems, "; "), generation, now_);
    }

    api::Condition ready;
    const api::Condition* failing = nullptr;
    for (const api::Condition* condition : {&capacity, &health, &carbon}) {
      if (condition->status != "True") {
        failing = condition;
        break;
      }
    }
    if (failing == nullptr) {
      ready = MakeCondition(
          api::kConditionReady, true, reasons::kReady,
          StrCat(FormatCapacity(spec, planned), " ready on ", Plural(final_fits.size(), "node"),
                 "; schedule pods with nodeSelector ", api::kPoolLabel, "=", binding,
                 " and the matching toleration"),
          generation, now_);
    } else {
      ready = MakeCondition(api::kConditionReady, false, failing->reason, failing->message,
                            generation, now_);
    }
    // A shortfall message whose only change is the breakdown of free and ineligible nodes keeps
    // its previous text: that breakdown moves whenever any other pool binds or frees a node, and
    // rewriting every waiting pool's status for it cost one API write per waiting pool per node
    // event, which starved new pools (bench/fleet, 500 pools on 500 nodes). It is refreshed with
    // the next change to the shortfall itself.
    for (auto* condition : {&ready, &capacity}) {
      const api::Condition* before = api::FindCondition(pool.status.conditions, condition->type);
      if (before != nullptr && before->status == condition->status &&
          before->reason == condition->reason && before->message != condition->message &&
          ShortfallGist(before->message) == ShortfallGist(condition->message)) {
        condition->message = before->message;
      }
    }
    for (auto* condition : {&ready, &capacity, &carbon, &health}) {
      api::SetCondition(status.conditions, std::move(*condition));
    }

    if (!outcome.covered) {
      const api::Condition* before =
          api::FindCondition(pool.status.conditions, api::kConditionCapacitySatisfied);
      const api::Condition* after =
          api::FindCondition(status.conditions, api::kConditionCapacitySatisfied);
      // The message's breakdown of free and ineligible nodes moves with every bind elsewhere;
      // an event for each would be one write per waiting pool per bind (bench/fleet saw 12 per
      // pool in a 500-pool burst). Events follow the shortfall itself.
      if (before == nullptr || before->reason != after->reason ||
          ShortfallGist(before->message) != ShortfallGist(after->message)) {
        AddEvent(plan, pool, PlannedEvent::Type::kWarning, "Unsatisfiable", after->message);
      }
    }

    PoolChange change = BaseChange(pool);
    if (std::find(pool.finalizers.begin(), pool.finalizers.end(), api::kPoolFinalizer) ==
        pool.finalizers.end()) {
      auto finalizers = pool.finalizers;
      finalizers.push_back(std::string(api::kPoolFinalizer));
      change.finalizers = std::move(finalizers);
    }
    if (impaired_since != observation.impaired_since) {
      change.impaired_since = impaired_since.empty() ? "" : EncodeImpairedSince(impaired_since);
    }
    if (status != pool.status) change.status = std::move(status);
    if (!change.Empty()) plan.pool_changes.push_back(std::move(change));
  }

  static double Round(double value) {
    // Six decimals: enough for a ratio or gCO2e/kWh, and stable across summation orders so the
    // status does not change when nothing did.
    return std::round(value * 1e6) / 1e6;
  }

  // "need 20P bf16; only 12.4P bf16 eligible (free: 12.4P bf16 on 16 nodes in zone kunming-a);
  // nodes not eligible: 3 out of carbon policy; ...": what is missing, and why, so the tenant knows
  // whether to wait, relax the spec, or call the operator.
  static std::string ShortfallMessage(const api::ComputePoolSpec& spec, double need, double planned,
                                      size_t planned_nodes, double eligible_total,
                                      const std::vector<Candidate>& free_nodes,
                                      const std::map<Exclusion, size_t>& excluded,
                                      const std::vector<std::string>& out_of_service,
                                      const std::string& reason) {
    std::map<std::string, std::pair<double, size_t>> by_zone;
    for (const auto& candidate : free_nodes) {
      auto& [capacity, count] = by_zone[candidate.zone.empty() ? "(no zone)" : candidate.zone];
      capacity += candidate.capacity;
      ++count;
    }
    std::vector<std::string> zones;
    for (const auto& [zone, entry] : by_zone) {
      zones.push_back(StrCat(FormatCapacity(spec, entry.first), " on ",
                             Plural(entry.second, "node"), " in zone ", zone));
    }
    std::string message = StrCat("need ", FormatCapacity(spec, need), "; ");
    if (reason == reasons::kInsufficientCapacity) {
      message += StrCat("only ", FormatCapacity(spec, eligible_total), " eligible");
    } else {
      message += StrCat(FormatCapacity(spec, planned), " bound on ", Plural(planned_nodes, "node"));
    }
    if (!zones.empty()) message += StrCat(" (free: ", StrJoin(zones, ", "), ")");
    std::vector<std::string> reasons_text;
    static const std::pair<Exclusion, const char*> kWords[] = {
        {Exclusion::kOtherPool, "in other pools"},
        {Exclusion::kNotReady, "not Ready or cordoned"},
        {Exclusion::kNoComputeNode, "without a ComputeNode"},
        {Exclusion::kNoMatchingAccelerators, "without healthy matching accelerators"},
        {Exclusion::kSelector, "outside spec.nodeSelector"},
        {Exclusion::kCarbon, "out of carbon policy"},
    };
    for (const auto& [exclusion, words] : kWords) {
      auto it = excluded.find(exclusion);
      if (it != excluded.end()) reasons_text.push_back(StrCat(it->second, " ", words));
    }
    if (!reasons_text.empty()) {
      message += StrCat("; nodes not eligible: ", StrJoin(reasons_text, ", "));
    }
    if (!out_of_service.empty()) {
      message += StrCat("; out of service: ", StrJoin(out_of_service, ", "));
    }
    if (reason == reasons::kInsufficientCapacity) {
      message += "; nothing is bound until the whole request fits (spec.allocation AllOrNothing)";
    }
    return message;
  }

  const WallTime now_;
  const PlannerConfig& config_;
  struct NodeEntry {
    const NodeInfo* node;
    const api::ComputeNode* compute_node;  // nullptr when it has none (or it was ignored)
    std::string binding;                   // the pool label as the plan leaves it
  };
  std::vector<NodeEntry> nodes_;                           // sorted by name: the plan's order
  std::unordered_map<std::string_view, size_t> position_;  // node name -> index in nodes_
  std::map<std::string, std::string> pool_keys_;
};

}  // namespace

bool HasMatchingAccelerator(const api::ComputePoolSpec& spec,
                            const api::ComputeNode& compute_node) {
  return std::any_of(
      compute_node.status.accelerators.begin(), compute_node.status.accelerators.end(),
      [&spec](const api::AcceleratorStatus& device) { return AcceleratorMatches(spec, device); });
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
    planner.RegisterPool(observation.pool);
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
  return plan;
}

ClusterSnapshot ApplyPlan(ClusterSnapshot snapshot, const PoolPlan& plan) {
  for (const auto& change : plan.node_changes) {
    for (size_t i = 0; i < snapshot.nodes.size(); ++i) {
      if (std::as_const(snapshot.nodes)[i].name != change.node) continue;
      NodeInfo& node = snapshot.nodes[i];  // copied here, shared until now
      if (change.to_binding.empty()) {
        node.labels.erase(std::string(api::kPoolLabel));
      } else {
        node.labels[std::string(api::kPoolLabel)] = change.to_binding;
      }
      node.taints = change.taints;
    }
  }
  for (const auto& change : plan.pool_changes) {
    for (size_t i = 0; i < snapshot.pools.size(); ++i) {
      if (std::as_const(snapshot.pools)[i].pool.Key() != change.pool_key) continue;
      PoolObservation& observation = snapshot.pools[i];
      if (change.finalizers) observation.pool.finalizers = *change.finalizers;
      if (change.impaired_since) {
        observation.impaired_since = DecodeImpairedSince(*change.impaired_since);
      }
      // Through JSON, as the API server stores it, so tests see what a re-read would.
      if (change.status) {
        observation.pool.status =
            api::ComputePoolStatusFromJson(api::ToJson(*change.status)).value_or(*change.status);
      }
    }
  }
  snapshot.pools.EraseIf([](const PoolObservation& observation) {
    return observation.pool.deleting && observation.pool.finalizers.empty();
  });
  return snapshot;
}

}  // namespace zhisuan::controller
