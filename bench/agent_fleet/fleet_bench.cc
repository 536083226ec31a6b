// API writes per node in steady state: `nodes` agents (publisher instances, as many H100, MI300X
// and Ascend nodes) publish every 5 s of simulated time for `hours`, with the run-to-run noise a
// real node has (measured FLOPS wobbling by up to +-3 %, the clock moving), one agent restart per
// node half-way, and a real health event (a GPU failing, then recovering after the quiet period) on
// a few nodes. Target: <= 1 write per node per 10 minutes.
//
//   ./agent_fleet_bench [--nodes=100] [--hours=24] [--server=memory|apiserver]
//                       [--average-power=both|on|off] [--energy-publish-threshold=0.1]
//
// --average-power: whether the agents also publish their accelerators' average power over the
// last hour (status.energy.averagePowerWatts, republished when it moves by more than 10 %), fed by
// a simulated load: each node alternates between jobs (85 % of its power limit, +-5 % noise per
// sample, lasting 6 h on average) and idle gaps (12 %, 1 h on average), seeded. `both` (default)
// runs the fleet twice against the same server, without the field and then with it, so the two
// figures come from the same run.
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

#include "agent/energy/average_power.h"
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
  std::string average_power = "both";
  double energy_publish_threshold = PublishPolicy{}.average_power_threshold_ratio;
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
    } else if (name == "--average-power" && (value == "both" || value == "on" || value == "off")) {
      options.average_power = value;
    } else if (name == "--energy-publish-threshold" && ParseDouble(value) &&
               *ParseDouble(value) >= 0 && *ParseDouble(value) <= 1) {
      options.energy_publish_threshold = *ParseDouble(value);
    } else {
      return InvalidArgumentError(StrCat("unknown or malformed flag '", arg,
                                         "'; flags: --nodes=N --hours=N "
                                         "--server=memory|apiserver --average-power=both|on|off "
                                         "--energy-publish-threshold=0..1"));
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

// A node's accelerator load: jobs at 85 % of the power limit and idle gaps at 12 %, each phase of
// random (exponential) length, with +-5 % noise on every sample.
class SimulatedLoad {
 public:
  SimulatedLoad(double limit_watts, std::mt19937& random) : limit_(limit_watts), random_(random) {
    busy_ = std::bernoulli_distribution(0.85)(random_);
    left_ = NextPhase();
  }
  // Energy over the next `seconds`.
  double Joules(double seconds) {
    if ((left_ -= seconds) <= 0) {
      busy_ = !busy_;
      left_ = NextPhase();
    }
    std::uniform_real_distribution<double> noise(-0.05, 0.05);
    return limit_ * (busy_ ? 0.85 : 0.12) * (1 + noise(random_)) * seconds;
  }

 private:
  double NextPhase() {
    return std::exponential_distribution<double>(1.0 / (busy_ ? 6 * 3600 : 3600))(random_);
  }
  const double limit_;
  std::mt19937& random_;
  bool busy_ = true;
  double left_ = 0;
};

struct FleetResult {
  uint64_t agent_writes = 0;       // as the publishers count them
  uint64_t first_pass_writes = 0;  // the first publication of every node
  int server_writes = 0;
  int failures = 0;
  std::string first_error;
  double wall_seconds = 0;
};

// Runs `options.nodes` publishers for `options.hours` against `server`, their nodes named
// `prefix`-N, publishing the average power when `average_power`.
StatusOr<FleetResult> RunFleet(Server& server, const Options& options, bool average_power,
                               const std::string& prefix) {
  const auto interval = std::chrono::seconds(5);
  const int passes = options.hours * 3600 / static_cast<int>(interval.count());
  const int unhealthy_nodes = std::max(1, options.nodes / 20);  // 5 % of nodes see one GPU fail
  kube::ApiClientPtr api = server.client();
  PublishPolicy policy;
  policy.average_power_threshold_ratio = options.energy_publish_threshold;

  std::vector<std::unique_ptr<ComputeNodePublisher>> publishers;
  std::vector<AgentState> states;
  const Vendor vendors[] = {Vendor::kNvidia, Vendor::kAmd, Vendor::kHuawei};
  for (int i = 0; i < options.nodes; ++i) {
    const std::string name = prefix + std::to_string(i);
    auto created = api->Create(
        kube::kNodes, "", {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", name}}}});
    if (!created.ok()) return created.status().Annotate(StrCat("creating ", name));
    states.push_back(testing::MakeState(name, testing::MakeAccelerators(vendors[i % 3])));
    publishers.push_back(std::make_unique<ComputeNodePublisher>(api, name, policy));
  }
  ZHISUAN_ASSIGN_OR_RETURN(const int server_writes_before, server.CountedWrites());

  std::mt19937 random(42);
  std::mt19937 load_random(7);
  std::uniform_real_distribution<double> wobble(-0.03, 0.03);
  std::vector<SimulatedLoad> loads;
  std::vector<AveragePowerWindow> windows(options.nodes);
  for (const AgentState& state : states) {
    double limit = 0;
    for (const auto& device : state.devices)
      limit += device.telemetry.power_limit_watts.value_or(0);
    loads.emplace_back(limit, load_random);
  }
  WallTime now = WallTime(std::chrono::seconds(1795000000));
  SteadyTime steady = SteadyTime(std::chrono::hours(1000));
  FleetResult result;
  const auto started = std::chrono::steady_clock::now();
  for (int pass = 0; pass < passes; ++pass) {
    now += interval;
    steady += interval;
    if (pass == passes / 2) {  // every agent restarts (a DaemonSet rollout with nothing changed)
      for (int i = 0; i < options.nodes; ++i) {
        result.agent_writes += publishers[i]->writes();
        publishers[i] = std::make_unique<ComputeNodePublisher>(api, states[i].node_name, policy);
        windows[i] = AveragePowerWindow();  // the new agent's window starts empty
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
      if (average_power) {
        // Ascend (DCMI) has no energy counter: its energy is integrated power.
        const EnergySource source = vendors[i % 3] == Vendor::kHuawei
                                        ? EnergySource::kIntegratedPower
                                        : EnergySource::kCounter;
        const double seconds = std::chrono::duration<double>(interval).count();
        windows[i].Observe(steady, EnergyInterval{loads[i].Joules(seconds), seconds, source});
        state.accelerator_average_power = windows[i].Reading();
      }
      std::vector<Accelerator> accelerators;
      for (const auto& device : state.devices) accelerators.push_back(device.accelerator);
      DesiredPublication desired{state.node_name, NodeLabelsFor(accelerators),
                                 BuildComputeNodeStatus(state, nullptr, now)};
      desired.average_power_pending = state.accelerator_average_power.pending;
      auto written = publishers[i]->Publish(desired);
      if (!written.ok()) {
        ++result.failures;
        if (result.first_error.empty()) result.first_error = written.status().ToString();
      }
    }
    if (pass == 0) {
      for (const auto& publisher : publishers) result.first_pass_writes += publisher->writes();
    }
  }
  for (const auto& publisher : publishers) result.agent_writes += publisher->writes();
  result.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ZHISUAN_ASSIGN_OR_RETURN(const int server_writes_after, server.CountedWrites());
  result.server_writes = server_writes_after - server_writes_before;
  return result;
}

// Prints one fleet's figures; whether it met the target.
bool Report(const Options& options, const FleetResult& result, std::string_view average_power) {
  const int passes = options.hours * 3600 / 5;
  const double windows = options.hours * 6.0;
  const double per_node_per_10min =
      static_cast<double>(result.agent_writes) / options.nodes / windows;
  const double steady =
      static_cast<double>(result.agent_writes - result.first_pass_writes) / options.nodes / windows;
  const std::string tag =
      StrCat("agent_fleet average_power=", average_power,
             average_power == "on" ? StrCat(" threshold=", options.energy_publish_threshold)
                                   : std::string());
  std::printf("%s server=%s nodes=%d hours=%d passes_per_node=%d wall_seconds=%.1f\n", tag.c_str(),
              options.server.c_str(), options.nodes, options.hours, passes, result.wall_seconds);
  std::printf("%s writes_total=%llu server_counted=%d first_publication=%llu failures=%d\n",
              tag.c_str(), static_cast<unsigned long long>(result.agent_writes),
              result.server_writes, static_cast<unsigned long long>(result.first_pass_writes),
              result.failures);
  std::printf("%s writes_per_node_per_10min=%.4f (after first publication: %.4f)\n", tag.c_str(),
              per_node_per_10min, steady);
  std::printf("%s writes_per_node_per_hour_steady=%.4f\n", tag.c_str(), steady * 6);
  if (!result.first_error.empty()) {
    std::printf("%s first_error=%s\n", tag.c_str(), result.first_error.c_str());
  }
  const bool counts_agree = result.server_writes == static_cast<int>(result.agent_writes);
  if (!counts_agree)
    std::printf("%s the server and the agents disagree on the count\n", tag.c_str());
  const bool pass = per_node_per_10min <= 1 && result.failures == 0 && counts_agree;
  std::printf("%s target<=1 %s\n", tag.c_str(), pass ? "PASS" : "FAIL");
  return pass;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = ParseFlags(argc, argv);
  if (!parsed.ok()) {
    std::fprintf(stderr, "agent_fleet_bench: %s\n", parsed.status().ToString().c_str());
    return 2;
  }
  const Options options = *parsed;
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
  bool pass = true;
  for (const char* mode : {"off", "on"}) {
    if (options.average_power != "both" && options.average_power != mode) continue;
    const bool on = std::string_view(mode) == "on";
    auto result = RunFleet(*server, options, on, on ? "power-node-" : "node-");
    if (!result.ok()) {
      std::fprintf(stderr, "agent_fleet_bench: %s\n", result.status().ToString().c_str());
      return 1;
    }
    pass = Report(options, *result, mode) && pass;
  }
  return pass ? 0 : 1;
}
