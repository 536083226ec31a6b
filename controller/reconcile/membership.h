#pragma once
// Membership: how every node measures up against one pool. A node bound to the pool is a member,
// whose standing (and grace period, if it is impaired) decides the capacity the planner credits it
// with; a free node that meets the spec is a candidate for placement; any other node is counted
// by why it is excluded, for the tenant-facing shortfall message.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "controller/reconcile/pool_planner.h"

namespace zhisuan::controller::stages {

// Why a node cannot join a pool, in the order they are checked (the first one found is reported).
enum class Exclusion {
  kNone,
  kOtherPool,
  kNotReady,
  kNoComputeNode,
  kNoMatchingAccelerators,
  kSelector,
  kCarbon,
  kCarbonUnknown,  // the policy sets a figure the node does not report (no energy profile)
};

// How one node measures up against one pool's spec.
struct NodeFit {
  const NodeInfo* node = nullptr;
  const api::ComputeNode* compute_node = nullptr;
  int matching = 0;             // accelerators of the wanted vendor/product
  int healthy_matching = 0;     // ...that are healthy
  double capacity = 0;          // of the healthy matching ones, in request units
  bool selected = false;        // meets spec.nodeSelector
  bool carbon_ok = false;       // meets the carbon policy exactly (admission)
  bool carbon_far = false;      // beyond the policy by more than the margin (immediate eviction)
  bool carbon_unknown = false;  // the policy sets a figure the node does not report: also far
  std::string carbon_detail;    // what is out of policy, for messages
  std::vector<std::string> unhealthy_reasons;
  // compute_node is the last state seen of a ComputeNode deleted since (its agent recreates it).
  bool compute_node_deleted = false;
  // The node's agent pod is Ready, or agent readiness is not observed (PlannerConfig).
  bool agent_ready = true;
  std::optional<WallTime> agent_not_ready_since;  // when known (agent not Ready only)
  std::string agent_problem;                      // "" when agent_ready

  bool Schedulable() const {
    return node->ready && agent_ready && !node->unschedulable && !node->deleting;
  }
  // A live ComputeNode whose status its agent has published.
  bool HasComputeNode() const {
    return compute_node != nullptr && !compute_node_deleted && Published(*compute_node);
  }
  Exclusion AdmissionExclusion() const;
};

bool AcceleratorMatches(const api::ComputePoolSpec& spec, const api::AcceleratorStatus& device);

NodeFit Fit(const api::ComputePoolSpec& spec, const PlannerConfig& config, const NodeInfo& node,
            const api::ComputeNode* compute_node);

// A member's standing, which decides the capacity the planner credits it with.
struct MemberState {
  NodeFit fit;
  double planning_capacity = 0;   // what the planner counts on
  bool impaired = false;          // NotReady or out of carbon policy, within the margin
  std::optional<WallTime> since;  // when the impairment began (impaired only)
  std::optional<WallTime> deadline;
  // Impaired and within its grace: kept whatever it counts for now (a member whose ComputeNode
  // vanished counts for nothing until its agent recreates it, and must not be released for that).
  bool held = false;
  std::string problem;  // why it counts for nothing, or what is wrong; "" when fine
};

MemberState AssessMember(const NodeFit& fit, const PoolObservation& observation,
                         const PlannerConfig& config, WallTime now);

// A free node that may join the pool.
struct Candidate {
  const NodeFit* fit;
  double capacity;
  double carbon_free;  // for tie-breaks: greener first
  std::string zone, rack;
  const std::string& name() const { return fit->node->name; }
};

// One node as the plan so far leaves it: pools planned earlier may have rebound it.
struct NodeEntry {
  const NodeInfo* node;
  const api::ComputeNode* compute_node;  // nullptr when it has none (or it was ignored)
  std::string binding;                   // the pool label as the plan leaves it
  bool compute_node_deleted = false;     // compute_node is the last seen of a deleted one
  const AgentInfo* agent = nullptr;      // the node's agent pod, when one is observed
};

// Fit, plus what the entry knows beyond the node and its ComputeNode: a deleted ComputeNode's
// last state, and the agent's readiness when config.require_ready_agent.
NodeFit FitEntry(const api::ComputePoolSpec& spec, const PlannerConfig& config,
                 const NodeEntry& entry);

// Every node, as one pool sees it. Candidates point into `fits`, so it is move-only (a move keeps
// the vector's buffer, a copy would not).
struct PoolMembership {
  PoolMembership() = default;
  PoolMembership(PoolMembership&&) = default;
  PoolMembership& operator=(PoolMembership&&) = default;
  PoolMembership(const PoolMembership&) = delete;
  PoolMembership& operator=(const PoolMembership&) = delete;

  std::vector<NodeFit> fits;  // members' and candidates' fits
  std::vector<MemberState> members;
  std::vector<Candidate> candidates;
  std::map<Exclusion, size_t> excluded;  // nodes neither member nor candidate, by why

  double MemberCapacity() const;  // what the members are credited with
};

// Members (by label, the source of truth) and how every free node fits. A node in another pool is
// only counted: how it would fit cannot matter.
PoolMembership ObserveMembers(const std::vector<NodeEntry>& nodes,
                              const PoolObservation& observation, const PlannerConfig& config,
                              WallTime now);

// The grace clocks the kept members carry: when each impaired one first fell short (written back
// to kImpairedSinceAnnotation) and the earliest deadline still ahead (when to plan again).
struct GraceClocks {
  std::map<std::string, WallTime> impaired_since;
  std::optional<WallTime> next_deadline;
};
GraceClocks TrackGrace(const std::vector<const MemberState*>& members, WallTime now);

}  // namespace zhisuan::controller::stages
