#pragma once
// Messages: the tenant-facing text on a pool's conditions and events, and the rule that holds a
// shortfall message steady while only its volatile parts move. Each status write and event is an
// API write, so text that changes with every bind elsewhere would cost one write per waiting pool
// per node event (bench/fleet, 500 pools on 500 nodes, starved new pools that way).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "controller/reconcile/membership.h"
#include "controller/reconcile/placement.h"

namespace zhisuan::controller::stages {

// "8 accelerators" or "20P bf16", as the pool's request is counted.
std::string FormatCapacity(const api::ComputePoolSpec& spec, double capacity);

// At most two decimals, trailing zeros dropped: how a carbon figure is quoted.
std::string FormatNumber(double value);

// "1 node", "3 nodes".
std::string Plural(size_t count, std::string_view word);

// "carbon-free ratio >= 0.8 and intensity <= 100 gCO2e/kWh".
std::string PolicyText(const api::ComputePoolSpec& spec);

// "; n3 and n5 report no carbon figure the policy sets, and unknown never meets it: ..." for the
// nodes named, "" for none. Unknown carbon (an agent without an energy profile) needs the
// operator, not a spare, so the CarbonCompliant message says what fixes it.
std::string UnknownCarbonAdvice(const std::vector<std::string>& nodes);

// A capacity message without its volatile parts: the " (free: ...)" zone list and the
// "; nodes not eligible: ..." breakdown, which change whenever another pool binds a node.
std::string ShortfallGist(std::string_view message);

// "need 20P bf16; only 12.4P bf16 eligible (free: 12.4P bf16 on 16 nodes in zone kunming-a);
// nodes not eligible: 3 out of carbon policy; ...": what is missing, and why, so the tenant knows
// whether to wait, relax the spec, or call the operator.
std::string ShortfallMessage(const api::ComputePoolSpec& spec, double need, double planned,
                             size_t planned_nodes, double eligible_total,
                             const std::vector<Candidate>& free_nodes,
                             const std::map<Exclusion, size_t>& excluded,
                             const std::vector<std::string>& out_of_service,
                             std::string_view reason);

// The CapacitySatisfied message for a pool after its placement: what is bound when covered, else
// the shortfall (ShortfallMessage) with the candidates placement left free.
std::string CapacityMessage(const api::ComputePoolSpec& spec, double need,
                            const PoolMembership& membership, const Placement& placement,
                            const PoolOutcome& outcome);

// A shortfall message whose only change is the breakdown of free and ineligible nodes keeps
// its previous text: that breakdown moves whenever any other pool binds or frees a node. It is
// refreshed with the next change to the shortfall itself. `before` is the pool's current
// conditions; `condition` the one about to be written.
void HoldSteadyMessage(const std::vector<api::Condition>& before, api::Condition& condition);

// Whether a shortfall is news: no CapacitySatisfied condition `before`, or a different reason or
// gist. The Unsatisfiable event follows the shortfall itself, not its breakdown (bench/fleet saw
// 12 events per pool in a 500-pool burst before).
bool ShortfallChanged(const api::Condition* before, const api::Condition& after);

}  // namespace zhisuan::controller::stages
