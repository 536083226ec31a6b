// The agent's own health: readiness, sampling cost, errors by component, and which discovery
// backends worked (a node without its vendor library shows up here, not as missing metrics).
#include <chrono>

#include "agent/metrics/collector.h"

namespace zhisuan::agent {
namespace {

class AgentCollector final : public MetricsCollector {
 public:
  std::string_view Name() const override { return "agent"; }
  Status Collect(const AgentState& state, MetricFamilies& out) const override {
    AddSample(AddGaugeFamily(out, "zhisuan_agent_build_info", "The agent's version; always 1."),
              {{"version", ZHISUAN_VERSION}}, 1);
    AddSample(AddGaugeFamily(out, "zhisuan_agent_ready",
                             "1 once the first discovery and sample are done."),
              {}, state.ready ? 1 : 0);
    auto& errors = AddCounterFamily(out, "zhisuan_agent_errors_total",
                                    "Errors the agent degraded around, by component.");
    for (const auto& [component, count] : state.errors_total) {
      AddSample(errors, {{"component", component}}, static_cast<double>(count));
    }
    auto& backends = AddGaugeFamily(out, "zhisuan_agent_discovery_backend_success",
                                    "1 when the discovery backend's last discovery succeeded.");
    for (const auto& result : state.backend_results) {
      AddSample(backends, {{"backend", result.backend}}, result.status.ok() ? 1 : 0);
    }
    AddSample(AddCounterFamily(out, "zhisuan_agent_samples_total", "Sampler ticks completed."), {},
              static_cast<double>(state.samples_total));
    AddSample(AddGaugeFamily(out, "zhisuan_agent_sample_duration_seconds",
                             "How long the latest sampler tick took."),
              {}, state.sample_duration_seconds);
    AddSample(AddGaugeFamily(out, "zhisuan_agent_last_sample_timestamp_seconds",
                             "When the latest sampler tick finished."),
              {}, std::chrono::duration<double>(state.sampled_at.time_since_epoch()).count());
    return OkStatus();
  }
};

}  // namespace

MetricsCollectorPtr MakeAgentCollector() { return std::make_unique<AgentCollector>(); }

}  // namespace zhisuan::agent
