#include "controller/reconcile/status_rollup.h"

#include <algorithm>
#include <cmath>

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

// Sums for the pool's carbon figures, plain and weighted by power capacity.
struct CarbonSums {
  double power = 0, ratio_weighted = 0, intensity_weighted = 0;
  double ratio_plain = 0, intensity_plain = 0;
  size_t ratio_count = 0, intensity_count = 0;
  bool all_have_power = true;

  void Add(const api::ComputeNodeStatus& node_status) {
    if (node_status.power_capacity_watts <= 0) all_have_power = false;
    const double watts = static_cast<double>(node_status.power_capacity_watts);
    if (node_status.energy.carbon_free_ratio) {
      ratio_plain += *node_status.energy.carbon_free_ratio;
      ratio_weighted += *node_status.energy.carbon_free_ratio * watts;
      ++ratio_count;
    }
    if (node_status.energy.carbon_intensity) {
      intensity_plain += *node_status.energy.carbon_intensity;
      intensity_weighted += *node_status.energy.carbon_intensity * watts;
      ++intensity_count;
    }
    power += watts;
  }

  // Power-weighted when every member reports its power capacity and energy (a 10 kW node burns ten
  // times the energy of a 1 kW one), else a plain average rather than a weighting that ignores
  // some.
  void WriteTo(api::ComputePoolStatus& status, size_t members) const {
    const bool weighted =
        all_have_power && power > 0 && ratio_count == members && intensity_count == members;
    status.carbon_free_ratio.reset();
    status.carbon_intensity.reset();
    if (ratio_count > 0) {
      status.carbon_free_ratio =
          Round(weighted ? ratio_weighted / power : ratio_plain / static_cast<double>(ratio_count));
    }
    if (intensity_count > 0) {
      status.carbon_intensity =
          Round(weighted ? intensity_weighted / power
                         : intensity_plain / static_cast<double>(intensity_count));
    }
  }
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
  CarbonSums carbon;
  for (const NodeFit* fit : fits) {
    status.nodes.push_back(fit->node->name);
    status.accelerator_count += fit->healthy_matching;
    AddFlops(spec, *fit, status.flops);
    if (fit->compute_node != nullptr) carbon.Add(fit->compute_node->status);
  }
  std::sort(status.nodes.begin(), status.nodes.end());
  // The API stores FLOPS as a 4-digit quantity; compare in that form, or the status read back
  // (15.83P) would never equal the one computed (15.8304P) and every plan would rewrite it.
  status.flops = api::ParseQuantity(api::FormatQuantity(status.flops)).value_or(status.flops);
  carbon.WriteTo(status, fits.size());
  status.scheduling_node_selector = {{std::string(api::kPoolLabel), binding}};
  status.scheduling_tolerations = {
      {std::string(api::kPoolTaintKey), "Equal", binding, "NoSchedule"}};
  return status;
}

}  // namespace zhisuan::controller::stages
