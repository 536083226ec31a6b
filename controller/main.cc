// zhisuan-controller: binds nodes to ComputePools. Wiring only; the behaviour lives in
// controller/reconcile (planning), controller/plan_executor (writes) and controller/pool_controller
// (the loop). docs/controller.md describes flags and semantics.

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "common/log.h"
#include "common/strings.h"
#include "controller/api_request_metrics.h"
#include "controller/controller_metrics.h"
#include "controller/plan_executor.h"
#include "controller/pool_controller.h"
#include "kube/config.h"
#include "kube/event_recorder.h"
#include "kube/leader_election.h"
#include "kube/rest_client.h"

namespace zhisuan::controller {
namespace {

constexpr char kUsage[] = R"(Usage: zhisuan-controller [flags]
  --kubeconfig=PATH                  kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --context=NAME                     kubeconfig context
  --workers=N                        concurrent reconciles (default 2)
  --leader-elect=true|false          elect a leader on a Lease (default true)
  --leader-election-namespace=NS     Lease namespace (default $POD_NAMESPACE or zhisuan-system)
  --leader-election-id=NAME          Lease name (default zhisuan-controller)
  --metrics-address=HOST:PORT        /metrics, /healthz, /readyz (default :8080; "0" disables)
  --carbon-grace=DURATION            how long a member may be out of carbon policy (default 10m)
  --carbon-free-ratio-margin=X       ratio below the policy that evicts at once (default 0.1)
  --carbon-intensity-margin=X        gCO2e/kWh above the policy that evicts at once (default 50)
  --health-grace=DURATION            how long a member may be NotReady (default 60s)
  --v=N                              log verbosity
)";

struct Flags {
  std::string kubeconfig;
  std::string context;
  int workers = 2;
  bool leader_elect = true;
  std::string lease_namespace;
  std::string lease_name = "zhisuan-controller";
  std::string metrics_address = ":8080";
  PlannerConfig planner;
  int verbosity = 0;
};

// "90s", "10m", "1h", "0" -> seconds.
std::optional<std::chrono::seconds> ParseDuration(std::string_view text) {
  if (text == "0") return std::chrono::seconds(0);
  if (text.size() < 2) return std::nullopt;
  int64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    default:
      return std::nullopt;
  }
  auto value = ParseInt64(text.substr(0, text.size() - 1));
  if (!value || *value < 0) return std::nullopt;
  return std::chrono::seconds(*value * unit);
}

StatusOr<Flags> ParseFlags(int argc, char** argv) {
  Flags flags;
  if (const char* ns = std::getenv("POD_NAMESPACE"); ns != nullptr && *ns != '\0') {
    flags.lease_namespace = ns;
  } else {
    flags.lease_namespace = "zhisuan-system";
  }
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return CancelledError(kUsage);
    // --version, like --help, answers and exits (the image test and support bundles ask it).
    if (arg == "--version")
      return CancelledError(StrCat("zhisuan-controller ", ZHISUAN_VERSION, "\n"));
    if (!StartsWith(arg, "--")) return InvalidArgumentError(StrCat("unexpected argument ", arg));
    std::string_view name = arg.substr(2), value;
    static constexpr std::string_view kKnown[] = {"kubeconfig",
                                                  "context",
                                                  "workers",
                                                  "leader-elect",
                                                  "leader-election-namespace",
                                                  "leader-election-id",
                                                  "metrics-address",
                                                  "carbon-grace",
                                                  "health-grace",
                                                  "carbon-free-ratio-margin",
                                                  "carbon-intensity-margin",
                                                  "v"};
    const std::string_view bare = name.substr(0, name.find('='));
    if (std::find(std::begin(kKnown), std::end(kKnown), bare) == std::end(kKnown)) {
      return InvalidArgumentError(StrCat("unknown flag --", bare, "\n", kUsage));
    }
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string_view::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    } else if (i + 1 < argc && name != "leader-elect") {
      value = argv[++i];
      has_value = true;
    }
    auto bad = [&](std::string_view why) {
      return InvalidArgumentError(StrCat("--", name, "=", value, ": ", why));
    };
    if (name == "leader-elect") {
      if (!has_value || value == "true") {
        flags.leader_elect = true;
      } else if (value == "false") {
        flags.leader_elect = false;
      } else {
        return bad("must be true or false");
      }
      continue;
    }
    if (!has_value) return InvalidArgumentError(StrCat("--", name, " needs a value"));
    if (name == "kubeconfig") {
      flags.kubeconfig = value;
    } else if (name == "context") {
      flags.context = value;
    } else if (name == "workers") {
      auto workers = ParseInt64(value);
      if (!workers || *workers < 1 || *workers > 64) return bad("must be between 1 and 64");
      flags.workers = static_cast<int>(*workers);
    } else if (name == "leader-election-namespace") {
      if (value.empty()) return bad("must not be empty");
      flags.lease_namespace = value;
    } else if (name == "leader-election-id") {
      if (value.empty()) return bad("must not be empty");
      flags.lease_name = value;
    } else if (name == "metrics-address") {
      flags.metrics_address = value;
    } else if (name == "carbon-grace" || name == "health-grace") {
      auto duration = ParseDuration(value);
      if (!duration) return bad("must be a duration such as 90s, 10m or 1h");
      (name == "carbon-grace" ? flags.planner.carbon_grace : flags.planner.health_grace) =
          *duration;
    } else if (name == "carbon-free-ratio-margin") {
      auto margin = ParseDouble(value);
      if (!margin || *margin < 0 || *margin > 1) return bad("must be between 0 and 1");
      flags.planner.carbon_free_ratio_margin = *margin;
    } else if (name == "carbon-intensity-margin") {
      auto margin = ParseDouble(value);
      if (!margin || *margin < 0) return bad("must be a non-negative number");
      flags.planner.carbon_intensity_margin = *margin;
    } else if (name == "v") {
      auto verbosity = ParseInt64(value);
      if (!verbosity || *verbosity < 0) return bad("must be a non-negative integer");
      flags.verbosity = static_cast<int>(*verbosity);
    }
  }
  return flags;
}

std::string Identity() {
  if (const char* pod = std::getenv("POD_NAME"); pod != nullptr && *pod != '\0') return pod;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::random_device random;
  return StrCat(host, "_", std::to_string(random() % 1000000));
}

// Answers 200 with an empty body: prometheus-cpp's Exposer serves only collectables, so health
// endpoints are collectables that collect nothing. /readyz is registered once the caches have
// synced; before that it answers 404, which a readiness probe treats as not ready.
class EmptyCollectable final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override { return {}; }
};

int Run(int argc, char** argv) {
  auto flags = ParseFlags(argc, argv);
  if (!flags.ok()) {
    if (flags.status().code() == StatusCode::kCancelled) {
      std::cout << flags.status().message();
      return 0;
    }
    std::cerr << "zhisuan-controller: " << flags.status().message() << "\n";
    return 2;
  }
  SetLogVerbosity(flags->verbosity);

  // Signals are taken synchronously by this thread; every thread started below inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto config = kube::ResolveClientConfig(flags->kubeconfig, flags->context);
  if (!config.ok()) {
    std::cerr << "zhisuan-controller: --kubeconfig: " << config.status().message() << "\n";
    return 1;
  }
  auto client = kube::NewRestClient(*config);
  if (!client.ok()) {
    std::cerr << "zhisuan-controller: API client: " << client.status().message() << "\n";
    return 1;
  }

  auto registry = std::make_shared<prometheus::Registry>();
  ControllerMetrics metrics(registry);
  // Every request below is counted by verb and resource (API cost per reconcile, no relists).
  kube::ApiClientPtr counted_client = std::make_shared<CountingApiClient>(*client, *registry);
  auto healthy = std::make_shared<EmptyCollectable>();
  auto ready = std::make_shared<EmptyCollectable>();
  std::unique_ptr<prometheus::Exposer> exposer;
  if (flags->metrics_address != "0") {
    try {
      std::string address = flags->metrics_address;
      if (StartsWith(address, ":")) address = "0.0.0.0" + address;
      exposer = std::make_unique<prometheus::Exposer>(address);
      exposer->RegisterCollectable(registry, "/metrics");
      exposer->RegisterCollectable(healthy, "/healthz");
    } catch (const std::exception& error) {
      std::cerr << "zhisuan-controller: --metrics-address=" << flags->metrics_address << ": "
                << error.what() << "\n";
      return 2;
    }
  }

  const std::string identity = Identity();
  kube::EventRecorder recorder(counted_client, "zhisuan-controller", identity);
  RecorderEventSink events(recorder);
  PoolControllerOptions options;
  options.workers = flags->workers;
  options.planner = flags->planner;
  PoolController controller(counted_client, &events, &metrics, options);
  controller.StartInformers();
  ZLOG(Info) << "zhisuan-controller " << identity << " starting; waiting for caches";

  std::atomic<bool> shutting_down{false};
  std::atomic<bool> leading{!flags->leader_elect};
  std::unique_ptr<kube::LeaderElector> elector;
  if (flags->leader_elect) {
    kube::LeaderElectionConfig election;
    election.lease_namespace = flags->lease_namespace;
    election.lease_name = flags->lease_name;
    election.identity = identity;
    kube::LeaderCallbacks callbacks;
    callbacks.on_started_leading = [&] {
      ZLOG(Info) << "leading (Lease " << flags->lease_namespace << "/" << flags->lease_name << ")";
      metrics.SetLeader(true);
      // Workers start once the caches are synced too (whichever comes last starts them): workers
      // started now would plan from partial caches.
      leading.store(true);
      if (controller.HasSynced()) controller.StartWorkers();
    };
    callbacks.on_stopped_leading = [&] {
      metrics.SetLeader(false);
      if (shutting_down.load()) return;
      // Another replica may be writing already; stopping mid-plan is safe (every write is
      // conditional), carrying on is not. Exit and let the restart contend afresh.
      ZLOG(Error) << "lost leadership; exiting";
      std::_Exit(1);
    };
    // Leader election talks through its own client: one attempt per request (the elector retries
    // every retry period itself), timed out at the renew deadline. Through the shared client (30 s
    // timeout, 5 attempts) a renewal stuck on a stalled API server or a half-open connection
    // blocked far past the Lease's 15 s duration, so this replica went on believing it led while a
    // standby could take the Lease (found by tests/integration/faults,
    // ApiServerFrozenFor30Seconds). client-go bounds each renewal by the renew deadline likewise.
    kube::ClientConfig election_config = *config;
    election_config.request_timeout =
        std::chrono::duration_cast<std::chrono::seconds>(election.renew_deadline);
    election_config.max_attempts = 1;
    auto election_client = kube::NewRestClient(election_config);
    if (!election_client.ok()) {
      std::cerr << "zhisuan-controller: API client: " << election_client.status().message() << "\n";
      return 1;
    }
    auto created = kube::LeaderElector::Create(
        std::make_shared<CountingApiClient>(*election_client, *registry), election, callbacks);
    if (!created.ok()) {
      std::cerr << "zhisuan-controller: --leader-election-id: " << created.status().message()
                << "\n";
      return 2;
    }
    elector = std::move(created).value();
    elector->Start();
  }

  // Readiness and (without election) the workers wait for the caches, but not for ever: a signal
  // still stops the process promptly.
  std::thread sync_waiter([&] {
    while (!shutting_down.load() && !controller.WaitForSync(std::chrono::milliseconds(500))) {
    }
    if (shutting_down.load()) return;
    ZLOG(Info) << "caches synced";
    if (exposer) exposer->RegisterCollectable(ready, "/readyz");
    if (!elector) metrics.SetLeader(true);
    if (leading.load()) controller.StartWorkers();
  });

  int received = 0;
  sigwait(&signals, &received);
  ZLOG(Info) << "signal " << received << ": shutting down";
  shutting_down.store(true);
  sync_waiter.join();
  if (elector) elector->Stop();  // releases the Lease so a successor takes over at once
  controller.Stop();
  recorder.Stop();
  return 0;
}

}  // namespace
}  // namespace zhisuan::controller

int main(int argc, char** argv) { return zhisuan::controller::Run(argc, argv); }
