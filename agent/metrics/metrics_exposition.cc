#include "agent/metrics/metrics_exposition.h"

#include <prometheus/text_serializer.h>

#include <chrono>
#include <iterator>
#include <sstream>

#include "common/log.h"

namespace zhisuan::agent {

namespace {
MetricFamilies CollectFrom(const AgentState& snapshot,
                           const std::vector<MetricsCollectorPtr>& collectors) {
  MetricFamilies families;
  prometheus::MetricFamily duration;
  duration.name = "zhisuan_agent_collector_duration_seconds";
  duration.help = "How long each collector took to render the current snapshot.";
  duration.type = prometheus::MetricType::Gauge;
  prometheus::MetricFamily success;
  success.name = "zhisuan_agent_collector_success";
  success.help = "1 when the collector's sources were all fine in the latest sample.";
  success.type = prometheus::MetricType::Gauge;
  for (const auto& collector : collectors) {
    const auto started = std::chrono::steady_clock::now();
    Status status = collector->Collect(snapshot, families);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    const std::string name(collector->Name());
    AddSample(duration, {{"collector", name}}, took.count());
    AddSample(success, {{"collector", name}}, status.ok() ? 1 : 0);
    if (!status.ok()) ZLOG_V(2) << "collector " << name << ": " << status;
  }
  families.push_back(std::move(duration));
  families.push_back(std::move(success));
  return families;
}
}  // namespace

MetricsExposition::MetricsExposition(const AgentStateStore& store,
                                     std::vector<MetricsCollectorPtr> collectors)
    : store_(store), collectors_(std::move(collectors)) {}

MetricFamilies MetricsExposition::Collect() const {
  return CollectFrom(*store_.Load(), collectors_);
}

std::string MetricsExposition::Render() const {
  std::shared_ptr<const AgentState> state = store_.Load();
  std::lock_guard lock(cache_mu_);
  if (state != cached_state_) {
    std::ostringstream out;
    MetricFamilies families = CollectFrom(*state, collectors_);
    prometheus::TextSerializer().Serialize(
        out, std::vector<prometheus::MetricFamily>(std::make_move_iterator(families.begin()),
                                                   std::make_move_iterator(families.end())));
    cached_text_ = out.str();
    cached_state_ = std::move(state);
  }
  return cached_text_;
}

}  // namespace zhisuan::agent
