#include "agent/agent_runner.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/agent_state.h"
#include "agent/discovery/pci/pci_parsers.h"
#include "agent/flops/measured_flops_scheduler.h"
#include "agent/kubernetes_integration.h"
#include "agent/metrics/http_server.h"
#include "agent/metrics/metrics_exposition.h"
#include "agent/metrics/sampler.h"
#include "common/log.h"
#include "common/strings.h"

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

}  // namespace

void BlockAgentSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

std::string MeasureFlopsOnceJson(const AgentConfig& config) {
  const FileReaderPtr sysfs = MakeRootedFileReader(config.discovery.sysfs_root);
  const FileReaderPtr procfs = MakeRootedFileReader(config.discovery.procfs_root);
  StatusOr<CpuInfo> cpu = DiscoverCpu(*sysfs, *procfs);
  const CpuInfo cpu_info = cpu.ok() ? *cpu : CpuInfo{};
  MeasuredFlopsScheduler scheduler(MakeProbes(config, cpu_info), nullptr, SystemClock());
  scheduler.RunOnce();
  const MeasuredFlopsResults results = scheduler.Results();

  nlohmann::json report;
  report["cpu"] = {{"model", cpu_info.model},
                   {"physical_cores", cpu_info.physical_cores},
                   {"max_mhz", cpu_info.max_mhz},
                   {"kernel_selected", std::string(SelectedCpuFmaKernel())}};
  if (!cpu.ok()) report["cpu"]["discovery_error"] = cpu.status().ToString();
  const PeakFlops cpu_peak = CpuPeakFlops(cpu_info);
  nlohmann::json measurements = nlohmann::json::array();
  for (const auto& m : results.measurements) {
    nlohmann::json entry = {{"target", m.target},
                            {"name", m.name},
                            {"precision", std::string(PrecisionName(m.precision))},
                            {"kernel", m.kernel},
                            {"status", m.status.ToString()},
                            {"measured_flops", m.flops},
                            {"seconds", m.seconds}};
    if (m.threads > 0) entry["threads"] = m.threads;
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
    if (peak_flops > 0 && m.status.ok()) entry["measured_to_peak_ratio"] = m.flops / peak_flops;
    measurements.push_back(std::move(entry));
  }
  report["measurements"] = std::move(measurements);
  nlohmann::json probes = nlohmann::json::object();
  for (const auto& [probe, status] : results.probe_status) probes[probe] = status.ToString();
  report["probes"] = std::move(probes);
  return report.dump(2);
}

int RunAgent(const AgentConfig& config, const KubernetesOptions& kubernetes_options) {
  const ClockPtr clock = SystemClock();
  const FileReaderPtr sysfs = MakeRootedFileReader(config.discovery.sysfs_root);
  const FileReaderPtr procfs = MakeRootedFileReader(config.discovery.procfs_root);

  // Bind first: a taken or malformed address is a start-up error, before any hardware is touched.
  StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Create(config.listen_address);
  if (!server.ok()) {
    ZLOG(Error) << server.status();
    return 1;
  }

  std::vector<DiscoveryBackendPtr> backends = MakeDiscoveryBackends(config.discovery);
  std::vector<DiscoveryBackend*> backend_views;
  backend_views.reserve(backends.size());
  for (auto& backend : backends) backend_views.push_back(backend.get());
  DeviceHealthTracker health(config.health, clock);
  EnergyProfileSource energy(config.energy_profile, config.energy_profile_file,
                             MakeRootedFileReader(""));
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
  http.Handle("GET", "/metrics", [&](const std::string&) {
    return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", exposition.Render()};
  });
  http.Handle("GET", "/healthz", [](const std::string&) { return HttpResponse{200, {}, "ok\n"}; });
  http.Handle("GET", "/readyz", [&](const std::string&) {
    return store.Load()->ready ? HttpResponse{200, {}, "ok\n"}
                               : HttpResponse{503, {}, "discovery not done\n"};
  });
  std::atomic<MeasuredFlopsScheduler*> flops_view{nullptr};
  http.Handle("POST", "/flops/measure", [&](const std::string&) {
    MeasuredFlopsScheduler* scheduler = flops_view.load();
    if (scheduler == nullptr) return HttpResponse{503, {}, "not ready\n"};
    const bool queued = scheduler->Request();
    return HttpResponse{202, "application/json",
                        StrCat("{\"queued\":", queued ? "true" : "false", "}\n")};
  });
  http.Start();
  ZLOG(Info) << "zhisuan-agent " << ZHISUAN_VERSION << " serving on port " << http.port()
             << " for node " << NodeName(config);

  Sampler sampler({.node_name = NodeName(config), .sample_interval = config.sample_interval},
                  sources, store, clock);
  sampler.Discover();
  // Publishing needs a discovered inventory, so it starts only now. A cluster that cannot be
  // configured (no kubeconfig, no service account) is a start-up error, not a silent metrics-only
  // agent: a DaemonSet whose token mount failed must be noticed.
  std::unique_ptr<KubernetesIntegration> kubernetes;
  if (kubernetes_options.enabled) {
    auto started =
        KubernetesIntegration::Start(kubernetes_options, NodeName(config), store, health, clock);
    if (!started.ok()) {
      ZLOG(Error) << "cannot start the Kubernetes integration: " << started.status()
                  << " (pass --kubeconfig, or --kubernetes=false to run without Kubernetes)";
      http.Stop();
      return 2;
    }
    kubernetes = std::move(*started);
  }
  const CpuInfo cpu = store.Load()->cpu;
  const double busy = config.flops_probe_busy_utilization_ratio;
  flops = std::make_unique<MeasuredFlopsScheduler>(
      MakeProbes(config, cpu),
      [&store, busy](std::string_view pci_bus_id) {
        for (const auto& device : store.Load()->devices) {
          if (device.accelerator.pci_bus_id == pci_bus_id) {
            return device.telemetry.utilization_ratio.value_or(0) > busy;
          }
        }
        return false;
      },
      clock);
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
  kubernetes.reset();  // stops device plugins (removing their sockets) and the publisher first
  http.Stop();
  sampler.Stop();
  flops_view.store(nullptr);
  flops->Stop();
  return 0;
}

}  // namespace zhisuan::agent
