// API writes per node in steady state: `nodes` agents (publisher instances, as many H100, MI300X
// and Ascend nodes) publish every 5 s of simulated time for `hours`, with the run-to-run noise a
// real node has (measured FLOPS wobbling by up to +-3 %, the clock moving), one agent restart per
// node half-way, and a real health event (a GPU failing, then recovering after the quiet period) on
// a few nodes. Target: <= 1 write per node per 10 minutes.
//
//   ./agent_fleet_bench [--nodes=100] [--hours=24] [--server=memory|apiserver]
//
// --server=memory publishes to the tests' in-memory API server. --server=apiserver starts a real
// etcd and kube-apiserver (tests/harness; needs ZHISUAN_TOOLCHAIN_BIN and ZHISUAN_SOURCE_DIR) with
// the chart's CRDs: the figure that matters, because only a real server shows whether what it
// returns (defaulting, number formatting, managedFields) makes the agent see a difference that
// is not there and write again. The writes are counted twice: by the publishers themselves and by
// the server (PATCH and APPLY on nodes and computenodes in kube-apiserver's
// apiserver_request_total, or the in-memory server's call count).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "agent/publish/compute_node_publisher.h"
#include "agent/publish/compute_node_status.h"
#include "agent/publish/node_labels.h"
#include "common/strings.h"
#include "kube/config.h"
#include "kube/rest_client.h"
#include "tests/harness/control_plane.h"
#include "tests/unit/agent/kubernetes/inventories.h"
#include "tests/unit/kube/fake_api_client.h"

using namespace zhisuan;         // NOLINT(build/namespaces): benchmark main only
using namespace zhisuan::agent;  // NOLINT(build/namespaces)

namespace {

struct Options {
  int nodes = 100;
  int hours = 24;
  std::string server = "memory";
};

StatusOr<Options> ParseFlags(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const size_t equals = arg.find('=');
    const std::string_view name = arg.substr(0, equals);
    const std::string value(equals == std::string_view::npos ? "" : arg.substr(equals + 1));
    if (name == "--nodes" || name == "--hours") {
      auto number = ParseInt64(value);
      if (!number || *number < 1) return InvalidArgumentError(StrCat(name, " needs a count >= 1"));
      (name == "--nodes" ? options.nodes : options.hours) = static_cast<int>(*number);
    } else if (name == "--server" && (value == "memory" || value == "apiserver")) {
      options.server = value;
    } else {
      return InvalidArgumentError(StrCat("unknown or malformed flag '", arg,
                                         "'; flags: --nodes=N --hours=N "
                                         "--server=memory|apiserver"));
    }
  }
  return options;
}

// The API server the agents write to, and its own count of their writes.
class Server {
 public:
  virtual ~Server() = default;
  virtual kube::ApiClientPtr client() = 0;
  virtual StatusOr<int> CountedWrites() = 0;
};

class InMemoryServer final : public Server {
 public:
  kube::ApiClientPtr client() override { return fake_; }
  StatusOr<int> CountedWrites() override {
    return fake_->CallCount(kube::FakeApiClient::Verb::kPatch);
  }

 private:
  std::shared_ptr<kube::FakeApiClient> fake_ = std::make_shared<kube::FakeApiClient>();
};

class RealApiServer final : public Server {
 public:
  static StatusOr<std::unique_ptr<RealApiServer>> Start() {
    auto server = std::unique_ptr<RealApiServer>(new RealApiServer());
    ZHISUAN_ASSIGN_OR_RETURN(server->plane_, harness::ControlPlane::Start({}));
    harness::ControlPlane& plane = *server->plane_;
    ZHISUAN_RETURN_IF_ERROR(plane.InstallCrds());
    ZHISUAN_ASSIGN_OR_RETURN(auto config, kube::LoadKubeconfig(plane.admin_kubeconfig()));
    config.qps = 0;  // the count is the point, not the pace
    ZHISUAN_ASSIGN_OR_RETURN(server->client_, kube::NewRestClient(config));
    return server;
  }
  kube::ApiClientPtr client() override { return client_; }
  // Sums apiserver_request_total over the verbs a publisher writes with (merge patch and
  // server-side apply) on the two resources it writes.
  StatusOr<int> CountedWrites() override {
    auto metrics = plane_->Kubectl({"get", "--raw", "/metrics"});
    if (metrics.exit_code != 0) return InternalError("reading /metrics: " + metrics.output);
    double total = 0;
    std::istringstream lines(metrics.output);
    for (std::string line; std::getline(lines, line);) {
      if (!StartsWith(line, "apiserver_request_total{")) continue;
      const bool write_verb = line.find("verb=\"PATCH\"") != std::string::npos ||
                              line.find("verb=\"APPLY\"") != std::string::npos;
      const bool ours = line.find("resource=\"nodes\"") != std::string::npos ||
                        line.find("resource=\"computenodes\"") != std::string::npos;
      if (!write_verb || !ours) continue;
      total += std::strtod(line.substr(line.rfind(' ') + 1).c_str(), nullptr);
    }
    return static_cast<int>(total);
  }

 private:
  RealApiServer() = default;
  std::unique_ptr<harness::ControlPlane> plane_;
  kube::ApiClientPtr client_;
};

}  // namespace

int main(int argc, char** argv) {
  auto parsed = ParseFlags(argc, argv);
  if (!parsed.ok()) {
    std::fprintf(stderr, "agent_fleet_bench: %s\n", parsed.status().ToString().c_str());
    return 2;
  }
  const Options options = *parsed;
  const auto interval = std::chrono::seconds(5);
  const int passes = options.hours * 3600 / static_cast<int>(interval.count());
  const int unhealthy_nodes = std::max(1, options.nodes / 20);  // 5 % of nodes see one GPU fail

  std::unique_ptr<Server> server;
  if (options.server == "apiserver") {
    auto started = RealApiServer::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "agent_fleet_bench: %s\n", started.status().ToString().c_str());
      return 1;
    }
    server = std::move(started).value();
  } else {
    server = std::make_unique<InMemoryServer>();
  }
  kube::ApiClientPtr api = server->client();

  std::vector<std::unique_ptr<ComputeNodePublisher>> publishers;
  std::vector<AgentState> states;
  const Vendor vendors[] = {Vendor::kNvidia, Vendor::kAmd, Vendor::kHuawei};
  for (int i = 0; i < options.nodes; ++i) {
    const std::string name = "node-" + std::to_string(i);
    auto created = api->Create(
        kube::kNodes, "", {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", name}}}});
    if (!created.ok()) {
      std::fprintf(stderr, "agent_fleet_bench: creating %s: %s\n", name.c_str(),
                   created.status().ToString().c_str());
      return 1;
    }
    states.push_back(testing::MakeState(name, testing::MakeAccelerators(vendors[i % 3])));
    publishers.push_back(std::make_unique<ComputeNodePublisher>(api, name));
  }
  auto server_writes_before = server->CountedWrites();
  if (!server_writes_before.ok()) {
    std::fprintf(stderr, "agent_fleet_bench: %s\n",
                 server_writes_before.status().ToString().c_str());
    return 1;
  }

  std::mt19937 random(42);
  std::uniform_real_distribution<double> wobble(-0.03, 0.03);
  WallTime now = WallTime(std::chrono::seconds(1795000000));
  int failures = 0;
  uint64_t agent_writes = 0;       // as the publishers count them
  uint64_t first_pass_writes = 0;  // the first publication of every node
  std::string first_error;
  const auto started = std::chrono::steady_clock::now();
  for (int pass = 0; pass < passes; ++pass) {
    now += interval;
    if (pass == passes / 2) {  // every agent restarts (a DaemonSet rollout with nothing changed)
      for (int i = 0; i < options.nodes; ++i) {
        agent_writes += publishers[i]->writes();
        publishers[i] = std::make_unique<ComputeNodePublisher>(api, states[i].node_name);
      }
    }
    for (int i = 0; i < options.nodes; ++i) {
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
      if (!written.ok()) {
        ++failures;
        if (first_error.empty()) first_error = written.status().ToString();
      }
    }
    if (pass == 0) {
      for (const auto& publisher : publishers) first_pass_writes += publisher->writes();
    }
  }
  for (const auto& publisher : publishers) agent_writes += publisher->writes();
  const double wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  auto server_writes_after = server->CountedWrites();
  if (!server_writes_after.ok()) {
    std::fprintf(stderr, "agent_fleet_bench: %s\n",
                 server_writes_after.status().ToString().c_str());
    return 1;
  }
  const int server_writes = *server_writes_after - *server_writes_before;
  const double windows = options.hours * 6.0;
  const double per_node_per_10min = static_cast<double>(agent_writes) / options.nodes / windows;
  const double steady =
      static_cast<double>(agent_writes - first_pass_writes) / options.nodes / windows;
  std::printf("agent_fleet server=%s nodes=%d hours=%d passes_per_node=%d wall_seconds=%.1f\n",
              options.server.c_str(), options.nodes, options.hours, passes, wall_seconds);
  std::printf(
      "agent_fleet writes_total=%llu server_counted=%d first_publication=%llu "
      "health_event_nodes=%d failures=%d\n",
      static_cast<unsigned long long>(agent_writes), server_writes,
      static_cast<unsigned long long>(first_pass_writes), unhealthy_nodes, failures);
  std::printf("agent_fleet writes_per_node_per_10min=%.4f (after first publication: %.4f)\n",
              per_node_per_10min, steady);
  std::printf("agent_fleet writes_per_node_per_hour_steady=%.4f\n", steady * 6);
  if (!first_error.empty()) std::printf("agent_fleet first_error=%s\n", first_error.c_str());
  const bool counts_agree = server_writes == static_cast<int>(agent_writes);
  if (!counts_agree) std::printf("agent_fleet the server and the agents disagree on the count\n");
  const bool pass = per_node_per_10min <= 1 && failures == 0 && counts_agree;
  std::printf("agent_fleet target<=1 %s\n", pass ? "PASS" : "FAIL");
  return pass ? 0 : 1;
}
