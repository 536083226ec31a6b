#include "controller/reconcile/conditions.h"

#include <utility>
#include <vector>

#include "common/strings.h"
#include "controller/reconcile/messages.h"

namespace zhisuan::controller::stages {
namespace {

// The kept member whose fit `fit` is; nullptr for a node the plan adds.
const MemberState* MemberOf(const PoolOutcome& outcome, const NodeFit* fit) {
  const MemberState* found = nullptr;
  for (const MemberState* member : outcome.members) {
    if (&member->fit == fit) found = member;
  }
  return found;
}

// "n1: carbon-free ratio 0.5 < 0.8" for each node out of policy; a member's own problem (which
// says since when, and until when) when it has one.
std::vector<std::string> CarbonViolations(const PoolOutcome& outcome) {
  std::vector<std::string> violations;
  for (const NodeFit* fit : outcome.fits) {
    if (fit->carbon_ok) continue;
    const MemberState* member = MemberOf(outcome, fit);
    const std::string& detail =
        member != nullptr && !member->problem.empty() ? member->problem : fit->carbon_detail;
    violations.push_back(StrCat(fit->node->name, ": ", detail));
  }
  return violations;
}

// What is wrong with one node's health, "" when nothing is.
std::string HealthProblem(const PoolOutcome& outcome, const NodeFit& fit) {
  std::vector<std::string> problems;
  if (!fit.node->ready) {
    const MemberState* member = MemberOf(outcome, &fit);
    problems.push_back(member != nullptr && member->since
                           ? StrCat("node not Ready since ", FormatWallTime(*member->since))
                           : std::string("node not Ready"));
  }
  if (fit.node->unschedulable) problems.push_back("node cordoned");
  if (fit.compute_node == nullptr) problems.push_back("no ComputeNode");
  if (!fit.unhealthy_reasons.empty()) {
    problems.push_back(StrCat(fit.unhealthy_reasons.size(), " of ", fit.matching,
                              " accelerators unhealthy (", StrJoin(fit.unhealthy_reasons, ", "),
                              ")"));
  }
  return problems.empty() ? "" : StrCat(fit.node->name, ": ", StrJoin(problems, ", "));
}

}  // namespace

api::Condition MakeCondition(std::string_view type, bool ok, std::string_view reason,
                             std::string message, int64_t generation, WallTime now,
                             std::string_view status_override) {
  api::Condition condition;
  condition.type = type;
  condition.status = status_override.empty() ? (ok ? "True" : "False") : status_override;
  condition.reason = reason;
  condition.message = std::move(message);
  condition.observed_generation = generation;
  condition.last_transition_time = FormatWallTime(now);
  return condition;
}

api::Condition CarbonCondition(const api::ComputePoolSpec& spec, const PoolOutcome& outcome,
                               int64_t generation, WallTime now) {
  if (!spec.min_carbon_free_ratio && !spec.max_intensity) {
    return MakeCondition(api::kConditionCarbonCompliant, true, reasons::kNoCarbonPolicy,
                         "the pool sets no carbon policy", generation, now);
  }
  const std::vector<std::string> violations = CarbonViolations(outcome);
  if (violations.empty()) {
    return MakeCondition(api::kConditionCarbonCompliant, true, reasons::kCompliant,
                         outcome.fits.empty() ? "no nodes bound"
                                              : StrCat("all ", Plural(outcome.fits.size(), "node"),
                                                       " meet ", PolicyText(spec)),
                         generation, now);
  }
  std::vector<std::string> unknown;  // nodes whose carbon the policy needs but they do not report
  for (const NodeFit* fit : outcome.fits) {
    if (fit->carbon_unknown) unknown.push_back(fit->node->name);
  }
  return MakeCondition(api::kConditionCarbonCompliant, false, reasons::kOutOfCarbonPolicy,
                       StrCat(StrJoin(violations, "; "), ". The policy is ", PolicyText(spec),
                              "; members are replaced by compliant spares when any are available",
                              UnknownCarbonAdvice(unknown)),
                       generation, now);
}

api::Condition HealthCondition(const PoolOutcome& outcome, int accelerator_count,
                               int64_t generation, WallTime now) {
  if (outcome.fits.empty()) {
    return MakeCondition(api::kConditionAcceleratorsHealthy, false, reasons::kNoMembers,
                         "no nodes bound", generation, now, "Unknown");
  }
  std::vector<std::string> problems;
  for (const NodeFit* fit : outcome.fits) {
    std::string problem = HealthProblem(outcome, *fit);
    if (!problem.empty()) problems.push_back(std::move(problem));
  }
  if (!problems.empty()) {
    return MakeCondition(api::kConditionAcceleratorsHealthy, false, reasons::kUnhealthyMembers,
                         StrJoin(problems, "; "), generation, now);
  }
  return MakeCondition(api::kConditionAcceleratorsHealthy, true, reasons::kAllHealthy,
                       StrCat("all ", accelerator_count, " accelerators on ",
                              Plural(outcome.fits.size(), "node"), " are healthy"),
                       generation, now);
}

api::Condition ReadyCondition(const api::ComputePool& pool, const PoolOutcome& outcome,
                              const api::Condition& capacity, const api::Condition& health,
                              const api::Condition& carbon, WallTime now) {
  for (const api::Condition* condition : {&capacity, &health, &carbon}) {
    if (condition->status != "True") {
      return MakeCondition(api::kConditionReady, false, condition->reason, condition->message,
                           pool.generation, now);
    }
  }
  return MakeCondition(
      api::kConditionReady, true, reasons::kReady,
      StrCat(FormatCapacity(pool.spec, outcome.planned), " ready on ",
             Plural(outcome.fits.size(), "node"), "; schedule pods with nodeSelector ",
             api::kPoolLabel, "=", pool.BindingValue(), " and the matching toleration"),
      pool.generation, now);
}

PoolConditions DeriveConditions(const api::ComputePool& pool, const Placement& placement,
                                const PoolOutcome& outcome, std::string capacity_message,
                                int accelerator_count, WallTime now) {
  PoolConditions conditions;
  const std::string_view capacity_reason =
      placement.covered ? reasons::kSatisfied : std::string_view(placement.capacity_reason);
  conditions.capacity =
      MakeCondition(api::kConditionCapacitySatisfied, placement.covered, capacity_reason,
                    std::move(capacity_message), pool.generation, now);
  conditions.carbon = CarbonCondition(pool.spec, outcome, pool.generation, now);
  conditions.health = HealthCondition(outcome, accelerator_count, pool.generation, now);
  conditions.ready =
      ReadyCondition(pool, outcome, conditions.capacity, conditions.health, conditions.carbon, now);
  return conditions;
}

api::Condition InvalidSpecCondition(const api::ComputePool& pool, std::string_view why,
                                    size_t members, WallTime now) {
  return MakeCondition(
      api::kConditionReady, false, reasons::kInvalidSpec,
      StrCat("the spec cannot be used: ", why, ". Fix the spec; until then no node is bound",
             members == 0 ? std::string()
                          : StrCat(" and the ", Plural(members, "node"), " it holds stay bound")),
      pool.generation, now);
}

}  // namespace zhisuan::controller::stages
