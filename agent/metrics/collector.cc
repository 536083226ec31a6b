#include "agent/metrics/collector.h"

#include "common/strings.h"

namespace zhisuan::agent {

std::vector<MetricsCollectorPtr> MakeDefaultCollectors() {
  std::vector<MetricsCollectorPtr> collectors;
  collectors.push_back(MakeDeviceInfoCollector());
  collectors.push_back(MakeUtilizationCollector());
  collectors.push_back(MakeMemoryCollector());
  collectors.push_back(MakePowerCollector());
  collectors.push_back(MakeEnergyCollector());
  collectors.push_back(MakeTemperatureCollector());
  collectors.push_back(MakeHealthCollector());
  collectors.push_back(MakePeakFlopsCollector());
  collectors.push_back(MakeMeasuredFlopsCollector());
  collectors.push_back(MakeEnergyProfileCollector());
  collectors.push_back(MakeEmissionsCollector());
  collectors.push_back(MakeNodeCollector());
  collectors.push_back(MakeAgentCollector());
  return collectors;
}

namespace {
prometheus::MetricFamily& AddFamily(MetricFamilies& out, std::string name, std::string help,
                                    prometheus::MetricType type) {
  prometheus::MetricFamily& family = out.emplace_back();
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}
}  // namespace

prometheus::MetricFamily& AddGaugeFamily(MetricFamilies& out, std::string name, std::string help) {
  return AddFamily(out, std::move(name), std::move(help), prometheus::MetricType::Gauge);
}

prometheus::MetricFamily& AddCounterFamily(MetricFamilies& out, std::string name,
                                           std::string help) {
  return AddFamily(out, std::move(name), std::move(help), prometheus::MetricType::Counter);
}

void AddSample(prometheus::MetricFamily& family, MetricLabels labels, double value) {
  prometheus::ClientMetric& metric = family.metric.emplace_back();
  metric.label = std::move(labels);
  if (family.type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
}

MetricLabels DeviceLabels(const Accelerator& accelerator) {
  return {{"uuid", accelerator.uuid},
          {"index", StrCat(accelerator.index)},
          {"vendor", std::string(VendorName(accelerator.vendor))},
          {"product", accelerator.product}};
}

MetricLabels WithLabel(MetricLabels labels, std::string name, std::string value) {
  labels.push_back({std::move(name), std::move(value)});
  return labels;
}

Status TelemetryStatus(const AgentState& state) {
  for (const auto& device : state.devices) {
    if (!device.telemetry_status.ok() &&
        device.telemetry_status.code() != StatusCode::kUnimplemented) {
      return device.telemetry_status.Annotate(device.accelerator.uuid);
    }
  }
  return OkStatus();
}

}  // namespace zhisuan::agent
