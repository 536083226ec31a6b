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

// One carbon figure over the members that report it. A member that does not (no energy profile:
// unknown) is left out rather than counted as 0, which would make the pool look cleaner on
// intensity and dirtier on carbon-free ratio than anything known about it.
class CarbonFigure {
 public:
  void Add(const std::optional<double>& figure, int64_t power_capacity_watts) {
    if (!figure) return;
    const double watts = static_cast<double>(power_capacity_watts);
    if (power_capacity_watts <= 0) all_have_power_ = false;
    plain_ += *figure;
    weighted_ += *figure * watts;
    power_ += watts;
    ++count_;
  }

  // Power-weighted when every member that reports the figure reports its power capacity (a 10 kW
  // node burns ten times the energy of a 1 kW one), else a plain average rather than a weighting
  // that ignores some; absent when no member reports it.
  std::optional<double> Value() const {
    if (count_ == 0) return std::nullopt;
    return Round(all_have_power_ && power_ > 0 ? weighted_ / power_
                                               : plain_ / static_cast<double>(count_));
  }

 private:
  double plain_ = 0, weighted_ = 0, power_ = 0;
  size_t count_ = 0;
  bool all_have_power_ = true;
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
  CarbonFigure ratio, intensity;
  for (const NodeFit* fit : fits) {
    status.nodes.push_back(fit->node->name);
    status.accelerator_count += fit->healthy_matching;
    AddFlops(spec, *fit, status.flops);
    if (fit->compute_node != nullptr) {
      const api::ComputeNodeStatus& node_status = fit->compute_node->status;
      ratio.Add(node_status.energy.carbon_free_ratio, node_status.power_capacity_watts);
      intensity.Add(node_status.energy.carbon_intensity, node_status.power_capacity_watts);
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
