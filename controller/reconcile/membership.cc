#include "controller/reconcile/membership.h"

#include <algorithm>

#include "common/strings.h"
#include "controller/reconcile/messages.h"

namespace zhisuan::controller::stages {
namespace {

using std::chrono::seconds;

// Checks `energy` against the pool's carbon policy. Admission wants the policy met exactly;
// eviction without grace only beyond the configured margins, so a node hovering at a threshold
// does not churn the pool.
void FitCarbon(const api::ComputePoolSpec& spec, const PlannerConfig& config,
               const api::EnergyStatus& energy, NodeFit& fit) {
  fit.carbon_ok = true;
  std::vector<std::string> details;
  if (spec.min_carbon_free_ratio) {
    const double min = *spec.min_carbon_free_ratio;
    if (!energy.carbon_free_ratio) {
      fit.carbon_ok = false;
      fit.carbon_far = true;  // unknown energy never meets a policy
      fit.carbon_unknown = true;
      details.push_back("carbon-free ratio unknown (not reported)");
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
      fit.carbon_unknown = true;
      details.push_back("carbon intensity unknown (not reported)");
    } else if (*energy.carbon_intensity > max) {
      fit.carbon_ok = false;
      fit.carbon_far =
          fit.carbon_far || *energy.carbon_intensity > max + config.carbon_intensity_margin;
      details.push_back(StrCat("carbon intensity ", FormatNumber(*energy.carbon_intensity), " > ",
                               FormatNumber(max), " gCO2e/kWh"));
    }
  }
  fit.carbon_detail = StrJoin(details, ", ");
}

// Hard faults: an operator or the tenant changed something; no grace. "" when there is none.
std::string HardFault(const NodeFit& fit) {
  const NodeInfo& node = *fit.node;
  if (node.deleting) return "node is being deleted";
  if (node.unschedulable) return "node is cordoned";
  // A missing ComputeNode is a soft fault (AssessMember): its agent recreates it within a minute.
  if (fit.compute_node == nullptr || !Published(*fit.compute_node)) return "";
  if (fit.matching == 0) return "no accelerators match spec.accelerator";
  if (!fit.selected) return "node no longer matches spec.nodeSelector";
  if (!fit.carbon_ok && fit.carbon_far) {
    return StrCat("out of carbon policy: ", fit.carbon_detail);
  }
  return "";
}

}  // namespace

Exclusion NodeFit::AdmissionExclusion() const {
  if (!Schedulable()) return Exclusion::kNotReady;
  if (!HasComputeNode()) return Exclusion::kNoComputeNode;
  if (capacity <= 0) return Exclusion::kNoMatchingAccelerators;
  if (!selected) return Exclusion::kSelector;
  if (!carbon_ok) return carbon_unknown ? Exclusion::kCarbonUnknown : Exclusion::kCarbon;
  return Exclusion::kNone;
}

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
  FitCarbon(spec, config, compute_node->status.energy, fit);
  return fit;
}

NodeFit FitEntry(const api::ComputePoolSpec& spec, const PlannerConfig& config,
                 const NodeEntry& entry) {
  NodeFit fit = Fit(spec, config, *entry.node, entry.compute_node);
  fit.compute_node_deleted = entry.compute_node_deleted && entry.compute_node != nullptr;
  // A node without an agent pod is not judged by pod readiness: its agent runs outside the
  // DaemonSet (the kwok nodes of the demo and the real-cluster test run it as a host process), so
  // its ComputeNode is trusted as without --agent-pod-selector. A dead agent keeps its pod: the
  // kubelet marks a crashed one not Ready, and a DaemonSet pod tolerates the taints of a dead
  // node, so it stays there, not Ready, rather than going away.
  if (!config.require_ready_agent || entry.agent == nullptr) return fit;
  if (!entry.agent->ready) {
    fit.agent_ready = false;
    fit.agent_not_ready_since = entry.agent->since;
    fit.agent_problem = StrCat("agent pod ", entry.agent->pod, " not Ready");
  }
  return fit;
}

namespace {

// The soft faults of a member: they often clear by themselves, so the member keeps its capacity
// for a grace period. `observed_since` is the earliest start the cluster itself records for one
// of them (an agent pod's Ready transition), when there is one.
struct SoftFaults {
  std::optional<seconds> grace;
  std::vector<std::string> what;
  std::optional<WallTime> observed_since;

  void Add(seconds period, std::string fault) {
    grace = grace ? std::min(*grace, period) : period;
    what.push_back(std::move(fault));
  }
};

SoftFaults SoftFaultsOf(const NodeFit& fit, const PlannerConfig& config) {
  SoftFaults faults;
  if (!fit.node->ready) faults.Add(config.health_grace, "node not Ready");
  if (!fit.agent_ready) {
    faults.Add(config.health_grace, fit.agent_problem);
    faults.observed_since = fit.agent_not_ready_since;
  }
  if (!fit.HasComputeNode()) {
    faults.Add(config.health_grace, "ComputeNode missing (its agent recreates it)");
  } else if (!fit.carbon_ok) {
    faults.Add(config.carbon_grace, StrCat("out of carbon policy: ", fit.carbon_detail));
  }
  return faults;
}

}  // namespace

MemberState AssessMember(const NodeFit& fit, const PoolObservation& observation,
                         const PlannerConfig& config, WallTime now) {
  MemberState state;
  state.fit = fit;
  state.problem = HardFault(fit);
  if (!state.problem.empty()) return state;

  const NodeInfo& node = *fit.node;
  const SoftFaults faults = SoftFaultsOf(fit, config);
  if (!faults.grace) {
    state.planning_capacity = fit.capacity;
    return state;
  }
  state.impaired = true;
  // The grace runs from when the controller first saw the fault, or from when the cluster says it
  // began if that is earlier (an agent that died while no controller ran).
  auto recorded = observation.impaired_since.find(node.name);
  state.since = recorded != observation.impaired_since.end() ? recorded->second : now;
  if (faults.observed_since && *faults.observed_since < *state.since) {
    state.since = faults.observed_since;
  }
  state.deadline = *state.since + *faults.grace;
  const std::string what = StrJoin(faults.what, "; ");
  if (now < *state.deadline) {
    state.held = true;
    state.planning_capacity = fit.capacity;
    state.problem = StrCat(what, " since ", FormatWallTime(*state.since), "; replaced after ",
                           FormatWallTime(*state.deadline), " if it persists");
  } else {
    state.problem = StrCat(what, " since ", FormatWallTime(*state.since));
  }
  return state;
}

double PoolMembership::MemberCapacity() const {
  double kept = 0;
  for (const auto& member : members) {
    if (member.planning_capacity > 0) kept += member.planning_capacity;
  }
  return kept;
}

PoolMembership ObserveMembers(const std::vector<NodeEntry>& nodes,
                              const PoolObservation& observation, const PlannerConfig& config,
                              WallTime now) {
  const api::ComputePoolSpec& spec = observation.pool.spec;
  const std::string binding = observation.pool.BindingValue();
  PoolMembership result;
  result.fits.reserve(nodes.size());  // never reallocated: candidates point into it
  for (const NodeEntry& entry : nodes) {
    const bool member = entry.binding == binding;
    if (!member && !entry.binding.empty()) {
      ++result.excluded[Exclusion::kOtherPool];
      continue;
    }
    const NodeFit& fit = result.fits.emplace_back(FitEntry(spec, config, entry));
    if (member) {
      result.members.push_back(AssessMember(fit, observation, config, now));
      continue;
    }
    const Exclusion exclusion = fit.AdmissionExclusion();
    if (exclusion != Exclusion::kNone) {
      ++result.excluded[exclusion];
      continue;
    }
    const auto* energy = &fit.compute_node->status.energy;
    result.candidates.push_back({&fit, fit.capacity, energy->carbon_free_ratio.value_or(0),
                                 fit.node->Zone(), fit.node->Rack()});
  }
  return result;
}

GraceClocks TrackGrace(const std::vector<const MemberState*>& members, WallTime now) {
  GraceClocks clocks;
  for (const MemberState* member : members) {
    if (!member->impaired) continue;
    clocks.impaired_since[member->fit.node->name] = *member->since;
    if (*member->deadline > now &&
        (!clocks.next_deadline || *member->deadline < *clocks.next_deadline)) {
      clocks.next_deadline = *member->deadline;
    }
  }
  return clocks;
}

}  // namespace zhisuan::controller::stages
