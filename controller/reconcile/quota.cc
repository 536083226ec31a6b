#include "controller/reconcile/quota.h"

#include <algorithm>
#include <set>
#include <utility>

#include "api/quantity.h"
#include "common/strings.h"
#include "controller/reconcile/messages.h"

namespace zhisuan::controller::stages {
namespace {

// A figure as the status stores it (a quantity string of 4 significant digits), so a status
// computed from the same usage compares equal to the one read back and is not rewritten.
double AsStored(double flops) { return api::ParseQuantity(api::FormatQuantity(flops)).value_or(0); }

std::string FlopsText(double flops, api::Precision precision) {
  return StrCat(api::FormatQuantity(flops), " ", api::PrecisionName(precision));
}

// The worth of the members `placement` releases.
QuotaWorth Released(const PoolMembership& membership, const Placement& placement) {
  QuotaWorth released;
  for (const auto& member : membership.members) {
    if (placement.release.contains(member.fit.node->name)) {
      released += WorthOf(member.fit.compute_node);
    }
  }
  return released;
}

}  // namespace

QuotaWorth& QuotaWorth::operator+=(const QuotaWorth& other) {
  accelerators += other.accelerators;
  for (size_t i = 0; i < flops.size(); ++i) flops[i] += other.flops[i];
  return *this;
}

QuotaWorth& QuotaWorth::operator-=(const QuotaWorth& other) {
  accelerators -= other.accelerators;
  for (size_t i = 0; i < flops.size(); ++i) flops[i] -= other.flops[i];
  return *this;
}

QuotaWorth WorthOf(const api::ComputeNode* compute_node) {
  QuotaWorth worth;
  if (compute_node == nullptr) return worth;
  for (const auto& device : compute_node->status.accelerators) {
    ++worth.accelerators;
    for (size_t i = 0; i < worth.flops.size(); ++i) worth.flops[i] += device.peak_flops[i];
  }
  return worth;
}

std::optional<std::string> QuotaBreach(const std::vector<const QuotaObservation*>& quotas,
                                       const QuotaWorth& used, const QuotaWorth& add,
                                       const std::string& node) {
  for (const QuotaObservation* observation : quotas) {
    if (!observation->invalid_spec.empty()) continue;
    const api::ComputeQuota& quota = observation->quota;
    const std::string name = StrCat("ComputeQuota ", quota.Key());
    if (quota.hard.accelerators && add.accelerators > 0 &&
        used.accelerators + add.accelerators > *quota.hard.accelerators) {
      return StrCat(name, " caps the namespace at ",
                    Plural(static_cast<size_t>(*quota.hard.accelerators), "accelerator"),
                    "; its pools hold ", used.accelerators, " and node ", node, " would add ",
                    add.accelerators);
    }
    for (const auto& [precision, limit] : quota.hard.flops) {
      const double more = api::At(add.flops, precision);
      const double held = api::At(used.flops, precision);
      if (more > 0 && !Covers(limit, held + more)) {
        return StrCat(name, " caps the namespace at ", FlopsText(limit, precision),
                      "; its pools hold ", FlopsText(held, precision), " and node ", node,
                      " would add ", FlopsText(more, precision));
      }
    }
  }
  return std::nullopt;
}

std::string LimitToQuotas(const api::ComputePoolSpec& spec, double need,
                          const PoolMembership& membership,
                          const std::vector<const QuotaObservation*>& quotas, QuotaWorth used,
                          Placement& placement) {
  if (quotas.empty() || placement.added.empty()) return "";
  used -= Released(membership, placement);
  double total = 0;
  for (const auto& member : membership.members) {
    if (!placement.release.contains(member.fit.node->name)) total += member.planning_capacity;
  }
  // The nodes placement chose, then (Partial) the other candidates, largest first.
  std::vector<Candidate> order = placement.added;
  std::set<std::string> chosen;
  for (const auto& candidate : order) chosen.insert(candidate.name());
  if (!spec.all_or_nothing) {
    std::vector<Candidate> others;
    for (const auto& candidate : membership.candidates) {
      if (!chosen.contains(candidate.name())) others.push_back(candidate);
    }
    std::sort(others.begin(), others.end(), PreferCandidate);
    order.insert(order.end(), others.begin(), others.end());
  }
  std::vector<Candidate> kept;
  std::string why;
  for (const auto& candidate : order) {
    const bool extra = !chosen.contains(candidate.name());
    if (extra && (why.empty() || Covers(total, need))) break;  // only to replace held-back nodes
    const QuotaWorth worth = WorthOf(candidate.fit->compute_node);
    if (auto breach = QuotaBreach(quotas, used, worth, candidate.name())) {
      if (why.empty()) why = std::move(*breach);
      continue;
    }
    used += worth;
    total += candidate.capacity;
    kept.push_back(candidate);
  }
  if (why.empty()) return "";
  if (!spec.all_or_nothing) {
    placement.added = std::move(kept);
    if (Covers(total, need)) return "";  // other candidates made up for what was held back
  } else {
    placement.added.clear();
    // Nothing replaces them, so members out of service are kept (they may recover). A quota
    // never takes nodes back, so what the pool holds stays, whether or not it was satisfied.
    std::erase_if(placement.release,
                  [](const auto& entry) { return StartsWith(entry.second, "replaced"); });
  }
  placement.covered = false;
  placement.capacity_reason = reasons::kQuotaExceeded;
  return why;
}

api::ComputeQuotaStatus QuotaStatusOf(const QuotaObservation& observation, const QuotaWorth& used) {
  api::ComputeQuotaStatus status;
  const api::ComputeQuota& quota = observation.quota;
  status.observed_generation = quota.generation;
  status.hard.accelerators = quota.hard.accelerators;
  if (quota.hard.accelerators) status.used.accelerators = used.accelerators;
  for (const auto& [precision, limit] : quota.hard.flops) {
    status.hard.flops[precision] = AsStored(limit);
    status.used.flops[precision] = AsStored(api::At(used.flops, precision));
  }
  return status;
}

}  // namespace zhisuan::controller::stages
