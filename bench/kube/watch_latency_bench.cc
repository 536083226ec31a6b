// Watch delivery latency: how long from a client starting a write to an informer's handler seeing
// it, at a steady write rate, against a real etcd + kube-apiserver on loopback.
//
//   ZHISUAN_SOURCE_DIR=$PWD ZHISUAN_TOOLCHAIN_BIN=$(hack/toolchain.sh --print-bindir)
//   build/bench/kube/kube_watch_latency_bench [writes_per_second=500] [seconds=20]
//
// Prints one result line:
//   watch_latency rate=<achieved>/s writes=N delivered=N p50_ms=.. p99_ms=.. max_ms=.. relists=N
// Each write is a merge patch of data.t (the monotonic send time in ns) on one of 100 ConfigMaps,
// issued by 4 writer threads on a fixed schedule; the handler computes now - t.

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>
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

int64_t MonotonicNanos() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000'000LL + now.tv_nsec;
}

double Percentile(std::vector<int64_t>& samples, double q) {
  if (samples.empty()) return 0;
  const size_t at = std::min(samples.size() - 1, static_cast<size_t>(q * samples.size()));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(at),
                   samples.end());
  return static_cast<double>(samples[at]) / 1e6;
}

int Run(int rate, int seconds) {
  auto plane = harness::ControlPlane::Start({});
  if (!plane.ok()) {
    std::fprintf(stderr, "control plane: %s\n", plane.status().ToString().c_str());
    return 1;
  }
  auto config = LoadKubeconfig((*plane)->admin_kubeconfig());
  if (!config.ok()) return 1;
  config->qps = 0;  // the benchmark drives the rate itself
  auto client = NewRestClient(*config);
  if (!client.ok()) {
    std::fprintf(stderr, "client: %s\n", client.status().ToString().c_str());
    return 1;
  }
  const std::string ns = "default";
  constexpr int kObjects = 100;
  for (int i = 0; i < kObjects; ++i) {
    auto created = (*client)->Create(
        kConfigMaps, ns, Json{{"metadata", {{"name", StrCat("lat-", i)}}}, {"data", {{"t", "0"}}}});
    if (!created.ok()) {
      std::fprintf(stderr, "create: %s\n", created.status().ToString().c_str());
      return 1;
    }
  }

  std::mutex mu;
  std::vector<int64_t> latencies;
  latencies.reserve(static_cast<size_t>(rate) * static_cast<size_t>(seconds));
  auto record = [&](const ObjectPtr& object) {
    const int64_t now = MonotonicNanos();
    auto sent = ParseInt64(object->value("/data/t"_json_pointer, std::string()));
    if (!sent || *sent == 0) return;
    std::lock_guard lock(mu);
    latencies.push_back(now - *sent);
  };
  InformerOptions options;
  options.type = kConfigMaps;
  options.ns = ns;
  Informer informer(*client, options);
  informer.AddEventHandlers(
      {record, [&](const ObjectPtr&, const ObjectPtr& object) { record(object); }, nullptr});
  informer.Start();
  if (!informer.WaitForSync(30s)) return 1;

  constexpr int kWriters = 4;
  std::atomic<int> writes{0}, failures{0};
  const int total = rate * seconds;
  const int64_t start = MonotonicNanos() + 100'000'000;
  const int64_t interval = 1'000'000'000LL / rate;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = w; i < total; i += kWriters) {
        const int64_t due = start + i * interval;
        while (MonotonicNanos() < due) {
          std::this_thread::sleep_for(std::chrono::nanoseconds(due - MonotonicNanos()));
        }
        const int64_t sent = MonotonicNanos();
        auto patched = (*client)->Patch(kConfigMaps, ns, StrCat("lat-", i % kObjects),
                                        PatchType::kMerge, Json{{"data", {{"t", StrCat(sent)}}}});
        if (patched.ok()) {
          ++writes;
        } else {
          ++failures;
        }
      }
    });
  }
  for (auto& writer : writers) writer.join();
  const double elapsed = static_cast<double>(MonotonicNanos() - start) / 1e9;
  std::this_thread::sleep_for(2s);  // let the last events arrive
  informer.Stop();

  std::lock_guard lock(mu);
  const size_t delivered = latencies.size();
  const double p50 = Percentile(latencies, 0.50);
  const double p99 = Percentile(latencies, 0.99);
  const double max =
      latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end()) / 1e6;
  std::printf(
      "watch_latency rate=%.0f/s writes=%d failures=%d delivered=%zu p50_ms=%.2f p99_ms=%.2f "
      "max_ms=%.2f relists=%llu\n",
      writes.load() / elapsed, writes.load(), failures.load(), delivered, p50, p99, max,
      static_cast<unsigned long long>(informer.metrics().relists()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int rate = argc > 1 ? std::atoi(argv[1]) : 500;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 20;
  return Run(rate, seconds);
}
