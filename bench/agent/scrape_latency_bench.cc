// /metrics latency: an in-process agent (sampler, collectors, HTTP server) over a fake backend
// with N devices, scraped over loopback TCP like Prometheus would, one connection per scrape.
// With --node-exporter-port P it also scrapes node_exporter's /metrics in the same run, so the two
// are measured side by side on the same machine under the same load.
//
//   scrape_latency_bench --devices 64 --scrapes 2000 [--node-exporter-port 19100]
// prints one line per target: name, scrapes, p50/p99/max milliseconds, response bytes.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "agent/metrics/collector.h"
#include "agent/metrics/metrics_exposition.h"
#include "agent/metrics/sampler.h"
#include "common/http_server.h"
#include "tests/harness/loopback_http.h"

namespace zhisuan::agent {
namespace {

class BenchBackend final : public DiscoveryBackend {
 public:
  explicit BenchBackend(int devices) {
    for (int i = 0; i < devices; ++i) {
      Accelerator a;
      a.index = i;
      a.uuid = "GPU-bench-" + std::to_string(i);
      a.vendor = Vendor::kNvidia;
      a.product = "H100-SXM5";
      char bus[32];
      std::snprintf(bus, sizeof bus, "0000:%02x:00.0", i + 1);
      a.pci_bus_id = bus;
      a.pci_vendor_id = 0x10de;
      a.pci_device_id = 0x2330;
      a.architecture = "hopper";
      a.memory_bytes = 85899345920;
      a.backend = "bench";
      accelerators_.push_back(a);
    }
  }
  std::string_view Name() const override { return "bench"; }
  StatusOr<std::vector<Accelerator>> Discover() override { return accelerators_; }
  StatusOr<DeviceTelemetry> Sample(const Accelerator& a) override {
    DeviceTelemetry t;
    t.utilization_ratio = 0.5;
    t.memory_used_bytes = 4e10;
    t.power_watts = 400 + a.index;
    t.power_limit_watts = 700;
    t.energy_joules = 1e6 + a.index;
    t.temperature_celsius = 55;
    t.clock_mhz = 1980;
    return t;
  }
  std::vector<HealthEvent> DrainHealthEvents() override { return {}; }

 private:
  std::vector<Accelerator> accelerators_;
};

// One scrape: connect, send, read to EOF. Returns milliseconds, or -1 on failure.
double Scrape(int port, size_t& bytes) {
  const auto start = std::chrono::steady_clock::now();
  // Connection: close so node_exporter's Go server ends the response the way ours does.
  const std::string response = harness::LoopbackExchange(
      port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  if (response.empty()) return -1;
  bytes = response.size();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

void Report(const char* name, int port, int scrapes) {
  std::vector<double> ms;
  size_t bytes = 0;
  for (int i = 0; i < scrapes; ++i) {
    const double took = Scrape(port, bytes);
    if (took >= 0) ms.push_back(took);
  }
  if (ms.empty()) {
    std::printf("%s scrapes=0 (could not connect to port %d)\n", name, port);
    return;
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[static_cast<size_t>(q * static_cast<double>(ms.size() - 1))];
  };
  std::printf("%s scrapes=%zu p50_ms=%.3f p99_ms=%.3f max_ms=%.3f bytes=%zu\n", name, ms.size(),
              at(0.5), at(0.99), ms.back(), bytes);
}

}  // namespace
}  // namespace zhisuan::agent

int main(int argc, char** argv) {
  using namespace zhisuan::agent;  // NOLINT(build/namespaces): a benchmark's main
  std::map<std::string, int> options = {
      {"--devices", 8}, {"--scrapes", 2000}, {"--node-exporter-port", 0}};
  for (int i = 1; i + 1 < argc; i += 2) options[argv[i]] = std::atoi(argv[i + 1]);

  BenchBackend backend(options["--devices"]);
  auto clock = zhisuan::SystemClock();
  DeviceHealthTracker health(HealthPolicy{}, clock);
  EnergyProfile profile;
  profile.source = "hydro";
  EnergyProfileSource energy(profile, "", zhisuan::MakeRootedFileReader(""));
  AgentStateStore store;
  SamplerSources sources;
  sources.discover = [&] {
    NodeInventory inventory;
    inventory.accelerators = *backend.Discover();
    inventory.cpu.model = "bench";
    inventory.cpu.physical_cores = 64;
    inventory.cpu.max_mhz = 3000;
    inventory.cpu.isa_flags = {"avx2", "fma", "avx512f"};
    inventory.backend_results = {{"bench", zhisuan::OkStatus()}};
    return inventory;
  };
  sources.backends = {&backend};
  sources.health = &health;
  sources.energy = &energy;
  sources.peak_table = &PeakFlopsTable::BuiltIn();
  Sampler sampler(SamplerOptions{"bench", std::chrono::seconds(5)}, sources, store, clock);
  sampler.Discover();
  MetricsExposition exposition(store, MakeDefaultCollectors());
  auto server = zhisuan::HttpServer::Create("127.0.0.1:0");
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 1;
  }
  (*server)->Handle("GET", "/metrics", [&](const zhisuan::HttpRequest&) {
    return zhisuan::HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                                 exposition.Render()};
  });
  (*server)->Start();
  sampler.Start();

  const int scrapes = options["--scrapes"];
  for (int i = 0; i < 50; ++i) {  // warm-up
    size_t bytes;
    Scrape((*server)->port(), bytes);
  }
  const std::string name = "zhisuan-agent/devices=" + std::to_string(options["--devices"]);
  Report(name.c_str(), (*server)->port(), scrapes);
  if (options["--node-exporter-port"] > 0) {
    Report("node-exporter", options["--node-exporter-port"], scrapes);
  }
  sampler.Stop();
  (*server)->Stop();
  return 0;
}
