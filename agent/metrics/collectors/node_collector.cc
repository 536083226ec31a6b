// Node totals: the compute the node offers (accelerators and CPU, per precision), how many
// accelerators are healthy, and the CPU behind it all.
#include "agent/metrics/collector.h"

namespace zhisuan::agent {
namespace {

class NodeCollector final : public MetricsCollector {
 public:
  std::string_view Name() const override { return "node"; }
  Status Collect(const AgentState& state, MetricFamilies& out) const override {
    auto& peak = AddGaugeFamily(out, "zhisuan_node_peak_flops",
                                "Node total dense peak operations per second by precision, for "
                                "accelerators and for the CPU.");
    const FlopsByPrecision accelerators = state.AcceleratorPeakTotal();
    for (size_t i = 0; i < kAllPrecisions.size(); ++i) {
      const std::string precision(PrecisionName(kAllPrecisions[i]));
      AddSample(peak, {{"kind", "accelerator"}, {"precision", precision}}, accelerators[i]);
      // No CPU figure (unknown microarchitecture, no such instruction) is absent, never 0.
      if (state.cpu_peak.flops[i] > 0) {
        AddSample(peak, {{"kind", "cpu"}, {"precision", precision}}, state.cpu_peak.flops[i]);
      }
    }
    auto& count = AddGaugeFamily(out, "zhisuan_node_accelerators",
                                 "Accelerators on the node by health state.");
    double healthy = 0;
    for (const auto& device : state.devices) healthy += device.health.healthy ? 1 : 0;
    AddSample(count, {{"health", "healthy"}}, healthy);
    AddSample(count, {{"health", "unhealthy"}},
              static_cast<double>(state.devices.size()) - healthy);

    AddSample(AddGaugeFamily(out, "zhisuan_cpu_info", "The node's CPU; always 1."),
              {{"model", state.cpu.model}, {"vendor_id", state.cpu.vendor_id}}, 1);
    AddSample(AddGaugeFamily(out, "zhisuan_cpu_physical_cores", "Physical CPU cores."), {},
              state.cpu.physical_cores);
    AddSample(AddGaugeFamily(out, "zhisuan_cpu_max_clock_hertz",
                             "Nominal maximum CPU clock: cpufreq's, else /proc/cpuinfo's."),
              {}, state.cpu.max_mhz * 1e6);
    auto& peak_clock = AddGaugeFamily(
        out, "zhisuan_cpu_peak_clock_hertz",
        "The clock the CPU peak FLOPS figure is at: measured by the CPU probe, else nominal.");
    if (state.cpu_peak.method != PeakFlopsMethod::kNone) {
      AddSample(peak_clock,
                {{"source", std::string(CpuClockSourceName(state.cpu_peak_clock.source))}},
                state.cpu_peak_clock.mhz * 1e6);
    }
    return OkStatus();
  }
};

}  // namespace

MetricsCollectorPtr MakeNodeCollector() { return std::make_unique<NodeCollector>(); }

}  // namespace zhisuan::agent
