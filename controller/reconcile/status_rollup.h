#pragma once
// Status roll-up: the figures a pool's status reports for the nodes it holds once its plan is
// applied (names, healthy accelerators, FLOPS, energy-weighted carbon) and how to schedule onto
// them. Figures are rounded to what the API stores, so a status read back equals the one
// computed and an unchanged pool is not rewritten.

#include <vector>

#include "controller/reconcile/membership.h"

namespace zhisuan::controller::stages {

// Six decimals: enough for a ratio or gCO2e/kWh, and stable across summation orders so the
// status does not change when nothing did.
double Round(double value);

// `pool`'s status with everything but the conditions recomputed from `fits` (the nodes it holds).
api::ComputePoolStatus RollUpStatus(const api::ComputePool& pool,
                                    const std::vector<const NodeFit*>& fits);

}  // namespace zhisuan::controller::stages
