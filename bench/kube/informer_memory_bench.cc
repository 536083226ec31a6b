// Informer memory per cached object: 10,000 realistic Node objects (labels, capacity, conditions,
// addresses, nodeInfo, images) created through the API, then one informer lists and watches them.
// The cost is the process RSS growth from before the informer starts to after it has synced,
// divided by the object count (malloc_trim first both times, so freed arenas do not count).
//
//   ZHISUAN_SOURCE_DIR=$PWD ZHISUAN_TOOLCHAIN_BIN=$(hack/toolchain.sh --print-bindir)
//   build/bench/kube/kube_informer_memory_bench [nodes=10000]
//
// Prints: informer_memory objects=N rss_delta_mib=.. bytes_per_object=.. json_bytes_per_object=..

#include <malloc.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/strings.h"
#include "kube/config.h"
#include "kube/informer.h"
#include "kube/rest_client.h"
#include "tests/harness/control_plane.h"

namespace {

using namespace std::chrono_literals;
using namespace zhisuan;
using namespace zhisuan::kube;

int64_t RssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (StartsWith(line, "VmRSS:")) {
      auto fields = StrSplit(StripWhitespace(line.substr(6)), ' ');
      auto kib = ParseInt64(fields[0]);
      return kib ? *kib * 1024 : -1;
    }
  }
  return -1;
}

// A GPU node as a kubelet and NFD would publish it.
Json NodeObject(int i) {
  const std::string name = StrCat("gpu-node-", i);
  Json labels = {
      {"kubernetes.io/hostname", name},
      {"kubernetes.io/os", "linux"},
      {"kubernetes.io/arch", "amd64"},
      {"beta.kubernetes.io/os", "linux"},
      {"beta.kubernetes.io/arch", "amd64"},
      {"node.kubernetes.io/instance-type", "p5.48xlarge"},
      {"topology.kubernetes.io/region", "cn-north-1"},
      {"topology.kubernetes.io/zone", StrCat("cn-north-1", static_cast<char>('a' + i % 3))},
      {"nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3"},
      {"nvidia.com/gpu.count", "8"},
      {"nvidia.com/cuda.driver.major", "550"},
      {"zhisuan.io/pool", StrCat("pool-", i % 20)}};
  return Json{{"apiVersion", "v1"},
              {"kind", "Node"},
              {"metadata",
               {{"name", name},
                {"labels", labels},
                {"annotations",
                 {{"node.alpha.kubernetes.io/ttl", "0"},
                  {"volumes.kubernetes.io/controller-managed-attach-detach", "true"}}}}},
              {"spec",
               {{"podCIDR", StrCat("10.", i / 256 % 256, ".", i % 256, ".0/24")},
                {"providerID", StrCat("aws:///cn-north-1a/i-0", 1000000 + i)}}}};
}

Json NodeStatus(int i) {
  Json conditions = Json::array();
  for (const char* type : {"MemoryPressure", "DiskPressure", "PIDPressure", "Ready"}) {
    const bool ready = std::string(type) == "Ready";
    conditions.push_back({{"type", type},
                          {"status", ready ? "True" : "False"},
                          {"lastHeartbeatTime", "2026-11-23T03:00:00Z"},
                          {"lastTransitionTime", "2026-11-20T10:00:00Z"},
                          {"reason", ready ? "KubeletReady" : StrCat("KubeletHasNo", type)},
                          {"message", ready ? "kubelet is posting ready status"
                                            : "kubelet has sufficient resources"}});
  }
  Json images = Json::array();
  for (int k = 0; k < 8; ++k) {
    images.push_back({{"names",
                       {StrCat("registry.example.com/ml/image-", k,
                               "@sha256:", std::string(64, static_cast<char>('a' + k))),
                        StrCat("registry.example.com/ml/image-", k, ":v1.", k)}},
                      {"sizeBytes", 1'000'000'000 + k}});
  }
  const Json resources = {{"cpu", "192"},          {"memory", "2097152Mi"},
                          {"nvidia.com/gpu", "8"}, {"ephemeral-storage", "7500Gi"},
                          {"pods", "110"},         {"hugepages-1Gi", "0"},
                          {"hugepages-2Mi", "0"}};
  return Json{{"capacity", resources},
              {"allocatable", resources},
              {"conditions", conditions},
              {"addresses",
               {{{"type", "InternalIP"}, {"address", StrCat("10.0.", i / 256 % 256, ".", i % 256)}},
                {{"type", "Hostname"}, {"address", StrCat("gpu-node-", i)}}}},
              {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}},
              {"nodeInfo",
               {{"machineID", std::string(32, 'f')},
                {"systemUUID", StrCat("ec2", std::string(29, 'e'))},
                {"bootID", StrCat("b00", i)},
                {"kernelVersion", "6.1.0-27-cloud-amd64"},
                {"osImage", "Debian GNU/Linux 12 (bookworm)"},
                {"containerRuntimeVersion", "containerd://1.7.24"},
                {"kubeletVersion", "v1.34.4"},
                {"kubeProxyVersion", "v1.34.4"},
                {"operatingSystem", "linux"},
                {"architecture", "amd64"}}},
              {"images", images}};
}

int Run(int count) {
  auto plane = harness::ControlPlane::Start({});
  if (!plane.ok()) {
    std::fprintf(stderr, "control plane: %s\n", plane.status().ToString().c_str());
    return 1;
  }
  auto config = LoadKubeconfig((*plane)->admin_kubeconfig());
  if (!config.ok()) return 1;
  config->qps = 0;
  auto client = NewRestClient(*config);
  if (!client.ok()) return 1;

  std::atomic<int> next{0}, failures{0};
  std::atomic<int64_t> json_bytes{0};
  std::vector<std::thread> creators;
  for (int t = 0; t < 8; ++t) {
    creators.emplace_back([&] {
      for (int i = next++; i < count; i = next++) {
        auto created = (*client)->Create(kNodes, "", NodeObject(i));
        if (!created.ok()) {
          ++failures;
          continue;
        }
        (*created)["status"] = NodeStatus(i);
        auto updated = (*client)->UpdateStatus(kNodes, *created);
        if (!updated.ok()) {
          ++failures;
          continue;
        }
        json_bytes += static_cast<int64_t>(updated->dump().size());
      }
    });
  }
  for (auto& creator : creators) creator.join();
  if (failures > 0) std::fprintf(stderr, "%d node writes failed\n", failures.load());

  malloc_trim(0);
  const int64_t before = RssBytes();
  const int64_t heap_before = static_cast<int64_t>(mallinfo2().uordblks);
  InformerOptions options;
  options.type = kNodes;
  Informer informer(*client, options);
  informer.Start();
  if (!informer.WaitForSync(300s)) return 1;
  const size_t cached = informer.store().Size();
  malloc_trim(0);
  const int64_t after = RssBytes();
  // Bytes the allocator has handed out and not got back: the cache itself, without fragmentation.
  const int64_t heap_after = static_cast<int64_t>(mallinfo2().uordblks);
  informer.Stop();
  const double delta = static_cast<double>(after - before);
  std::printf(
      "informer_memory objects=%zu rss_before_mib=%.1f rss_after_mib=%.1f rss_delta_mib=%.1f "
      "bytes_per_object=%.0f heap_bytes_per_object=%.0f json_bytes_per_object=%.0f lists=%llu\n",
      cached, before / 1048576.0, after / 1048576.0, delta / 1048576.0,
      cached ? delta / static_cast<double>(cached) : 0.0,
      cached ? static_cast<double>(heap_after - heap_before) / static_cast<double>(cached) : 0.0,
      count - failures ? static_cast<double>(json_bytes.load()) / (count - failures) : 0.0,
      static_cast<unsigned long long>(informer.metrics().lists()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc > 1 ? std::atoi(argv[1]) : 10'000); }
