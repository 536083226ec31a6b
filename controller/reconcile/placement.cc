#include "controller/reconcile/placement.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "common/strings.h"

namespace zhisuan::controller::stages {
namespace {

// The topology domain all of a pool's members share, if they share one.
struct MemberDomain {
  bool has_members = false;
  bool one_zone = true, one_rack = true;
  std::optional<std::string> zone, rack;  // rack as "zone/rack"
};

MemberDomain DomainOf(const std::vector<const MemberState*>& members) {
  MemberDomain domain;
  domain.has_members = !members.empty();
  for (const MemberState* member : members) {
    const std::string zone = member->fit.node->Zone();
    const std::string rack = zone + "/" + member->fit.node->Rack();
    if (zone.empty() || (domain.zone && *domain.zone != zone)) domain.one_zone = false;
    if (member->fit.node->Rack().empty() || (domain.rack && *domain.rack != rack)) {
      domain.one_rack = false;
    }
    domain.zone = zone;
    domain.rack = rack;
  }
  return domain;
}

// The best cover within a single rack (tier 0) or zone (tier 1), confined to the members' own
// when the pool has members: the domain needing the fewest nodes, then the least excess, then the
// first name wins.
std::optional<std::vector<Candidate>> CoverOneDomain(const std::vector<Candidate>& candidates,
                                                     double need, int tier,
                                                     const MemberDomain& members) {
  if (members.has_members && !(tier == 0 ? members.one_rack : members.one_zone)) {
    return std::nullopt;
  }
  std::map<std::string, std::vector<Candidate>> domains;
  for (const auto& candidate : candidates) {
    if (candidate.zone.empty() || (tier == 0 && candidate.rack.empty())) continue;
    std::string domain = tier == 0 ? candidate.zone + "/" + candidate.rack : candidate.zone;
    if (members.has_members && domain != (tier == 0 ? *members.rack : *members.zone)) continue;
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
  return best;
}

// No single domain: fill the zone with the most capacity first, so the pool spans few zones.
std::optional<std::vector<Candidate>> CoverAcrossZones(std::vector<Candidate> candidates,
                                                       double need) {
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

// Enough already: let go of members that count for nothing, then shrink smallest first.
void KeepEnough(const std::vector<MemberState>& members, double need, Placement& placement) {
  std::vector<const MemberState*> by_value;
  double total = 0;
  for (const auto& member : members) {
    if (member.planning_capacity > 0) {
      by_value.push_back(&member);
      total += member.planning_capacity;
      continue;
    }
    if (member.held) continue;  // within its grace: it may count again
    placement.release[member.fit.node->name] =
        StrCat("not needed (", member.problem.empty() ? "no capacity" : member.problem, ")");
  }
  std::sort(by_value.begin(), by_value.end(), [](const MemberState* a, const MemberState* b) {
    return std::tie(a->planning_capacity, b->fit.node->name) <
           std::tie(b->planning_capacity, a->fit.node->name);
  });
  for (const MemberState* member : by_value) {
    if (!Covers(total - member->planning_capacity, need)) continue;
    total -= member->planning_capacity;
    placement.release[member->fit.node->name] = "not needed after the pool shrank";
  }
}

}  // namespace

double Sum(const std::vector<Candidate>& candidates) {
  double total = 0;
  for (const auto& candidate : candidates) total += candidate.capacity;
  return total;
}

bool PreferCandidate(const Candidate& a, const Candidate& b) {
  return std::tie(b.capacity, b.carbon_free, a.name()) <
         std::tie(a.capacity, a.carbon_free, b.name());
}

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

std::optional<std::vector<Candidate>> ChooseNodes(std::vector<Candidate> candidates, double need,
                                                  const std::vector<const MemberState*>& members) {
  std::sort(candidates.begin(), candidates.end(), PreferCandidate);
  const MemberDomain domain = DomainOf(members);
  for (int tier = 0; tier < 2; ++tier) {
    if (auto chosen = CoverOneDomain(candidates, need, tier, domain)) return chosen;
  }
  return CoverAcrossZones(std::move(candidates), need);
}

Placement Place(const api::ComputePoolSpec& spec, double need, const PoolMembership& membership,
                bool ever_satisfied) {
  Placement placement;
  const std::vector<MemberState>& members = membership.members;
  std::vector<const MemberState*> contributing;
  for (const auto& member : members) {
    if (member.planning_capacity > 0) contributing.push_back(&member);
  }
  const double kept = membership.MemberCapacity();
  if (Covers(kept, need)) {
    placement.covered = true;
    KeepEnough(members, need, placement);
  } else if (auto chosen = ChooseNodes(membership.candidates, need - kept, contributing)) {
    placement.covered = true;
    placement.added = std::move(*chosen);
    for (const auto& member : members) {
      if (member.planning_capacity <= 0 && !member.held) {
        placement.release[member.fit.node->name] = StrCat("replaced (", member.problem, ")");
      }
    }
  } else if (!spec.all_or_nothing) {
    placement.added = membership.candidates;  // Partial: everything eligible helps
    placement.capacity_reason = reasons::kPartiallySatisfied;
  } else if (!ever_satisfied) {
    // A pool that never held its capacity holds no nodes: the members are left over from an
    // interrupted bind (or the spec changed before it completed), and other pools may need them.
    for (const auto& member : members) {
      placement.release[member.fit.node->name] = "the all-or-nothing pool cannot be satisfied";
    }
    placement.capacity_reason = reasons::kInsufficientCapacity;
  } else {
    placement.capacity_reason = reasons::kCapacityDegraded;
  }
  return placement;
}

std::vector<std::string> ReplacedMembers(const Placement& placement) {
  std::vector<std::string> replaced;
  for (const auto& [name, why] : placement.release) {
    if (StartsWith(why, "replaced")) replaced.push_back(name);
  }
  return replaced;
}

PoolOutcome OutcomeOf(const PoolMembership& membership, const Placement& placement) {
  PoolOutcome outcome;
  for (const auto& member : membership.members) {
    if (placement.release.contains(member.fit.node->name)) continue;
    outcome.members.push_back(&member);
    outcome.fits.push_back(&member.fit);
    outcome.planned += member.planning_capacity;
  }
  for (const auto& candidate : placement.added) {
    outcome.fits.push_back(candidate.fit);
    outcome.planned += candidate.capacity;
  }
  return outcome;
}

bool TaintsAsWanted(const std::vector<Taint>& current, const std::string& binding,
                    std::string_view effect) {
  size_t ours = 0;
  bool exact = false;
  for (const auto& taint : current) {
    if (taint.key != api::kPoolTaintKey) continue;
    ++ours;
    exact = taint.value == binding && taint.effect == effect;
  }
  return binding.empty() ? ours == 0 : ours == 1 && exact;
}

std::vector<Taint> DesiredTaints(const std::vector<Taint>& current, const std::string& binding,
                                 std::string_view effect) {
  const Taint ours{std::string(api::kPoolTaintKey), binding, std::string(effect)};
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

}  // namespace zhisuan::controller::stages
