// What the FLOPS probes last achieved, its ratio to peak, and whether that ratio shows the peak to
// be wrong. A device the probe has not measured has no series: 0 would read as a broken device.
// Every measured series carries source="hardware" or "simulated" (the figure came from a stand-in
// library), so a demo's constant never passes for a measurement.
#include <algorithm>
#include <utility>
#include <vector>

#include "agent/metrics/collector.h"

namespace zhisuan::agent {
namespace {

double PeakAt(const PeakFlops& peak, Precision precision) {
  return peak.flops[static_cast<size_t>(precision)];
}

class MeasuredFlopsCollector final : public MetricsCollector {
 public:
  std::string_view Name() const override { return "measured_flops"; }
  Status Collect(const AgentState& state, MetricFamilies& out) const override {
    auto& device_flops = AddGaugeFamily(
        out, "zhisuan_device_measured_flops",
        "Operations per second the FLOPS probe achieved; source says whether on hardware or "
        "from a stand-in (simulated).");
    auto& device_ratio = AddGaugeFamily(out, "zhisuan_device_measured_to_peak_ratio",
                                        "Measured FLOPS divided by peak FLOPS at that precision.");
    auto& cpu_flops = AddGaugeFamily(out, "zhisuan_cpu_measured_flops",
                                     "FLOP/s the CPU FMA probe achieved on all physical cores.");
    auto& cpu_ratio = AddGaugeFamily(out, "zhisuan_cpu_measured_to_peak_ratio",
                                     "CPU measured FLOPS divided by CPU peak at that precision.");
    auto& runs = AddCounterFamily(out, "zhisuan_flops_probe_runs_total",
                                  "Completed runs of the FLOPS probes.");
    auto& probe_success = AddGaugeFamily(out, "zhisuan_flops_probe_success",
                                         "1 when the probe could run in its latest run.");
    auto& suspect = AddGaugeFamily(
        out, "zhisuan_device_peak_flops_suspect",
        "1 when a measurement beat the peak by more than 5% at that precision, so the peak is "
        "wrong; 0 when measured and within it.");
    // Per device and precision: suspect when any kernel's measurement beats the peak.
    std::vector<std::pair<MetricLabels, bool>> suspects;
    AddSample(runs, {}, static_cast<double>(state.flops_probe_runs));
    Status status;
    for (const auto& [probe, probe_status] : state.flops_probe_status) {
      AddSample(probe_success, {{"probe", probe}}, probe_status.ok() ? 1 : 0);
    }
    for (const auto& m : state.measured_flops) {
      if (!m.status.ok()) {
        if (m.status.code() != StatusCode::kFailedPrecondition) status = m.status;
        continue;
      }
      const std::string precision(PrecisionName(m.precision));
      if (m.target == "cpu") {
        MetricLabels labels = {
            {"precision", precision}, {"kernel", m.kernel}, {"source", std::string(m.Source())}};
        AddSample(cpu_flops, labels, m.flops);
        const double peak = PeakAt(state.cpu_peak, m.precision);
        if (peak > 0) AddSample(cpu_ratio, labels, m.flops / peak);
        continue;
      }
      const DeviceState* device = nullptr;
      for (const auto& candidate : state.devices) {
        if (candidate.accelerator.pci_bus_id == m.target) device = &candidate;
      }
      if (device == nullptr) continue;  // a CUDA device discovery did not report
      MetricLabels labels = DeviceLabels(device->accelerator);
      labels.push_back({"precision", precision});
      labels.push_back({"kernel", m.kernel});
      labels.push_back({"source", std::string(m.Source())});
      AddSample(device_flops, labels, m.flops);
      const double peak = PeakAt(device->peak, m.precision);
      if (peak <= 0) continue;
      AddSample(device_ratio, labels, m.flops / peak);
      labels.pop_back();  // the source and
      labels.pop_back();  // the kernel: suspicion is per device and precision
      auto it = std::find_if(suspects.begin(), suspects.end(),
                             [&](const auto& seen) { return seen.first == labels; });
      if (it == suspects.end()) it = suspects.insert(suspects.end(), {labels, false});
      it->second = it->second || PeakLooksSuspect(m.flops, peak);
    }
    for (const auto& [labels, is_suspect] : suspects) {
      AddSample(suspect, labels, is_suspect ? 1 : 0);
    }
    return status;
  }
};

}  // namespace

MetricsCollectorPtr MakeMeasuredFlopsCollector() {
  return std::make_unique<MeasuredFlopsCollector>();
}

}  // namespace zhisuan::agent
