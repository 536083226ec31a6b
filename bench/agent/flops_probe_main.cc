// A standalone FLOPS probe runner: the agent's CPU and CUDA probes without the rest of the agent
// (no prometheus-cpp, no yaml-cpp), for GPU hosts that lack the agent's build dependencies.
// Build by hand on such a host:
//   g++ -std=c++20 -O2 -pthread -I. bench/agent/flops_probe_main.cc agent/flops/cpu_fma_probe.cc
//         agent/flops/cuda_mma_probe.cc agent/flops/peak_flops_table.cc
//         agent/flops/cpu_peak_flops.cc agent/sku/sku_names.cc agent/device.cc
//         common/status.cc common/strings.cc common/log.cc common/dynamic_library.cc
//         -ldl -o flops-probe
//   ./flops-probe [libcuda path] [duration ms]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "agent/flops/flops_probe.h"
#include "agent/flops/peak_flops_table.h"

int main(int argc, char** argv) {
  using namespace zhisuan::agent;  // NOLINT(build/namespaces): a tool's main
  const std::string libcuda = argc > 1 ? argv[1] : "libcuda.so.1";
  const auto duration = std::chrono::milliseconds(argc > 2 ? std::atoi(argv[2]) : 500);
  const int threads = static_cast<int>(std::thread::hardware_concurrency());
  std::vector<FlopsProbePtr> probes;
  probes.push_back(MakeCudaMmaProbe(libcuda, duration));
  probes.push_back(MakeCpuFmaProbe(threads, duration));
  for (const auto& probe : probes) {
    auto measured = probe->Measure(nullptr);
    if (!measured.ok()) {
      std::printf("%s: %s\n", std::string(probe->Name()).c_str(),
                  measured.status().ToString().c_str());
      continue;
    }
    for (const auto& m : *measured) {
      std::printf("%s target=%s name=\"%s\" kernel=%s status=%s flops=%.4g seconds=%.3f threads=%d",
                  std::string(probe->Name()).c_str(), m.target.c_str(), m.name.c_str(),
                  m.kernel.c_str(), m.status.ToString().c_str(), m.flops, m.seconds, m.threads);
      if (m.clock_mhz > 0) std::printf(" clock_mhz=%.0f", m.clock_mhz);
      // H100 SXM5 bf16 dense peak from the table, for the ratio.
      if (m.target != "cpu") {
        const double peak = PeakFlopsTable::BuiltIn().Find(0x10de, 0x2330)->flops[3];
        std::printf(" ratio_vs_h100_sxm5_bf16_peak=%.3f", m.flops / peak);
      }
      std::printf("\n");
    }
  }
  return 0;
}
