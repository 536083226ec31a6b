// The agent's own health: readiness, sampling cost, errors by component, and which discovery
// backends worked (a node without its vendor library shows up here, not as missing metrics).
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

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
    // One series per place a stand-in can enter, 0 on real hardware: a dashboard or an alert can
    // tell a demo's or a test's figures from a node's without knowing which stand-ins exist.
    auto& simulated = AddGaugeFamily(
        out, "zhisuan_agent_simulated_hardware",
        "1 when what the agent reads through this backend comes from a stand-in (a fake vendor "
        "library or a fixture tree), not hardware.");
    const std::vector<StandIn> stand_ins = state.AllStandIns();
    for (std::string_view source : kStandInSources) {
      const bool is_simulated =
          std::any_of(stand_ins.begin(), stand_ins.end(),
                      [source](const StandIn& stand_in) { return stand_in.source == source; });
      AddSample(simulated, {{"backend", std::string(source)}}, is_simulated ? 1 : 0);
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
