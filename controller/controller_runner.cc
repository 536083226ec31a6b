#include "controller/controller_runner.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <random>
#include <thread>

#include "common/http_server.h"
#include "common/log.h"
#include "common/strings.h"
#include "common/thread_guard.h"
#include "controller/api_request_metrics.h"
#include "controller/controller_metrics.h"
#include "controller/plan_executor.h"
#include "controller/pool_controller.h"
#include "kube/config.h"
#include "kube/event_recorder.h"
#include "kube/rest_client.h"

namespace zhisuan::controller {

ControllerRunLoop::ControllerRunLoop(ReconcileWorkers& workers, bool leader_elect,
                                     std::string lease, RunLoopHooks hooks)
    : workers_(workers),
      leader_elect_(leader_elect),
      lease_(std::move(lease)),
      hooks_(std::move(hooks)),
      leading_(!leader_elect) {}

kube::LeaderCallbacks ControllerRunLoop::LeaderCallbacks() {
  kube::LeaderCallbacks callbacks;
  callbacks.on_started_leading = [this] { OnStartedLeading(); };
  callbacks.on_stopped_leading = [this] { OnStoppedLeading(); };
  return callbacks;
}

void ControllerRunLoop::OnStartedLeading() {
  ZLOG(Info) << "leading (Lease " << lease_ << ")";
  if (hooks_.set_leader) hooks_.set_leader(true);
  // Whichever of leading and synced comes last starts the workers; StartWorkers is idempotent, so
  // the two racing to start them is harmless.
  leading_.store(true);
  if (!shutting_down_.load() && workers_.HasSynced()) workers_.StartWorkers();
}

void ControllerRunLoop::OnStoppedLeading() {
  leading_.store(false);  // closes the write gate before anything else
  if (hooks_.set_leader) hooks_.set_leader(false);
  if (shutting_down_.load()) return;
  ZLOG(Error) << "lost leadership; exiting";
  if (hooks_.exit_on_lost_leadership) {
    hooks_.exit_on_lost_leadership();
  } else {
    std::_Exit(1);
  }
}

void ControllerRunLoop::WaitForCachesThenStart() {
  while (!shutting_down_.load() && !workers_.WaitForSync(std::chrono::milliseconds(500))) {
  }
  if (shutting_down_.load()) return;
  ZLOG(Info) << "caches synced";
  if (hooks_.mark_ready) hooks_.mark_ready();
  if (!leader_elect_ && hooks_.set_leader) hooks_.set_leader(true);
  if (leading_.load()) workers_.StartWorkers();
}

void ControllerRunLoop::Run(LeadershipCampaign* campaign,
                            const std::function<void()>& wait_for_stop) {
  campaign_.store(campaign);
  if (campaign != nullptr) campaign->Start();
  std::thread sync_waiter(
      [this] { RunGuarded("cache-sync-wait", [this] { WaitForCachesThenStart(); }); });
  wait_for_stop();
  shutting_down_.store(true);
  sync_waiter.join();
  // Stop writing, then release: the workers finish their in-flight reconciles while this replica
  // still holds the Lease, so no write of ours lands after a successor has started.
  workers_.Stop();
  if (campaign != nullptr) campaign->Stop();  // releases the Lease so a successor takes over
}

bool ControllerRunLoop::MayWrite() const {
  if (!leader_elect_) return true;
  const LeadershipCampaign* campaign = campaign_.load();
  return leading_.load() && campaign != nullptr && campaign->HoldsLeadership();
}

namespace {

class PoolControllerWorkers final : public ReconcileWorkers {
 public:
  explicit PoolControllerWorkers(PoolController& controller) : controller_(controller) {}
  bool WaitForSync(std::chrono::milliseconds timeout) override {
    return controller_.WaitForSync(timeout);
  }
  bool HasSynced() override { return controller_.HasSynced(); }
  void StartWorkers() override { controller_.StartWorkers(); }
  void Stop() override { controller_.Stop(); }

 private:
  PoolController& controller_;
};

class ElectorCampaign final : public LeadershipCampaign {
 public:
  explicit ElectorCampaign(std::unique_ptr<kube::LeaderElector> elector)
      : elector_(std::move(elector)) {}
  void Start() override { elector_->Start(); }
  void Stop() override { elector_->Stop(); }
  bool HoldsLeadership() const override { return elector_->IsLeader(); }

 private:
  std::unique_ptr<kube::LeaderElector> elector_;
};

// The TLS files (checked now, so a bad flag fails the start) and the /metrics reviewer.
StatusOr<MetricsSecurity> MetricsSecurityFor(const ControllerConfig& config,
                                             const kube::ApiClientPtr& client) {
  MetricsSecurity security;
  if (config.metrics_tls.enabled()) {
    auto tls = TlsServerContext::Create(config.metrics_tls);
    if (!tls.ok()) return tls.status().Annotate("--metrics-tls-cert-file/--metrics-tls-key-file");
    security.tls = std::move(tls).value();
    security.require_client_certificate = !config.metrics_tls.client_ca_file.empty();
  }
  if (config.metrics_auth == kube::MetricsAuth::kKubernetes) {
    kube::KubernetesAuthorizerOptions options;
    options.attributes = kube::MetricsAccess();
    security.authorizer = kube::MakeKubernetesAuthorizer(client, std::move(options), SystemClock());
  }
  return security;
}

}  // namespace

struct MetricsEndpoint::Impl {
  kube::RequestAuthorizerPtr authorizer;  // before the server, which calls it
  std::unique_ptr<HttpServer> server;
  std::atomic<bool> ready{false};
};

StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Create(
    std::string_view address, const std::shared_ptr<prometheus::Registry>& registry,
    MetricsSecurity security) {
  HttpServerOptions options;
  options.thread_name = "metrics-http";
  options.tls = std::move(security.tls);
  auto server = HttpServer::Create(std::string(address), options);
  if (!server.ok()) return server.status();
  auto impl = std::make_unique<Impl>();
  impl->authorizer = std::move(security.authorizer);
  impl->server = std::move(server).value();
  Impl* state = impl.get();
  HttpHandler metrics = [registry](const HttpRequest&) {
    return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                        prometheus::TextSerializer().Serialize(registry->Collect())};
  };
  if (impl->authorizer) {
    metrics = kube::RequireAccess(*impl->authorizer, "GET /metrics", std::move(metrics));
  }
  if (security.require_client_certificate) {
    metrics = RequireClientCertificate(std::move(metrics));
  }
  impl->server->Handle("GET", "/metrics", std::move(metrics));
  impl->server->Handle("GET", "/healthz", [](const HttpRequest&) {
    return HttpResponse{200, {}, "ok\n"};
  });
  impl->server->Handle("GET", "/readyz", [state](const HttpRequest&) {
    return state->ready.load() ? HttpResponse{200, {}, "ok\n"}
                               : HttpResponse{503, {}, "caches not synced\n"};
  });
  impl->server->Start();
  return std::unique_ptr<MetricsEndpoint>(new MetricsEndpoint(std::move(impl)));
}

MetricsEndpoint::MetricsEndpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsEndpoint::~MetricsEndpoint() = default;

void MetricsEndpoint::MarkReady() { impl_->ready.store(true); }

int MetricsEndpoint::port() const { return impl_->server->port(); }

StatusOr<ApiClients> ConnectToApiServer(const ControllerConfig& config) {
  auto resolved = kube::ResolveClientConfig(config.kubeconfig, config.context);
  if (!resolved.ok()) return resolved.status().Annotate("--kubeconfig");
  ApiClients clients;
  auto client = kube::NewRestClient(*resolved);
  if (!client.ok()) return client.status().Annotate("API client");
  clients.client = *client;
  if (!config.leader_elect) return clients;
  // Leader election talks through its own client: one attempt per request (the elector retries
  // every retry period itself), timed out at the renew deadline. Through the shared client (30 s
  // timeout, 5 attempts) a renewal stuck on a stalled API server or a half-open connection
  // blocked far past the Lease's 15 s duration, so this replica went on believing it led while a
  // standby could take the Lease (found by tests/integration/faults,
  // ApiServerFrozenFor30Seconds). client-go bounds each renewal by the renew deadline likewise.
  kube::ClientConfig election_config = *resolved;
  election_config.request_timeout =
      std::chrono::duration_cast<std::chrono::seconds>(kube::LeaderElectionConfig{}.renew_deadline);
  election_config.max_attempts = 1;
  auto election_client = kube::NewRestClient(election_config);
  if (!election_client.ok()) return election_client.status().Annotate("API client");
  clients.election_client = *election_client;
  return clients;
}

std::string ControllerIdentity() {
  // Read at start-up; nothing in the process changes its environment.
  // NOLINTNEXTLINE(concurrency-mt-unsafe)
  if (const char* pod = std::getenv("POD_NAME"); pod != nullptr && *pod != '\0') return pod;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::random_device random;
  return StrCat(host, "_", std::to_string(random() % 1000000));
}

int RunController(const ControllerConfig& config, const ApiClients& clients,
                  const std::string& identity, const std::function<void()>& wait_for_stop) {
  auto registry = std::make_shared<prometheus::Registry>();
  ControllerMetrics metrics(registry);
  // Every request below is counted by verb and resource (API cost per reconcile, no relists).
  kube::ApiClientPtr counted_client =
      std::make_shared<CountingApiClient>(clients.client, *registry);
  std::unique_ptr<MetricsEndpoint> endpoint;
  if (config.metrics_address != "0") {
    auto security = MetricsSecurityFor(config, counted_client);
    if (!security.ok()) {
      std::cerr << "zhisuan-controller: " << security.status().message() << "\n";
      return 2;
    }
    auto created =
        MetricsEndpoint::Create(config.metrics_address, registry, std::move(security).value());
    if (!created.ok()) {
      std::cerr << "zhisuan-controller: --metrics-address=" << config.metrics_address << ": "
                << created.status().message() << "\n";
      return 2;
    }
    endpoint = std::move(created).value();
  }

  kube::EventRecorder recorder(counted_client, "zhisuan-controller", identity);
  RecorderEventSink events(recorder);
  PoolControllerOptions options;
  options.workers = config.workers;
  options.planner = config.planner;
  options.orphan_sweep_interval = config.orphan_sweep_interval;
  if (config.agent_pod_selector) {
    options.agent_pods = AgentPodSelector{config.agent_pod_namespace, *config.agent_pod_selector};
  }
  // The run loop needs the controller, so it is built below; no worker starts before it is set.
  const ControllerRunLoop* write_gate = nullptr;
  options.may_write = [&write_gate] { return write_gate != nullptr && write_gate->MayWrite(); };
  PoolController controller(counted_client, &events, &metrics, options);
  controller.StartInformers();
  ZLOG(Info) << "zhisuan-controller " << identity << " starting; waiting for caches";

  PoolControllerWorkers workers(controller);
  RunLoopHooks hooks;
  hooks.set_leader = [&metrics](bool leading) { metrics.SetLeader(leading); };
  hooks.mark_ready = [&endpoint] {
    if (endpoint) endpoint->MarkReady();
  };
  ControllerRunLoop loop(workers, config.leader_elect,
                         StrCat(config.lease_namespace, "/", config.lease_name), std::move(hooks));
  write_gate = &loop;
  std::unique_ptr<ElectorCampaign> campaign;
  if (config.leader_elect) {
    kube::LeaderElectionConfig election;
    election.lease_namespace = config.lease_namespace;
    election.lease_name = config.lease_name;
    election.identity = identity;
    auto elector = kube::LeaderElector::Create(
        std::make_shared<CountingApiClient>(clients.election_client, *registry), election,
        loop.LeaderCallbacks());
    if (!elector.ok()) {
      std::cerr << "zhisuan-controller: --leader-election-id: " << elector.status().message()
                << "\n";
      return 2;
    }
    campaign = std::make_unique<ElectorCampaign>(std::move(elector).value());
  }
  loop.Run(campaign.get(), wait_for_stop);
  recorder.Stop();
  return 0;
}

}  // namespace zhisuan::controller
