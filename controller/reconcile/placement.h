#pragma once
// Placement: which nodes a pool keeps, releases and takes. New members are the fewest candidates
// covering what the members lack, preferring one rack, then one zone, so a pool's traffic stays
// local; a pool that has more than it needs lets its smallest members go. Also the pool taint a
// node's binding implies.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/reconcile/membership.h"

namespace zhisuan::controller::stages {

// FLOPS figures are sums of doubles; a request met to within this fraction counts as met, so
// 20P asked for and 2.5P x 8 bound is satisfied whatever order the sum ran in.
inline constexpr double kCoverTolerance = 1e-9;

inline bool Covers(double have, double need) { return have >= need * (1 - kCoverTolerance); }

double Sum(const std::vector<Candidate>& candidates);

// Largest first (fewest nodes), greener on ties, then by name for determinism.
bool PreferCandidate(const Candidate& a, const Candidate& b);

// Drops chosen nodes, smallest first, that the rest covers without.
void TrimExcess(std::vector<Candidate>& chosen, double need);

// The fewest candidates (already in preference order) covering `need`: the largest ones, with the
// last pick the smallest node that still covers what is left. nullopt when they cannot.
std::optional<std::vector<Candidate>> CoverWithin(const std::vector<Candidate>& candidates,
                                                  double need);

// Picks new members covering `need`, preferring one rack, then one zone (the members' own when
// the pool already has members there), then spilling across zones biggest zone first.
std::optional<std::vector<Candidate>> ChooseNodes(std::vector<Candidate> candidates, double need,
                                                  const std::vector<const MemberState*>& members);

// What placement decided for one pool.
struct Placement {
  bool covered = false;
  std::string capacity_reason;                 // when not covered
  std::map<std::string, std::string> release;  // members to unbind, by name, with why
  std::vector<Candidate> added;                // nodes to bind
};

// Decides a pool's members: keep enough and release the rest, replace what counts for nothing, or,
// when the candidates cannot cover the request, take what helps (Partial) or nothing
// (AllOrNothing). `ever_satisfied`: the pool held its capacity once, so an all-or-nothing shortfall
// keeps what it has rather than giving it up.
Placement Place(const api::ComputePoolSpec& spec, double need, const PoolMembership& membership,
                bool ever_satisfied);

// The "replaced (...)" members of `placement`, by name: the ones a repair swapped out.
std::vector<std::string> ReplacedMembers(const Placement& placement);

// What a pool holds once its placement is applied: the input to status, conditions and messages.
struct PoolOutcome {
  std::vector<const MemberState*> members;  // kept members
  std::vector<const NodeFit*> fits;         // kept members' then added nodes'
  double planned = 0;                       // the capacity the planner counts on
};
PoolOutcome OutcomeOf(const PoolMembership& membership, const Placement& placement);

// Whether `current` already is what DesiredTaints would make of it: no allocation, for the
// every-node check at the end of each plan.
bool TaintsAsWanted(const std::vector<Taint>& current, const std::string& binding,
                    std::string_view effect);

// `current` with exactly one pool taint for `binding` with `effect` (NoExecute once the node is
// the pool's alone, NoSchedule while it drains: drain.h), none when unbound; others are kept.
std::vector<Taint> DesiredTaints(const std::vector<Taint>& current, const std::string& binding,
                                 std::string_view effect);

}  // namespace zhisuan::controller::stages
