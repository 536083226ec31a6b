#include "controller/reconcile/status_rollup.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "api/quantity.h"

namespace zhisuan::controller::stages {
namespace {

// Adds the FLOPS of `fit`'s healthy matching accelerators at the pool's precision to `total`. A
// FLOPS pool already counted them as its capacity; an accelerator-count pool counted devices, so
// they are summed here (one device at a time, in the order the sum always ran).
void AddFlops(const api::ComputePoolSpec& spec, const NodeFit& fit, double& total) {
  if (!spec.accelerators) {
    total += fit.capacity;
    return;
  }
  if (fit.compute_node == nullptr) return;
  for (const auto& device : fit.compute_node->status.accelerators) {
    if (device.healthy && AcceleratorMatches(spec, device)) {
      total += api::At(device.peak_flops, spec.precision);
    }
  }
}

// One carbon figure over the members that report it, weighted by the energy each used: its
// accelerators' average power over the agent's window (an hour by default), so a member that drew
// 10 kW counts ten times one that drew 1 kW, whatever their count or power limits. A member without
// the figure (no energy profile: unknown) is left out rather than counted as 0, which would make
// the pool look cleaner on intensity and dirtier on carbon-free ratio than anything known about
// it. A member with the figure but no energy figure yet is left out too, and counted apart
// (status.carbonUncountedNodes): weighting it by anything else (count, power limit) would mix two
// kinds of average in one figure.
class CarbonFigure {
 public:
  void Add(const std::optional<double>& figure, const std::optional<double>& average_watts) {
    if (!figure || !average_watts) return;
    weighted_ += *figure * *average_watts;
    watts_ += *average_watts;
  }

  // Σ(figure × power) / Σ power; absent when no counted member used any energy.
  std::optional<double> Value() const {
    if (!(watts_ > 0)) return std::nullopt;
    return Round(weighted_ / watts_);
  }

 private:
  double weighted_ = 0, watts_ = 0;
};

}  // namespace

double Round(double value) { return std::round(value * 1e6) / 1e6; }

api::ComputePoolStatus RollUpStatus(const api::ComputePool& pool,
                                    const std::vector<const NodeFit*>& fits) {
  const api::ComputePoolSpec& spec = pool.spec;
  const std::string binding = pool.BindingValue();
  api::ComputePoolStatus status = pool.status;
  status.observed_generation = pool.generation;
  status.nodes.clear();
  status.accelerator_count = 0;
  status.flops = 0;
  status.carbon_uncounted_nodes = 0;
  CarbonFigure ratio, intensity;
  for (const NodeFit* fit : fits) {
    status.nodes.push_back(fit->node->name);
    status.accelerator_count += fit->healthy_matching;
    AddFlops(spec, *fit, status.flops);
    if (fit->compute_node != nullptr) {
      const api::ComputeNodeStatus& node_status = fit->compute_node->status;
      const std::optional<double>& watts = node_status.energy.average_power_watts;
      ratio.Add(node_status.energy.carbon_free_ratio, watts);
      intensity.Add(node_status.energy.carbon_intensity, watts);
      const bool has_carbon =
          node_status.energy.carbon_free_ratio || node_status.energy.carbon_intensity;
      if (has_carbon && !watts) ++status.carbon_uncounted_nodes;
    }
  }
  std::sort(status.nodes.begin(), status.nodes.end());
  // The API stores FLOPS as a 4-digit quantity; compare in that form, or the status read back
  // (15.83P) would never equal the one computed (15.8304P) and every plan would rewrite it.
  status.flops = api::ParseQuantity(api::FormatQuantity(status.flops)).value_or(status.flops);
  status.carbon_free_ratio = ratio.Value();
  status.carbon_intensity = intensity.Value();
  status.scheduling_node_selector = {{std::string(api::kPoolLabel), binding}};
  // NoExecute only: a node that is still draining carries the NoSchedule pool taint, which keeps
  // the tenant's pods off it until the pods of other namespaces have left (drain.h).
  status.scheduling_tolerations = {
      {std::string(api::kPoolTaintKey), "Equal", binding, "NoExecute"}};
  return status;
}

}  // namespace zhisuan::controller::stages
