// API writes per node in steady state: 100 agents (publisher instances, as many H100, MI300X and
// Ascend nodes) publish to the in-memory API server every 5 s of simulated time for 24 hours, with
// the run-to-run noise a real node has (measured FLOPS wobbling by up to +-3 %, the clock moving),
// one agent restart per node half-way, and a real health event (a GPU failing, then recovering
// after the quiet period) on a few nodes. Target: <= 1 write per node per 10 minutes.
//
//   ./agent_fleet_bench [nodes] [hours]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "agent/publish/compute_node_publisher.h"
#include "agent/publish/compute_node_status.h"
#include "agent/publish/node_labels.h"
#include "tests/unit/agent/kubernetes/inventories.h"
#include "tests/unit/kube/fake_api_client.h"

using namespace zhisuan;         // NOLINT(build/namespaces): benchmark main only
using namespace zhisuan::agent;  // NOLINT(build/namespaces)

int main(int argc, char** argv) {
  const int nodes = argc > 1 ? std::atoi(argv[1]) : 100;
  const int hours = argc > 2 ? std::atoi(argv[2]) : 24;
  const auto interval = std::chrono::seconds(5);
  const int passes = hours * 3600 / static_cast<int>(interval.count());
  const int unhealthy_nodes = std::max(1, nodes / 20);  // 5 % of nodes see one GPU fail

  auto server = std::make_shared<kube::FakeApiClient>();
  std::vector<std::unique_ptr<ComputeNodePublisher>> publishers;
  std::vector<AgentState> states;
  const Vendor vendors[] = {Vendor::kNvidia, Vendor::kAmd, Vendor::kHuawei};
  for (int i = 0; i < nodes; ++i) {
    const std::string name = "node-" + std::to_string(i);
    (void)server->Create(kube::kNodes, "",
                         {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", name}}}});
    states.push_back(testing::MakeState(name, testing::MakeAccelerators(vendors[i % 3])));
    publishers.push_back(std::make_unique<ComputeNodePublisher>(server, name));
  }
  std::mt19937 random(42);
  std::uniform_real_distribution<double> wobble(-0.03, 0.03);
  WallTime now = WallTime(std::chrono::seconds(1795000000));
  int failures = 0;
  for (int pass = 0; pass < passes; ++pass) {
    now += interval;
    if (pass == passes / 2) {  // every agent restarts (a DaemonSet rollout with nothing changed)
      for (int i = 0; i < nodes; ++i) {
        publishers[i] = std::make_unique<ComputeNodePublisher>(server, states[i].node_name);
      }
    }
    for (int i = 0; i < nodes; ++i) {
      AgentState& state = states[i];
      for (auto& measurement : state.measured_flops)
        measurement.flops = 700e12 * (1 + wobble(random));
      // A GPU fails at hour 1 on the first few nodes and recovers after a 5-minute quiet period.
      if (i < unhealthy_nodes) {
        const bool failed = pass >= 720 && pass < 720 + 60;
        state.devices[0].health.healthy = !failed;
        state.devices[0].health.reason = failed ? HealthReason::kCriticalXid : HealthReason::kNone;
        state.devices[0].health.code = failed ? 79 : 0;
      }
      std::vector<Accelerator> accelerators;
      for (const auto& device : state.devices) accelerators.push_back(device.accelerator);
      auto written = publishers[i]->Publish({state.node_name, NodeLabelsFor(accelerators),
                                             BuildComputeNodeStatus(state, nullptr, now)});
      if (!written.ok()) ++failures;
    }
  }
  const int writes = server->CallCount(kube::FakeApiClient::Verb::kPatch);
  const int initial = 3 * nodes;  // labels, ComputeNode, status on first start
  const double windows = hours * 6.0;
  const double per_node_per_10min = static_cast<double>(writes) / nodes / windows;
  const double steady = static_cast<double>(writes - initial) / nodes / windows;
  std::printf("agent_fleet nodes=%d hours=%d passes_per_node=%d\n", nodes, hours, passes);
  std::printf("agent_fleet writes_total=%d initial=%d health_event_nodes=%d failures=%d\n", writes,
              initial, unhealthy_nodes, failures);
  std::printf("agent_fleet writes_per_node_per_10min=%.4f (after first publication: %.4f)\n",
              per_node_per_10min, steady);
  std::printf("agent_fleet target<=1 %s\n", per_node_per_10min <= 1 ? "PASS" : "FAIL");
  return per_node_per_10min <= 1 && failures == 0 ? 0 : 1;
}
