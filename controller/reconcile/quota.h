#pragma once
// Quotas: how much a namespace's pools may hold (ComputeQuota, issue 17). A node counts against
// its pool's namespace whole, as accounting counts it: every accelerator on it, healthy or not,
// and their peak FLOPS at each precision, for as long as it carries the pool's label (draining
// included). Every quota of the namespace applies, so the tightest limit wins. Placement is
// decided first; this stage then takes back the nodes that would break a limit. A quota stops
// growth, it never releases what a pool already holds.

#include <optional>
#include <string>
#include <vector>

#include "controller/reconcile/placement.h"

namespace zhisuan::controller::stages {

// What nodes count against a quota.
struct QuotaWorth {
  int64_t accelerators = 0;
  api::FlopsByPrecision flops{};

  QuotaWorth& operator+=(const QuotaWorth& other);
  QuotaWorth& operator-=(const QuotaWorth& other);
  friend bool operator==(const QuotaWorth&, const QuotaWorth&) = default;
};

// A node's worth: all its accelerators and their peak FLOPS; nothing without a ComputeNode.
QuotaWorth WorthOf(const api::ComputeNode* compute_node);

// The first limit of `quotas` that `used` plus `add` would break, in words: "ComputeQuota
// team-a/gpus caps the namespace at 8 accelerators; its pools hold 8 and node n3 would add 8".
// nullopt when every limit holds. Quotas with an invalid spec cap nothing.
std::optional<std::string> QuotaBreach(const std::vector<const QuotaObservation*>& quotas,
                                       const QuotaWorth& used, const QuotaWorth& add,
                                       const std::string& node);

// Takes back from `placement` the nodes that would carry the namespace beyond a quota. `used` is
// what the namespace's pools hold as the plan stands, this pool's members included. A Partial pool
// keeps what fits (largest nodes first, then other candidates until the request is covered); an
// all-or-nothing pool adds nothing and keeps what it holds (a quota takes nothing back).
// Returns why it held the pool back (QuotaBreach's text), "" when nothing was held back; the
// placement is then no longer covered, with reason QuotaExceeded.
std::string LimitToQuotas(const api::ComputePoolSpec& spec, double need,
                          const PoolMembership& membership,
                          const std::vector<const QuotaObservation*>& quotas, QuotaWorth used,
                          Placement& placement);

// The status a quota should carry when the namespace's pools hold `used`.
api::ComputeQuotaStatus QuotaStatusOf(const QuotaObservation& observation, const QuotaWorth& used);

}  // namespace zhisuan::controller::stages
