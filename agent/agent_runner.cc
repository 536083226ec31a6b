#include "agent/agent_runner.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/agent_state.h"
#include "agent/discovery/pci/pci_parsers.h"
#include "agent/dra/kubelet_plugin_options.h"
#include "agent/flops/measured_flops_scheduler.h"
#include "agent/flops_measure_endpoint.h"
#include "agent/kubernetes_integration.h"
#include "agent/metrics/metrics_exposition.h"
#include "agent/metrics/sampler.h"
#include "agent/probe_gate.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/strings.h"
#include "kube/config.h"
#include "kube/rest_client.h"

namespace zhisuan::agent {
namespace {

std::string NodeName(const AgentConfig& config) {
  if (!config.node_name.empty()) return config.node_name;
  // Read once at start-up, before any thread that could change the environment exists.
  // NOLINTNEXTLINE(concurrency-mt-unsafe)
  if (const char* env = std::getenv("NODE_NAME"); env != nullptr && *env != '\0') return env;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) return host;
  return "unknown";
}

int CpuProbeThreads(const CpuInfo& cpu) {
  if (cpu.physical_cores > 0) return cpu.physical_cores;
  const unsigned int logical = std::thread::hardware_concurrency();
  return logical > 0 ? static_cast<int>(logical) : 1;
}

std::vector<FlopsProbePtr> MakeProbes(const AgentConfig& config, const CpuInfo& cpu) {
  std::vector<FlopsProbePtr> probes;
  probes.push_back(MakeCpuFmaProbe(CpuProbeThreads(cpu), config.flops_probe_duration));
  probes.push_back(MakeCudaMmaProbe(config.libcuda_library, config.flops_probe_duration));
  return probes;
}

// PCI ids from sysfs, for matching a CUDA device to the peak table without NVML.
std::optional<std::pair<uint16_t, uint16_t>> PciIds(const FileReader& sysfs,
                                                    const std::string& bus_id) {
  auto vendor = sysfs.Read(StrCat("/bus/pci/devices/", bus_id, "/vendor"));
  auto device = sysfs.Read(StrCat("/bus/pci/devices/", bus_id, "/device"));
  if (!vendor.ok() || !device.ok()) return std::nullopt;
  StatusOr<uint16_t> vendor_id = pci::ParsePciId(*vendor);
  StatusOr<uint16_t> device_id = pci::ParsePciId(*device);
  if (!vendor_id.ok() || !device_id.ok()) return std::nullopt;
  return std::make_pair(*vendor_id, *device_id);
}

// One gate for every probe run (start-up, SIGUSR1, POST /flops/measure, --measure-flops-once). In
// device-plugin mode pods may hold devices, so an absent pod-resources socket is not "free".
ProbeGateOptions GateOptions(const AgentConfig& config, const KubernetesOptions& kubernetes) {
  return {.busy_utilization_ratio = config.flops_probe_busy_utilization_ratio,
          .pod_resources_required =
              kubernetes.enabled && kubernetes.advertise == AdvertiseMode::kDevicePlugin};
}

// A client for the API server's reviews (TokenReview, SubjectAccessReview).
StatusOr<kube::ApiClientPtr> ReviewClient(const KubernetesOptions& kubernetes) {
  if (!kubernetes.enabled) {
    return InvalidArgumentError("needs the API server to authorise requests (--kubernetes=true)");
  }
  auto resolved = kube::ResolveClientConfig(kubernetes.kubeconfig, kubernetes.kube_context);
  if (!resolved.ok()) return resolved.status().Annotate("--kubeconfig");
  return kube::NewRestClient(*resolved);
}

// The HTTPS context for --metrics-tls-*, or null for plain HTTP.
StatusOr<std::shared_ptr<TlsServerContext>> MetricsTls(const AgentConfig& config) {
  if (!config.metrics_tls.enabled()) return std::shared_ptr<TlsServerContext>();
  auto tls = TlsServerContext::Create(config.metrics_tls);
  if (!tls.ok()) return tls.status().Annotate("--metrics-tls-cert-file/--metrics-tls-key-file");
  return tls;
}

// The reviewer for --metrics-auth=kubernetes, or null when /metrics is open.
StatusOr<kube::RequestAuthorizerPtr> MetricsAuthorizer(const AgentConfig& config,
                                                       const KubernetesOptions& kubernetes,
                                                       const ClockPtr& clock) {
  if (config.metrics_auth == kube::MetricsAuth::kNone) return kube::RequestAuthorizerPtr();
  auto client = ReviewClient(kubernetes);
  if (!client.ok()) return client.status().Annotate("--metrics-auth=kubernetes");
  kube::KubernetesAuthorizerOptions options;
  options.attributes = kube::MetricsAccess();
  return kube::MakeKubernetesAuthorizer(*client, std::move(options), clock);
}

// POST /flops/measure, authenticated and authorised by the API server. The scheduler exists only
// after discovery, so the trigger reads it through `flops` (null until then: busy).
StatusOr<std::unique_ptr<FlopsMeasureEndpoint>> MakeFlopsMeasureEndpoint(
    const AgentConfig& config, const KubernetesOptions& kubernetes,
    const std::atomic<MeasuredFlopsScheduler*>& flops, const ClockPtr& clock) {
  auto client = ReviewClient(kubernetes);
  if (!client.ok()) return client.status();
  kube::KubernetesAuthorizerOptions options;
  options.attributes = FlopsMeasureAccess(NodeName(config));
  FlopsMeasureEndpoint::Trigger trigger{
      .busy =
          [&flops] {
            MeasuredFlopsScheduler* scheduler = flops.load();
            return scheduler == nullptr || scheduler->Busy();
          },
      .request =
          [&flops] {
            if (MeasuredFlopsScheduler* scheduler = flops.load()) scheduler->Request();
          },
  };
  return std::make_unique<FlopsMeasureEndpoint>(
      kube::MakeKubernetesAuthorizer(*client, std::move(options), clock), std::move(trigger), clock,
      config.flops_measure_min_interval);
}

// The kubelet DRA plugin, with a client of its own: it reads ResourceClaims, which nothing else in
// the agent does. Accelerators come from the latest snapshot, so a claim is prepared against what
// the node has now.
StatusOr<std::unique_ptr<dra::KubeletPlugin>> StartDraKubeletPlugin(
    const dra::KubeletPluginOptions& options, const KubernetesOptions& kubernetes,
    const std::string& node_name, const AgentStateStore& store, const ClockPtr& clock) {
  if (!kubernetes.enabled) {
    return InvalidArgumentError("needs the API server to read ResourceClaims (--kubernetes=true)");
  }
  auto resolved = kube::ResolveClientConfig(kubernetes.kubeconfig, kubernetes.kube_context);
  if (!resolved.ok()) return resolved.status().Annotate("--kubeconfig");
  resolved->user_agent = StrCat("zhisuan-agent/", ZHISUAN_VERSION, " (dra)");
  auto client = kube::NewRestClient(*resolved, clock);
  if (!client.ok()) return client.status();
  return dra::StartKubeletPlugin(options, node_name, *client, [&store] {
    std::vector<Accelerator> accelerators;
    for (const auto& device : store.Load()->devices) accelerators.push_back(device.accelerator);
    return accelerators;
  });
}

}  // namespace

void BlockAgentSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

std::string MeasureFlopsOnceJson(const AgentConfig& config, const KubernetesOptions& kubernetes) {
  const FileReaderPtr sysfs = MakeRootedFileReader(config.discovery.sysfs_root);
  const FileReaderPtr procfs = MakeRootedFileReader(config.discovery.procfs_root);
  StatusOr<CpuInfo> cpu = DiscoverCpu(*sysfs, *procfs);
  const CpuInfo cpu_info = cpu.ok() ? *cpu : CpuInfo{};
  // The same gate as the running agent's: one sample of the devices (UUIDs and utilisation),
  // then the kubelet's allocations. A one-shot run on a node is no licence to borrow a pod's GPU.
  std::vector<DiscoveryBackendPtr> backends = MakeDiscoveryBackends(config.discovery);
  std::vector<DiscoveryBackend*> backend_views;
  backend_views.reserve(backends.size());
  for (auto& backend : backends) backend_views.push_back(backend.get());
  AgentStateStore store;
  Sampler sampler({.node_name = NodeName(config),
                   .sample_interval = config.sample_interval,
                   .average_power_window = config.energy_average_window},
                  {.discover = [&] { return DiscoverNode(backends, *sysfs, *procfs); },
                   .backends = backend_views,
                   .health = nullptr,
                   .energy = nullptr,
                   .peak_table = &PeakFlopsTable::BuiltIn(),
                   .flops = nullptr,
                   .http_errors = nullptr},
                  store, SystemClock());
  sampler.Discover();
  const ProbeGate gate(store, MakePodResourcesClient(config.pod_resources_socket),
                       GateOptions(config, kubernetes));
  MeasuredFlopsScheduler scheduler(
      MakeProbes(config, cpu_info),
      [&gate](std::string_view pci_bus_id) { return gate.SkipReason(pci_bus_id); }, SystemClock());
  scheduler.RunOnce();
  const MeasuredFlopsResults results = scheduler.Results();

  nlohmann::json report;
  report["cpu"] = {{"model", cpu_info.model},
                   {"physical_cores", cpu_info.physical_cores},
                   {"max_mhz", cpu_info.max_mhz},
                   {"kernel_selected", std::string(SelectedCpuFmaKernel())}};
  if (!cpu.ok()) report["cpu"]["discovery_error"] = cpu.status().ToString();
  // The peak at the clock the probe measured (nominal where it could not), and which one it is.
  const CpuPeakClock cpu_clock = ChooseCpuPeakClock(cpu_info, results.measurements);
  const PeakFlops cpu_peak = CpuPeakFlops(cpu_info, cpu_clock);
  report["cpu"]["peak_clock_mhz"] = cpu_clock.mhz;
  report["cpu"]["peak_clock_source"] = std::string(CpuClockSourceName(cpu_clock.source));
  nlohmann::json measurements = nlohmann::json::array();
  for (const auto& m : results.measurements) {
    nlohmann::json entry = {{"target", m.target},
                            {"name", m.name},
                            {"precision", std::string(PrecisionName(m.precision))},
                            {"kernel", m.kernel},
                            {"status", m.status.ToString()},
                            {"measured_flops", m.flops},
                            {"seconds", m.seconds},
                            {"source", std::string(m.Source())}};
    if (!m.stand_in.empty()) entry["stand_in"] = m.stand_in;
    if (m.threads > 0) entry["threads"] = m.threads;
    if (m.clock_mhz > 0) entry["clock_mhz"] = m.clock_mhz;
    PeakFlops peak;
    if (m.target == "cpu") {
      peak = cpu_peak;
    } else if (auto ids = PciIds(*sysfs, m.target)) {
      Accelerator accelerator;
      accelerator.pci_vendor_id = ids->first;
      accelerator.pci_device_id = ids->second;
      peak = PeakFlopsTable::BuiltIn().ForAccelerator(accelerator);
      char id[16];
      std::snprintf(id, sizeof id, "%04x:%04x", ids->first, ids->second);
      entry["pci_id"] = id;
    }
    const double peak_flops = peak.flops[static_cast<size_t>(m.precision)];
    entry["peak_flops"] = peak_flops;
    entry["peak_method"] = std::string(PeakFlopsMethodName(peak.method));
    entry["peak_source"] = peak.source;
    if (peak_flops > 0 && m.status.ok()) {
      entry["measured_to_peak_ratio"] = m.flops / peak_flops;
      // Above kSuspectPeakRatio the peak is wrong: a caller must not read the ratio as a target
      // met.
      entry["peak_suspect"] = PeakLooksSuspect(m.flops, peak_flops);
    }
    measurements.push_back(std::move(entry));
  }
  report["measurements"] = std::move(measurements);
  nlohmann::json probes = nlohmann::json::object();
  for (const auto& [probe, status] : results.probe_status) probes[probe] = status.ToString();
  report["probes"] = std::move(probes);
  return report.dump(2);
}

int RunAgent(const AgentConfig& config, const KubernetesOptions& kubernetes_options,
             const dra::KubeletPluginOptions& dra_options) {
  const ClockPtr clock = SystemClock();
  const FileReaderPtr sysfs = MakeRootedFileReader(config.discovery.sysfs_root);
  const FileReaderPtr procfs = MakeRootedFileReader(config.discovery.procfs_root);

  // Bind first: a taken or malformed address, or unusable TLS files, are start-up errors, before
  // any hardware is touched.
  StatusOr<std::shared_ptr<TlsServerContext>> tls = MetricsTls(config);
  if (!tls.ok()) {
    ZLOG(Error) << tls.status();
    return 1;
  }
  StatusOr<kube::RequestAuthorizerPtr> metrics_authorizer =
      MetricsAuthorizer(config, kubernetes_options, clock);
  if (!metrics_authorizer.ok()) {
    ZLOG(Error) << metrics_authorizer.status();
    return 2;
  }
  HttpServerOptions http_options;
  http_options.tls = *tls;
  StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Create(config.listen_address, std::move(http_options));
  if (!server.ok()) {
    ZLOG(Error) << server.status().Annotate("--listen-address");
    return 1;
  }

  std::vector<DiscoveryBackendPtr> backends = MakeDiscoveryBackends(config.discovery);
  std::vector<DiscoveryBackend*> backend_views;
  backend_views.reserve(backends.size());
  for (auto& backend : backends) backend_views.push_back(backend.get());
  DeviceHealthTracker health(config.health, clock);
  EnergyProfileSource energy(config.energy_profile, config.energy_profile_file,
                             MakeRootedFileReader(""), clock, config.energy_feed_max_age);
  AgentStateStore store;

  // The probes need the CPU's core count, known only after discovery, so the scheduler is
  // created then and handed to the sampler.
  std::unique_ptr<MeasuredFlopsScheduler> flops;
  SamplerSources sources{
      .discover = [&] { return DiscoverNode(backends, *sysfs, *procfs); },
      .backends = backend_views,
      .health = &health,
      .energy = &energy,
      .peak_table = &PeakFlopsTable::BuiltIn(),
      .flops = nullptr,
      .http_errors = [&server] { return (*server)->errors(); },
  };
  MetricsExposition exposition(store, MakeDefaultCollectors());
  HttpServer& http = **server;
  std::unique_ptr<FlopsMeasureEndpoint> flops_endpoint;
  HttpHandler metrics = [&](const HttpRequest&) {
    return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", exposition.Render()};
  };
  if (*metrics_authorizer) {
    metrics = kube::RequireAccess(**metrics_authorizer, "GET /metrics", std::move(metrics));
  }
  if (!config.metrics_tls.client_ca_file.empty()) {
    metrics = RequireClientCertificate(std::move(metrics));
  }
  http.Handle("GET", "/metrics", std::move(metrics));
  // The kubelet's probes carry no token and, with TLS, verify no certificate: /healthz and /readyz
  // stay open. They reveal only "ok" or "not ready".
  http.Handle("GET", "/healthz", [](const HttpRequest&) { return HttpResponse{200, {}, "ok\n"}; });
  http.Handle("GET", "/readyz", [&](const HttpRequest&) {
    return store.Load()->ready ? HttpResponse{200, {}, "ok\n"}
                               : HttpResponse{503, {}, "discovery not done\n"};
  });
  std::atomic<MeasuredFlopsScheduler*> flops_view{nullptr};
  if (config.flops_measure_endpoint == FlopsMeasureEndpointMode::kAuthenticated) {
    StatusOr<std::unique_ptr<FlopsMeasureEndpoint>> endpoint =
        MakeFlopsMeasureEndpoint(config, kubernetes_options, flops_view, clock);
    if (!endpoint.ok()) {
      ZLOG(Error) << endpoint.status().Annotate("--flops-measure-endpoint=authenticated");
      return 2;
    }
    flops_endpoint = std::move(endpoint).value();
    http.Handle("POST", "/flops/measure",
                [&](const HttpRequest& request) { return flops_endpoint->Handle(request); });
  }
  http.Start();
  ZLOG(Info) << "zhisuan-agent " << ZHISUAN_VERSION << " serving on port " << http.port()
             << " for node " << NodeName(config);

  Sampler sampler({.node_name = NodeName(config),
                   .sample_interval = config.sample_interval,
                   .average_power_window = config.energy_average_window},
                  sources, store, clock);
  sampler.Discover();
  // Publishing needs a discovered inventory, so it starts only now. A cluster that cannot be
  // configured (no kubeconfig, no service account) is a start-up error, not a silent metrics-only
  // agent: a DaemonSet whose token mount failed must be noticed.
  std::unique_ptr<KubernetesIntegration> kubernetes;
  if (kubernetes_options.enabled) {
    KubernetesOptions options = kubernetes_options;
    options.sysfs_root = config.discovery.sysfs_root;  // the DRA slices' PCIe roots
    auto started = KubernetesIntegration::Start(options, NodeName(config), store, health, clock);
    if (!started.ok()) {
      ZLOG(Error) << "cannot start the Kubernetes integration: " << started.status()
                  << " (pass --kubeconfig, or --kubernetes=false to run without Kubernetes)";
      http.Stop();
      return 2;
    }
    kubernetes = std::move(*started);
  }
  std::unique_ptr<dra::KubeletPlugin> dra_plugin;
  if (dra_options.enabled) {
    auto started =
        StartDraKubeletPlugin(dra_options, kubernetes_options, NodeName(config), store, clock);
    if (!started.ok()) {
      ZLOG(Error) << started.status().Annotate("--dra-kubelet-plugin=true");
      kubernetes.reset();
      http.Stop();
      return 2;
    }
    dra_plugin = std::move(*started);
  }
  const CpuInfo cpu = store.Load()->cpu;
  const ProbeGate gate(store, MakePodResourcesClient(config.pod_resources_socket),
                       GateOptions(config, kubernetes_options));
  flops = std::make_unique<MeasuredFlopsScheduler>(
      MakeProbes(config, cpu),
      [&gate](std::string_view pci_bus_id) { return gate.SkipReason(pci_bus_id); }, clock);
  flops->Start(config.measure_flops_at_startup);
  flops_view.store(flops.get());
  sampler.SetFlopsScheduler(flops.get());
  sampler.Start();

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR1);
  while (true) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number == SIGUSR1) {
      ZLOG(Info) << "SIGUSR1: measuring FLOPS";
      flops->Request();
      continue;
    }
    ZLOG(Info) << "signal " << signal_number << ": shutting down";
    break;
  }
  dra_plugin.reset();  // the kubelet deregisters the driver when its sockets go
  kubernetes.reset();  // stops device plugins (removing their sockets) and the publisher first
  http.Stop();
  sampler.Stop();
  flops_view.store(nullptr);
  flops->Stop();
  return 0;
}

}  // namespace zhisuan::agent
