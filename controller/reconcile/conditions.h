#pragma once
// Conditions: the four conditions a pool reports once its plan is applied. CapacitySatisfied says
// whether the request is met, CarbonCompliant whether every node meets the carbon policy,
// AcceleratorsHealthy whether every node and accelerator is in service, and Ready summarises them:
// true when all three are, else the first failing one's reason and message, so a tenant reading
// only Ready learns what is wrong.

#include <string>
#include <string_view>

#include "controller/reconcile/placement.h"

namespace zhisuan::controller::stages {

// A condition observed at `generation`. Status is "True"/"False" from `ok` unless
// `status_override` says otherwise ("Unknown").
api::Condition MakeCondition(std::string_view type, bool ok, std::string_view reason,
                             std::string message, int64_t generation, WallTime now,
                             std::string_view status_override = "");

api::Condition CarbonCondition(const api::ComputePoolSpec& spec, const PoolOutcome& outcome,
                               int64_t generation, WallTime now);

// `accelerator_count`: the healthy matching accelerators the status reports.
api::Condition HealthCondition(const PoolOutcome& outcome, int accelerator_count,
                               int64_t generation, WallTime now);

// Ready: true when capacity, health and carbon all are (checked in that order).
api::Condition ReadyCondition(const api::ComputePool& pool, const PoolOutcome& outcome,
                              const api::Condition& capacity, const api::Condition& health,
                              const api::Condition& carbon, WallTime now);

struct PoolConditions {
  api::Condition ready, capacity, carbon, health;
};

// All four, for `pool` after `placement`; `capacity_message` from CapacityMessage.
PoolConditions DeriveConditions(const api::ComputePool& pool, const Placement& placement,
                                const PoolOutcome& outcome, std::string capacity_message,
                                int accelerator_count, WallTime now);

// Ready=False, InvalidSpec, for a pool whose spec does not decode (`why`) and that holds
// `members` nodes. The other conditions are left as the last usable spec set them.
api::Condition InvalidSpecCondition(const api::ComputePool& pool, std::string_view why,
                                    size_t members, WallTime now);

}  // namespace zhisuan::controller::stages
