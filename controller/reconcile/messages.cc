#include "controller/reconcile/messages.h"

#include <cmath>
#include <cstdio>
#include <set>
#include <utility>

#include "api/quantity.h"
#include "common/strings.h"

namespace zhisuan::controller::stages {
namespace {

// "12.4P bf16 on 16 nodes in zone kunming-a", one per zone with free candidates.
std::vector<std::string> FreeByZone(const api::ComputePoolSpec& spec,
                                    const std::vector<Candidate>& free_nodes) {
  std::map<std::string, std::pair<double, size_t>> by_zone;
  for (const auto& candidate : free_nodes) {
    auto& [capacity, count] = by_zone[candidate.zone.empty() ? "(no zone)" : candidate.zone];
    capacity += candidate.capacity;
    ++count;
  }
  std::vector<std::string> zones;
  zones.reserve(by_zone.size());
  for (const auto& [zone, entry] : by_zone) {
    zones.push_back(StrCat(FormatCapacity(spec, entry.first), " on ", Plural(entry.second, "node"),
                           " in zone ", zone));
  }
  return zones;
}

// "3 in other pools, 1 out of carbon policy", in the order nodes are checked.
std::vector<std::string> ExclusionCounts(const std::map<Exclusion, size_t>& excluded) {
  static const std::pair<Exclusion, const char*> kWords[] = {
      {Exclusion::kOtherPool, "in other pools"},
      {Exclusion::kNotReady, "not Ready or cordoned"},
      {Exclusion::kNoComputeNode, "without a ComputeNode"},
      {Exclusion::kNoMatchingAccelerators, "without healthy matching accelerators"},
      {Exclusion::kSelector, "outside spec.nodeSelector"},
      {Exclusion::kCarbon, "out of carbon policy"},
      {Exclusion::kCarbonUnknown, "with unknown carbon"},
  };
  std::vector<std::string> counts;
  for (const auto& [exclusion, words] : kWords) {
    auto it = excluded.find(exclusion);
    if (it != excluded.end()) counts.push_back(StrCat(it->second, " ", words));
  }
  return counts;
}

}  // namespace

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

std::string UnknownCarbonAdvice(const std::vector<std::string>& nodes) {
  if (nodes.empty()) return "";
  return StrCat("; ", StrJoin(nodes, ", "), nodes.size() == 1 ? " reports" : " report",
                " no carbon figure the policy sets, and unknown never meets it: ",
                nodes.size() == 1 ? "its agent needs" : "their agents need",
                " an energy profile (see the ComputeNode condition CarbonKnown)");
}

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

std::string ShortfallMessage(const api::ComputePoolSpec& spec, double need, double planned,
                             size_t planned_nodes, double eligible_total,
                             const std::vector<Candidate>& free_nodes,
                             const std::map<Exclusion, size_t>& excluded,
                             const std::vector<std::string>& out_of_service,
                             std::string_view reason) {
  std::string message = StrCat("need ", FormatCapacity(spec, need), "; ");
  if (reason == reasons::kInsufficientCapacity) {
    message += StrCat("only ", FormatCapacity(spec, eligible_total), " eligible");
  } else {
    message += StrCat(FormatCapacity(spec, planned), " bound on ", Plural(planned_nodes, "node"));
  }
  const std::vector<std::string> zones = FreeByZone(spec, free_nodes);
  if (!zones.empty()) message += StrCat(" (free: ", StrJoin(zones, ", "), ")");
  const std::vector<std::string> counts = ExclusionCounts(excluded);
  if (!counts.empty()) message += StrCat("; nodes not eligible: ", StrJoin(counts, ", "));
  if (!out_of_service.empty()) {
    message += StrCat("; out of service: ", StrJoin(out_of_service, ", "));
  }
  if (reason == reasons::kInsufficientCapacity) {
    message += "; nothing is bound until the whole request fits (spec.allocation AllOrNothing)";
  }
  return message;
}

std::string CapacityMessage(const api::ComputePoolSpec& spec, double need,
                            const PoolMembership& membership, const Placement& placement,
                            const PoolOutcome& outcome) {
  if (placement.covered) {
    return StrCat(FormatCapacity(spec, need), " requested; ", FormatCapacity(spec, outcome.planned),
                  " bound on ", Plural(outcome.fits.size(), "node"));
  }
  std::set<std::string> taken;
  for (const auto& candidate : placement.added) taken.insert(candidate.name());
  std::vector<Candidate> free_nodes;
  for (const auto& candidate : membership.candidates) {
    if (!taken.contains(candidate.name())) free_nodes.push_back(candidate);
  }
  std::vector<std::string> out_of_service;
  for (const MemberState* member : outcome.members) {
    if (member->planning_capacity <= 0) {
      out_of_service.push_back(StrCat(member->fit.node->name, " (", member->problem, ")"));
    }
  }
  const double eligible_total = membership.MemberCapacity() + Sum(membership.candidates);
  return ShortfallMessage(spec, need, outcome.planned, outcome.fits.size(), eligible_total,
                          free_nodes, membership.excluded, out_of_service,
                          placement.capacity_reason);
}

void HoldSteadyMessage(const std::vector<api::Condition>& before, api::Condition& condition) {
  const api::Condition* previous = api::FindCondition(before, condition.type);
  if (previous != nullptr && previous->status == condition.status &&
      previous->reason == condition.reason && previous->message != condition.message &&
      ShortfallGist(previous->message) == ShortfallGist(condition.message)) {
    condition.message = previous->message;
  }
}

bool ShortfallChanged(const api::Condition* before, const api::Condition& after) {
  return before == nullptr || before->reason != after.reason ||
         ShortfallGist(before->message) != ShortfallGist(after.message);
}

}  // namespace zhisuan::controller::stages
