// What one reconcile costs the controller at fleet scale, stage by stage, with no API server: the
// fleet benchmark (bench/fleet) measures end-to-end latency, where the controller's CPU is mixed
// with etcd's, the API server's and kwok's on the same two cores; this one isolates the three
// per-reconcile stages of PoolController::Reconcile on the same objects:
//   snapshot  ObservationCache::Snapshot(), the planner's view of the cluster;
//   plan      PlanPools for the one pool the queue handed out;
// and, apart, ControllerMetrics::ObserveCluster, which refreshes the pool gauges from the same
// snapshot (once a second since it left the reconcile path; before, on every reconcile).
// It also reports the heap the cached objects hold: the whole JSON objects, what the informer
// stores keep of them (MetadataOnly for Nodes and ComputeNodes, pools whole), and the decoded
// ObservationCache.
//
// The cluster: N Nodes in kwok's shape, N ComputeNodes in the agent's and P pools of five kinds,
// from bench/common/fleet_shapes.h as the fleet benchmark makes them, converged by the real
// planner (plans applied to the objects until nothing changes).
//
//   reconcile_cost_bench --nodes=5000 --pools=500 --reconciles=2000

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/compute_node.h"
#include "api/compute_pool.h"
#include "api/meta.h"
#include "bench/common/fleet_shapes.h"
#include "common/strings.h"
#include "controller/controller_metrics.h"
#include "controller/observation_cache.h"
#include "controller/reconcile/pool_planner.h"

namespace zhisuan::controller {
namespace {

using bench::AgentShapedStatus;
using bench::kZones;
using bench::NodeName;
using bench::PoolSpecOfKind;
using bench::ZoneOf;
using Clock = std::chrono::steady_clock;

struct Options {
  int nodes = 5000;
  int pools = 500;
  int reconciles = 2000;
};

size_t HeapInUse() { return mallinfo2().uordblks; }

// A Node as kwok keeps it: what a kubelet reports, which the controller caches but never reads
// beyond labels, taints, Ready and the cordon.
Json NodeObject(int i, const std::string& version) {
  const std::string name = NodeName(i);
  Json conditions = Json::array();
  for (const char* type :
       {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"}) {
    conditions.push_back({{"type", type},
                          {"status", std::string(type) == "Ready" ? "True" : "False"},
                          {"lastHeartbeatTime", "2026-11-23T09:00:00Z"},
                          {"lastTransitionTime", "2026-11-23T08:00:00Z"},
                          {"reason", StrCat("Kubelet", type)},
                          {"message", StrCat("kubelet reports ", type)}});
  }
  Json resources = {{"cpu", "224"}, {"memory", "2Ti"}, {"pods", "110"}};
  return {
      {"apiVersion", "v1"},
      {"kind", "Node"},
      {"metadata",
       {{"name", name},
        {"uid", StrCat("00000000-0000-0000-0000-", 100000000000 + i)},
        {"resourceVersion", version},
        {"creationTimestamp", "2026-11-23T08:00:00Z"},
        {"annotations", {{"kwok.x-k8s.io/node", "fake"}, {"node.alpha.kubernetes.io/ttl", "0"}}},
        {"labels",
         {{"type", "kwok"},
          {"kubernetes.io/hostname", name},
          {"kubernetes.io/os", "linux"},
          {"kubernetes.io/arch", "amd64"},
          {"node-role.kubernetes.io/agent", ""},
          {"topology.kubernetes.io/zone", kZones[ZoneOf(i)].name}}}}},
      {"spec", Json::object()},
      {"status",
       {{"conditions", conditions},
        {"addresses",
         {{{"type", "InternalIP"}, {"address", StrCat("10.0.", i / 250, ".", i % 250)}},
          {{"type", "Hostname"}, {"address", name}}}},
        {"capacity", resources},
        {"allocatable", resources},
        {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}},
        {"nodeInfo",
         {{"architecture", "amd64"},
          {"bootID", ""},
          {"containerRuntimeVersion", "kwok-v0.7.0"},
          {"kernelVersion", "kwok-v0.7.0"},
          {"kubeProxyVersion", "kwok-v0.7.0"},
          {"kubeletVersion", "kwok-v0.7.0"},
          {"machineID", ""},
          {"operatingSystem", "linux"},
          {"osImage", ""},
          {"systemUUID", ""}}},
        {"phase", "Running"}}}};
}

Json ComputeNodeObject(int i, const std::string& version) {
  const std::string name = NodeName(i);
  return {{"apiVersion", "zhisuan.io/v1alpha1"},
          {"kind", "ComputeNode"},
          {"metadata",
           {{"name", name},
            {"uid", StrCat("10000000-0000-0000-0000-", 100000000000 + i)},
            {"resourceVersion", version}}},
          {"status", api::ToJson(AgentShapedStatus(i, "reconcile-cost-bench"))}};
}

Json PoolObject(int i, const std::string& version) {
  const Json spec = PoolSpecOfKind(i);
  return {
      {"apiVersion", "zhisuan.io/v1alpha1"},
      {"kind", "ComputePool"},
      {"metadata",
       {{"name", StrCat("pool-", i)},
        {"namespace", StrCat("tenant-", i % 20)},
        {"uid", StrCat("20000000-0000-0000-0000-", 100000000000 + i)},
        {"resourceVersion", version},
        {"generation", 1},
        {"creationTimestamp", StrCat("2026-11-23T08:", 10 + i / 60 % 50, ":", 10 + i % 50, "Z")}}},
      {"spec", spec}};
}

// The cluster as the API server would hold it, and the decoded cache the controller plans from.
class Cluster {
 public:
  explicit Cluster(const Options& options) {
    for (int i = 0; i < options.nodes; ++i) {
      nodes_[NodeName(i)] = NodeObject(i, NextVersion());
      compute_nodes_[NodeName(i)] = ComputeNodeObject(i, NextVersion());
    }
    for (int i = 0; i < options.pools; ++i) {
      Json pool = PoolObject(i, NextVersion());
      pools_[kube_key(pool)] = pool;
    }
  }

  // The objects as the informer stores hold them: each one parsed from its wire form.
  std::vector<Json> ParsedFromWire(bool as_stored) const {
    std::vector<Json> parsed;
    for (const auto* objects : {&nodes_, &compute_nodes_, &pools_}) {
      for (const auto& [key, object] : *objects) {
        Json arrived = Json::parse(object.dump());
        parsed.push_back(as_stored && objects != &pools_ ? MetadataOnly(arrived)
                                                         : std::move(arrived));
      }
    }
    return parsed;
  }

  void Load(ObservationCache& cache) const {
    for (const auto& [name, node] : nodes_) cache.UpsertNode(node);
    for (const auto& [name, compute_node] : compute_nodes_) cache.UpsertComputeNode(compute_node);
    for (const auto& [key, pool] : pools_) cache.UpsertPool(pool);
  }

  // Plans every pool and applies the plan until nothing changes (at most `rounds` times), as the
  // controller and the API server would between them. Returns the rounds it took.
  int Converge(ObservationCache& cache, WallTime now, int rounds) {
    for (int round = 1; round <= rounds; ++round) {
      const PoolPlan plan = PlanPools(cache.Snapshot(), now, PlannerConfig{});
      if (plan.node_changes.empty() && plan.pool_changes.empty()) return round;
      for (const NodeChange& change : plan.node_changes) {
        Json& node = nodes_.at(change.node);
        Json& labels = node["metadata"]["labels"];
        if (change.to_binding.empty()) {
          labels.erase(std::string(api::kPoolLabel));
        } else {
          labels[std::string(api::kPoolLabel)] = change.to_binding;
        }
        Json taints = Json::array();
        for (const Taint& taint : change.taints) {
          taints.push_back({{"key", taint.key}, {"value", taint.value}, {"effect", taint.effect}});
        }
        node["spec"]["taints"] = taints;
        node["metadata"]["resourceVersion"] = NextVersion();
        cache.UpsertNode(node);
      }
      for (const PoolChange& change : plan.pool_changes) {
        Json& pool = pools_.at(change.pool_key);
        if (change.finalizers) pool["metadata"]["finalizers"] = *change.finalizers;
        if (change.status) pool["status"] = api::ToJson(*change.status);
        pool["metadata"]["resourceVersion"] = NextVersion();
        cache.UpsertPool(pool);
      }
    }
    return rounds;
  }

  std::vector<std::string> PoolKeys() const {
    std::vector<std::string> keys;
    for (const auto& [key, pool] : pools_) keys.push_back(key);
    return keys;
  }

 private:
  static std::string kube_key(const Json& object) {
    return StrCat(object["metadata"]["namespace"].get<std::string>(), "/",
                  object["metadata"]["name"].get<std::string>());
  }
  std::string NextVersion() { return StrCat(++version_); }

  int64_t version_ = 1000;
  std::map<std::string, Json> nodes_, compute_nodes_, pools_;
};

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(p * values.size()));
  return values[index];
}

bool ParseFlag(const std::string& arg, const char* name, int& value) {
  const std::string prefix = StrCat("--", name, "=");
  if (!StartsWith(arg, prefix)) return false;
  auto parsed = ParseInt64(arg.substr(prefix.size()));
  if (!parsed || *parsed <= 0) {
    std::cerr << "reconcile_cost_bench: " << name << " must be a positive integer, got '"
              << arg.substr(prefix.size()) << "'\n";
    std::exit(2);
  }
  value = static_cast<int>(*parsed);
  return true;
}

int Run(const Options& options) {
  const WallTime now = std::chrono::system_clock::from_time_t(1795420800);  // 2026-11-23 08:00Z
  Cluster cluster(options);

  // Memory first, on a quiet heap: the informers' raw JSON, then the decoded cache.
  size_t heap_before = HeapInUse();
  std::vector<Json> stored = cluster.ParsedFromWire(false);
  const size_t heap_json = HeapInUse() - heap_before;
  stored.clear();
  stored.shrink_to_fit();
  heap_before = HeapInUse();
  stored = cluster.ParsedFromWire(true);
  const size_t heap_stored = HeapInUse() - heap_before;
  stored.clear();
  stored.shrink_to_fit();
  const size_t heap_before_cache = HeapInUse();
  ObservationCache cache;
  cluster.Load(cache);
  const size_t heap_cache = HeapInUse() - heap_before_cache;

  const auto converge_started = Clock::now();
  const int rounds = cluster.Converge(cache, now, 8);
  const double converge_seconds =
      std::chrono::duration<double>(Clock::now() - converge_started).count();

  ControllerMetrics metrics(std::make_shared<prometheus::Registry>());
  const std::vector<std::string> keys = cluster.PoolKeys();
  std::vector<double> snapshot_us, plan_us, metrics_us, total_us;
  for (int r = 0; r < options.reconciles; ++r) {
    const std::string& key = keys[static_cast<size_t>(r) * 7919 % keys.size()];
    const auto t0 = Clock::now();
    const ClusterSnapshot snapshot = cache.Snapshot();
    const auto t1 = Clock::now();
    const PoolPlan plan = PlanPools(snapshot, now, PlannerConfig{}, {key});
    const auto t2 = Clock::now();
    snapshot_us.push_back(Micros(t1 - t0));
    plan_us.push_back(Micros(t2 - t1));
    total_us.push_back(Micros(t2 - t0));
  }
  // The gauge refresh, apart: it runs once a second, not once per reconcile.
  for (int r = 0; r < std::min(options.reconciles, 100); ++r) {
    const ClusterSnapshot snapshot = cache.Snapshot();
    const auto t0 = Clock::now();
    metrics.ObserveCluster(snapshot);
    metrics_us.push_back(Micros(Clock::now() - t0));
  }

  std::cout << "reconcile_cost nodes=" << options.nodes << " pools=" << options.pools
            << " reconciles=" << options.reconciles << " converge_rounds=" << rounds
            << " converge_s=" << converge_seconds << "\n";
  for (const auto& [stage, samples] :
       std::vector<std::pair<const char*, const std::vector<double>*>>{
           {"snapshot", &snapshot_us},
           {"plan", &plan_us},
           {"reconcile", &total_us},
           {"metrics_refresh", &metrics_us}}) {
    std::cout << "reconcile_cost stage=" << stage << " p50_us=" << Percentile(*samples, 0.5)
              << " p99_us=" << Percentile(*samples, 0.99) << "\n";
  }
  auto mib = [](size_t bytes) { return static_cast<double>(bytes) / (1 << 20); };
  auto kib_per_node = [&](size_t bytes) {
    return static_cast<double>(bytes) / 1024 / options.nodes;
  };
  std::cout << "reconcile_cost heap whole_json_mib=" << mib(heap_json)
            << " stored_json_mib=" << mib(heap_stored) << " decoded_mib=" << mib(heap_cache)
            << " whole_json_kib_per_node=" << kib_per_node(heap_json)
            << " stored_json_kib_per_node=" << kib_per_node(heap_stored)
            << " decoded_kib_per_node=" << kib_per_node(heap_cache) << "\n";
  return 0;
}

}  // namespace
}  // namespace zhisuan::controller

int main(int argc, char** argv) {
  zhisuan::controller::Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help") {
      std::cout << "reconcile_cost_bench [--nodes=N] [--pools=P] [--reconciles=R]\n";
      return 0;
    }
    if (!zhisuan::controller::ParseFlag(arg, "nodes", options.nodes) &&
        !zhisuan::controller::ParseFlag(arg, "pools", options.pools) &&
        !zhisuan::controller::ParseFlag(arg, "reconciles", options.reconciles)) {
      std::cerr << "reconcile_cost_bench: unknown flag " << arg << " (see --help)\n";
      return 2;
    }
  }
  return zhisuan::controller::Run(options);
}
