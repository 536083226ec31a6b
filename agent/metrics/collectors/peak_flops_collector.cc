// Peak FLOPS per device and precision, from the table or the formula (the `method` label says
// which). A precision without a figure (no support, no public figure, or no peak at all: method
// none) has no series: 0 would read as a known peak of nothing, and unknown is not zero.
#include "agent/metrics/collector.h"

namespace zhisuan::agent {
namespace {

class PeakFlopsCollector final : public MetricsCollector {
 public:
  std::string_view Name() const override { return "peak_flops"; }
  Status Collect(const AgentState& state, MetricFamilies& out) const override {
    auto& peak = AddGaugeFamily(out, "zhisuan_device_peak_flops",
                                "Dense peak operations per second by precision (int8 counts OPS).");
    for (const auto& device : state.devices) {
      const MetricLabels labels = WithLabel(DeviceLabels(device.accelerator), "method",
                                            std::string(PeakFlopsMethodName(device.peak.method)));
      for (size_t i = 0; i < kAllPrecisions.size(); ++i) {
        if (!(device.peak.flops[i] > 0)) continue;
        AddSample(peak,
                  WithLabel(labels, "precision", std::string(PrecisionName(kAllPrecisions[i]))),
                  device.peak.flops[i]);
      }
    }
    return OkStatus();
  }
};

}  // namespace

MetricsCollectorPtr MakePeakFlopsCollector() { return std::make_unique<PeakFlopsCollector>(); }

}  // namespace zhisuan::agent
