// Fleet-scale benchmark of the real zhisuan-controller: a real etcd + kube-apiserver
// (tests/harness), kwok simulating N Nodes (kept Ready by kwok's lease heartbeats), one ComputeNode
// per Node written through the API in the shape the agent publishes (H100 / MI300X / Ascend 910B in
// three zones with hydro, grid and solar energy), and the zhisuan-controller binary as a child
// process. Scenarios:
//
//   burst   create P ComputePools at once; time until every pool is Ready or definitively
//           unsatisfiable (status written for its generation with a Ready condition)
//   single  on the busy fleet, create one pool, time to Ready, delete it, repeat
//   repair  make a member's accelerators unhealthy; time to the pool's first status change and to
//           the pool being whole again without that node
//   carbon  the hydro zone loses its carbon-free supply and the solar zone gains it; time until no
//           zero-carbon pool keeps a hydro node, and the controller's API writes meanwhile
//   cost    controller RSS and CPU, API requests per reconcile, and what a steady window costs
//           (kwok heartbeats only): any list request there is a relist
//
// Output: one `fleet ...` line of key=value pairs per scenario. With --guard-file the run fails
// (exit 1) when a figure exceeds its recorded median times the file's factor (a gross regression).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/compute_node.h"
#include "api/meta.h"
#include "bench/common/fleet_shapes.h"
#include "common/strings.h"
#include "kube/config.h"
#include "kube/informer.h"
#include "kube/rest_client.h"
#include "tests/harness/control_plane.h"
#include "tests/harness/loopback_http.h"

namespace zhisuan::bench {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using harness::BackgroundProcess;
using harness::ControlPlane;

struct Options {
  int nodes = 500;
  int pools = 500;
  std::set<std::string> scenarios = {"burst", "single", "repair", "carbon", "cost"};
  int single_repeats = 50;
  // Pause between one repeat's pool being gone and the next creation. A tenant's pool arrives
  // on a controller that is not already at its client QPS limit from the previous repeat's
  // writes; with 0 the repeats run back to back, about 7 requests each, and the figure becomes
  // the 50 QPS limit's throughput rather than a latency.
  int single_interval_ms = 500;
  int repair_repeats = 20;
  int steady_seconds = 30;
  int lease_seconds = 40;  // kwok --node-lease-duration-seconds; it renews every quarter of it
  int client_threads = 8;
  std::string controller;  // zhisuan-controller binary
  std::string work_dir;    // empty: a temp dir, removed afterwards
  std::string guard_file;  // medians to guard against gross regressions
  std::vector<std::string> controller_args;
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return StrCat(one, "/", five, "/", fifteen);
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return -1;
  std::sort(values.begin(), values.end());
  // Nearest rank: p99 of 50 samples is the 50th (the max), as a conservative reading.
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

// Runs fn(0..count-1) on `threads` threads.
void ParallelFor(int count, int threads, const std::function<void(int)>& fn) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < count; i = next++) fn(i);
    });
  }
  for (auto& thread : pool) thread.join();
}

// What the process of the controller costs, from /proc.
struct ProcessSample {
  double rss_mib = 0, hwm_mib = 0, cpu_seconds = 0;
};
ProcessSample SampleProcess(pid_t pid) {
  ProcessSample sample;
  std::ifstream status(StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    auto kib = [&](std::string_view prefix) {
      return std::strtod(line.c_str() + prefix.size(), nullptr) / 1024.0;
    };
    if (StartsWith(line, "VmRSS:")) sample.rss_mib = kib("VmRSS:");
    if (StartsWith(line, "VmHWM:")) sample.hwm_mib = kib("VmHWM:");
  }
  std::ifstream stat(StrCat("/proc/", pid, "/stat"));
  std::string text;
  std::getline(stat, text);
  // Fields after the command (which may hold spaces) start after the last ')'.
  const std::string after_command = text.substr(std::min(text.size(), text.rfind(')') + 2));
  auto fields = StrSplit(after_command, ' ');
  if (fields.size() > 13) {
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    sample.cpu_seconds = (std::strtod(std::string(fields[11]).c_str(), nullptr) +
                          std::strtod(std::string(fields[12]).c_str(), nullptr)) /
                         ticks;
  }
  return sample;
}

// The controller's own counters, scraped from its /metrics.
struct ControllerCounters {
  std::map<std::string, double> requests_by_verb;  // zhisuan_controller_api_requests_total
  double reconciles = 0;

  double Requests(std::initializer_list<const char*> verbs) const {
    double total = 0;
    for (const char* verb : verbs) {
      auto it = requests_by_verb.find(verb);
      if (it != requests_by_verb.end()) total += it->second;
    }
    return total;
  }
  double Writes() const { return Requests({"create", "update", "patch", "delete"}); }
  double NonWatch() const {
    return Requests({"get", "list", "create", "update", "patch", "delete"});
  }
};

StatusOr<ControllerCounters> ScrapeController(int port) {
  const harness::HttpReply reply = harness::LoopbackRequest(port, "GET", "/metrics");
  if (reply.status != 200) {
    return UnavailableError(StrCat("metrics scrape failed: HTTP ", reply.status));
  }
  ControllerCounters counters;
  std::istringstream lines(reply.body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const double value = std::strtod(line.substr(line.rfind(' ') + 1).c_str(), nullptr);
    if (StartsWith(line, "zhisuan_controller_api_requests_total{")) {
      auto at = line.find("verb=\"");
      if (at == std::string::npos) continue;
      at += 6;
      counters.requests_by_verb[line.substr(at, line.find('"', at) - at)] += value;
    } else if (StartsWith(line, "zhisuan_controller_reconciles_total{")) {
      counters.reconciles += value;
    }
  }
  return counters;
}

// Every ComputePool event the benchmark's own informer saw, with the time it arrived.
class PoolWatcher {
 public:
  struct Seen {
    Clock::time_point at;
    kube::ObjectPtr pool;  // null: deleted
  };

  explicit PoolWatcher(kube::ApiClientPtr client)
      : informer_(client, [] {
          kube::InformerOptions options;
          options.type = api::kComputePools;
          return options;
        }()) {
    auto record = [this](const kube::ObjectPtr& pool, bool deleted) {
      const auto now = Clock::now();
      std::lock_guard lock(mu_);
      history_[kube::ObjectKey(*pool)].push_back({now, deleted ? nullptr : pool});
      changed_.notify_all();
    };
    informer_.AddEventHandlers(
        {[record](const kube::ObjectPtr& pool) { record(pool, false); },
         [record](const kube::ObjectPtr&, const kube::ObjectPtr& pool) { record(pool, false); },
         [record](const kube::ObjectPtr& pool) { record(pool, true); }});
    informer_.Start();
    informer_.WaitForSync(std::chrono::seconds(60));
  }

  // The first time at or after `since` that `key` satisfied `done`, waiting up to `timeout`.
  std::optional<Clock::time_point> WaitFor(const std::string& key, Clock::time_point since,
                                           const std::function<bool(const kube::ObjectPtr&)>& done,
                                           std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::unique_lock lock(mu_);
    while (true) {
      for (const auto& seen : history_[key]) {
        if (seen.at >= since && done(seen.pool)) return seen.at;
      }
      if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
        for (const auto& seen : history_[key]) {
          if (seen.at >= since && done(seen.pool)) return seen.at;
        }
        return std::nullopt;
      }
    }
  }

  kube::ObjectPtr Latest(const std::string& key) { return informer_.store().Get(key); }
  std::vector<kube::ObjectPtr> All() { return informer_.store().List(); }

 private:
  kube::Informer informer_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, std::vector<Seen>> history_;
};

std::string ConditionStatus(const Json& pool, std::string_view type) {
  for (const auto& condition : pool.value("/status/conditions"_json_pointer, Json::array())) {
    if (condition.value("type", "") == type) return condition.value("status", "");
  }
  return "";
}
// The controller has written status for the pool's current spec: Ready or definitively not.
bool Settled(const kube::ObjectPtr& pool) {
  if (!pool) return false;
  const int64_t generation = pool->value("/metadata/generation"_json_pointer, int64_t{0});
  const int64_t observed = pool->value("/status/observedGeneration"_json_pointer, int64_t{-1});
  return observed >= generation && !ConditionStatus(*pool, "Ready").empty();
}
bool IsReady(const kube::ObjectPtr& pool) {
  return pool && Settled(pool) && ConditionStatus(*pool, "Ready") == "True";
}
std::vector<std::string> Members(const kube::ObjectPtr& pool) {
  std::vector<std::string> nodes;
  if (!pool) return nodes;
  for (const auto& node : pool->value("/status/nodes"_json_pointer, Json::array())) {
    if (node.is_string()) nodes.push_back(node.get<std::string>());
  }
  return nodes;
}

class FleetBench {
 public:
  explicit FleetBench(Options options) : options_(std::move(options)) {}

  int Run();

 private:
  Status StartCluster();
  Status CreateFleet();
  Status StartController();
  Json PoolObject(const std::string& ns, const std::string& name, int kind) const;
  Status CreateNamespace(const std::string& name);
  void Report(const std::string& scenario,
              const std::vector<std::pair<std::string, std::string>>& figures);
  void Guard(const std::string& metric, double value);

  Status Burst();
  Status Single();
  Status Repair();
  Status Carbon();
  Status Cost();

  Options options_;
  std::unique_ptr<ControlPlane> plane_;
  kube::ApiClientPtr api_;
  std::unique_ptr<BackgroundProcess> kwok_, controller_;
  int metrics_port_ = 0;
  std::unique_ptr<PoolWatcher> watcher_;
  std::vector<Json> compute_node_status_;  // what the benchmark wrote, per node index
  std::vector<std::string> burst_keys_;
  std::map<std::string, int> kind_of_pool_;
  std::optional<ControllerCounters> after_setup_;
  std::map<std::string, double> measured_;  // for the guard
  bool guard_failed_ = false;
};

Status FleetBench::StartCluster() {
  harness::ControlPlaneOptions plane_options;
  plane_options.work_dir = options_.work_dir;
  ZHISUAN_ASSIGN_OR_RETURN(plane_, ControlPlane::Start(plane_options));
  ZHISUAN_RETURN_IF_ERROR(plane_->InstallCrds());
  ZHISUAN_ASSIGN_OR_RETURN(auto config, kube::LoadKubeconfig(plane_->admin_kubeconfig()));
  config.qps = 0;  // the benchmark is the load; it must not throttle itself
  ZHISUAN_ASSIGN_OR_RETURN(api_, kube::NewRestClient(config));

  const char* bin = std::getenv("ZHISUAN_TOOLCHAIN_BIN");
  if (bin == nullptr)
    return InvalidArgumentError("set ZHISUAN_TOOLCHAIN_BIN (hack/toolchain.sh --print-bindir)");
  kwok_ = std::make_unique<BackgroundProcess>(
      std::vector<std::string>{StrCat(bin, "/kwok"), "--kubeconfig=" + plane_->admin_kubeconfig(),
                               "--manage-all-nodes=false",
                               "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                               StrCat("--node-lease-duration-seconds=", options_.lease_seconds)},
      plane_->work_dir() + "/kwok.log");
  return OkStatus();
}

Status FleetBench::CreateFleet() {
  const auto started = Clock::now();
  std::atomic<int> failures{0};
  std::mutex error_mu;
  std::string first_error;
  auto fail = [&](const Status& status) {
    failures++;
    std::lock_guard lock(error_mu);
    if (first_error.empty()) first_error = status.ToString();
  };
  compute_node_status_.resize(options_.nodes);
  ParallelFor(options_.nodes, options_.client_threads, [&](int i) {
    const std::string name = NodeName(i);
    const Zone& zone = kZones[ZoneOf(i)];
    Json node = {{"apiVersion", "v1"},
                 {"kind", "Node"},
                 {"metadata",
                  {{"name", name},
                   {"annotations", {{"kwok.x-k8s.io/node", "fake"}}},
                   {"labels",
                    {{"type", "kwok"},
                     {"topology.kubernetes.io/zone", zone.name},
                     {"kubernetes.io/hostname", name}}}}},
                 {"spec", Json::object()}};
    auto created = api_->Create(kube::kNodes, "", node);
    if (!created.ok() && !kube::IsAlreadyExists(created.status())) return fail(created.status());
    // The agent's publication: the object, then its status (the CRD has a status subresource).
    auto object = api_->Create(api::kComputeNodes, "",
                               {{"apiVersion", "zhisuan.io/v1alpha1"},
                                {"kind", "ComputeNode"},
                                {"metadata", {{"name", name}}}});
    if (!object.ok() && !kube::IsAlreadyExists(object.status())) return fail(object.status());
    compute_node_status_[i] = api::ToJson(AgentShapedStatus(i, "fleet-bench"));
    auto patched = api_->Patch(api::kComputeNodes, "", name, kube::PatchType::kMerge,
                               {{"status", compute_node_status_[i]}}, {"", false, "status"});
    if (!patched.ok()) fail(patched.status());
  });
  if (failures > 0) {
    return InternalError(StrCat(failures.load(), " fleet writes failed, first: ", first_error));
  }
  const auto written = Clock::now();
  // kwok takes the Nodes over and marks them Ready.
  int ready = 0;
  const auto deadline = Clock::now() + std::chrono::minutes(10);
  while (Clock::now() < deadline) {
    kube::ListOptions list_options;
    list_options.label_selector = "type=kwok";
    list_options.limit = 500;
    auto nodes = kube::ListAll(*api_, kube::kNodes, "", list_options);
    ready = 0;
    if (nodes.ok()) {
      for (const auto& node : nodes->items) {
        for (const auto& condition : node.value("/status/conditions"_json_pointer, Json::array())) {
          if (condition.value("type", "") == "Ready" && condition.value("status", "") == "True") {
            ++ready;
          }
        }
      }
    }
    if (ready >= options_.nodes) break;
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  Report("setup", {{"write_seconds", StrCat(Seconds(written - started))},
                   {"ready_seconds", StrCat(Seconds(Clock::now() - started))},
                   {"ready_nodes", StrCat(ready)}});
  if (ready < options_.nodes) return DeadlineExceededError(StrCat("only ", ready, " nodes Ready"));
  return OkStatus();
}

Status FleetBench::StartController() {
  metrics_port_ = harness::PickFreePort();
  std::vector<std::string> args = {
      options_.controller,    "--kubeconfig=" + plane_->admin_kubeconfig(),
      "--leader-elect=false", StrCat("--metrics-address=127.0.0.1:", metrics_port_),
      "--health-grace=0s",    "--carbon-grace=0s"};
  args.insert(args.end(), options_.controller_args.begin(), options_.controller_args.end());
  controller_ = std::make_unique<BackgroundProcess>(args, plane_->work_dir() + "/controller.log");
  // Ready once its caches are synced: /readyz answers 200.
  const auto deadline = Clock::now() + std::chrono::minutes(2);
  while (Clock::now() < deadline) {
    if (harness::LoopbackRequest(metrics_port_, "GET", "/readyz").status == 200) {
      auto counters = ScrapeController(metrics_port_);
      if (counters.ok()) after_setup_ = *counters;
      return OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return DeadlineExceededError("zhisuan-controller never became ready; see controller.log");
}

// Pool kinds, by index mod 5: zero-carbon H100, MI300X, Ascend, any vendor, and a product no node
// has (unsatisfiable by design). Each asks for one node's worth (8 accelerators).
Json FleetBench::PoolObject(const std::string& ns, const std::string& name, int kind) const {
  const Json spec = PoolSpecOfKind(kind);
  return {{"apiVersion", "zhisuan.io/v1alpha1"},
          {"kind", "ComputePool"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", spec}};
}

Status FleetBench::CreateNamespace(const std::string& name) {
  auto created =
      api_->Create(kube::ResourceType{"", "v1", "namespaces", "Namespace", false}, "",
                   {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}});
  if (!created.ok() && !kube::IsAlreadyExists(created.status())) return created.status();
  return OkStatus();
}

void FleetBench::Report(const std::string& scenario,
                        const std::vector<std::pair<std::string, std::string>>& figures) {
  std::cout << "fleet scenario=" << scenario << " nodes=" << options_.nodes;
  for (const auto& [key, value] : figures) std::cout << " " << key << "=" << value;
  std::cout << " load=" << LoadAverage() << std::endl;
}

Status FleetBench::Burst() {
  ZHISUAN_RETURN_IF_ERROR(CreateNamespace("burst"));
  auto before = ScrapeController(metrics_port_);
  const auto started = Clock::now();
  std::atomic<int> failures{0};
  for (int j = 0; j < options_.pools; ++j) {
    burst_keys_.push_back(StrCat("burst/pool-", j));
    kind_of_pool_[burst_keys_.back()] = j % 5;
  }
  ParallelFor(options_.pools, options_.client_threads, [&](int j) {
    auto created =
        api_->Create(api::kComputePools, "burst", PoolObject("burst", StrCat("pool-", j), j % 5));
    if (!created.ok()) failures++;
  });
  const auto created = Clock::now();
  if (failures > 0) return InternalError(StrCat(failures.load(), " pool creates failed"));
  Clock::time_point last = created;
  int settled = 0, ready = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(600);  // for all pools together
  for (const auto& key : burst_keys_) {
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now());
    auto at = watcher_->WaitFor(key, started, Settled, std::max(left, std::chrono::seconds(0)));
    if (!at) continue;
    ++settled;
    last = std::max(last, *at);
  }
  for (const auto& key : burst_keys_) ready += IsReady(watcher_->Latest(key)) ? 1 : 0;
  auto after = ScrapeController(metrics_port_);
  double reconciles = -1, requests_per_reconcile = -1, writes = -1;
  if (before.ok() && after.ok()) {
    reconciles = after->reconciles - before->reconciles;
    writes = after->Writes() - before->Writes();
    if (reconciles > 0)
      requests_per_reconcile = (after->NonWatch() - before->NonWatch()) / reconciles;
  }
  const double seconds = Seconds(last - started);
  Report("burst", {{"pools", StrCat(options_.pools)},
                   {"create_seconds", StrCat(Seconds(created - started))},
                   {"settled_seconds", StrCat(seconds)},
                   {"settled", StrCat(settled)},
                   {"ready", StrCat(ready)},
                   {"unsatisfiable", StrCat(settled - ready)},
                   {"reconciles", StrCat(reconciles)},
                   {"api_writes", StrCat(writes)},
                   {"requests_per_reconcile", StrCat(requests_per_reconcile)}});
  Guard("burst_seconds", seconds);
  if (requests_per_reconcile >= 0) Guard("burst_requests_per_reconcile", requests_per_reconcile);
  if (settled < options_.pools)
    return DeadlineExceededError(StrCat(options_.pools - settled, " pools never settled"));
  return OkStatus();
}

Status FleetBench::Single() {
  ZHISUAN_RETURN_IF_ERROR(CreateNamespace("single"));
  std::vector<double> latencies;
  int not_ready = 0;
  for (int r = 0; r < options_.single_repeats; ++r) {
    const std::string name = StrCat("single-", r), key = "single/" + name;
    const auto started = Clock::now();
    auto created = api_->Create(api::kComputePools, "single", PoolObject("single", name, 3));
    if (!created.ok()) return created.status();
    auto ready = watcher_->WaitFor(key, started, IsReady, std::chrono::seconds(60));
    if (ready) {
      latencies.push_back(Millis(*ready - started));
    } else {
      ++not_ready;
    }
    // Delete and wait until it is gone, so its node is free again for the next repeat.
    const auto deleting = Clock::now();
    ZHISUAN_RETURN_IF_ERROR(api_->Delete(api::kComputePools, "single", name));
    if (!watcher_->WaitFor(
            key, deleting, [](const kube::ObjectPtr& pool) { return !pool; },
            std::chrono::seconds(60))) {
      return DeadlineExceededError(StrCat(key, " was never deleted"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(options_.single_interval_ms));
  }
  const double p50 = Percentile(latencies, 50);
  Report("single", {{"repeats", StrCat(options_.single_repeats)},
                    {"interval_ms", StrCat(options_.single_interval_ms)},
                    {"not_ready", StrCat(not_ready)},
                    {"p50_ms", StrCat(p50)},
                    {"p99_ms", StrCat(Percentile(latencies, 99))},
                    {"max_ms", StrCat(Percentile(latencies, 100))}});
  if (p50 >= 0) Guard("single_p50_ms", p50);
  return OkStatus();
}

Status FleetBench::Repair() {
  // Ready pools with one member each, taken in order; each repeat breaks one member.
  std::vector<double> updated_ms, repaired_ms;
  int unrepaired = 0, done = 0;
  for (const auto& key : burst_keys_) {
    if (done >= options_.repair_repeats) break;
    if (kind_of_pool_[key] == 0) continue;  // zero-carbon pools are the carbon scenario's
    auto pool = watcher_->Latest(key);
    if (!IsReady(pool) || Members(pool).empty()) continue;
    const std::string victim = Members(pool).front();
    const int index = std::stoi(victim.substr(victim.rfind('-') + 1));
    Json status = compute_node_status_[index];
    for (auto& device : status["accelerators"]) {
      device["health"] = "Unhealthy";
      device["reason"] = "XID 79 (fell off the bus)";
    }
    status["healthyAcceleratorCount"] = 0;
    const Json baseline = pool->value("status", Json());
    const auto started = Clock::now();
    auto patched = api_->Patch(api::kComputeNodes, "", victim, kube::PatchType::kMerge,
                               {{"status", status}}, {"", false, "status"});
    if (!patched.ok()) return patched.status();
    auto updated = watcher_->WaitFor(
        key, started,
        [&](const kube::ObjectPtr& seen) {
          return seen && seen->value("status", Json()) != baseline;
        },
        std::chrono::seconds(30));
    auto repaired =
        !updated ? std::nullopt
                 : watcher_->WaitFor(
                       key, started,
                       [&](const kube::ObjectPtr& seen) {
                         auto members = Members(seen);
                         return IsReady(seen) &&
                                std::find(members.begin(), members.end(), victim) == members.end();
                       },
                       std::chrono::seconds(30));
    if (updated) updated_ms.push_back(Millis(*updated - started));
    if (repaired) {
      repaired_ms.push_back(Millis(*repaired - started));
    } else {
      ++unrepaired;
    }
    // Healthy again (now a free node).
    auto restored = api_->Patch(api::kComputeNodes, "", victim, kube::PatchType::kMerge,
                                {{"status", compute_node_status_[index]}}, {"", false, "status"});
    if (!restored.ok()) return restored.status();
    ++done;
  }
  Report("repair", {{"repeats", StrCat(done)},
                    {"unrepaired", StrCat(unrepaired)},
                    {"status_p50_ms", StrCat(Percentile(updated_ms, 50))},
                    {"status_p99_ms", StrCat(Percentile(updated_ms, 99))},
                    {"repaired_p50_ms", StrCat(Percentile(repaired_ms, 50))},
                    {"repaired_p99_ms", StrCat(Percentile(repaired_ms, 99))},
                    {"repaired_max_ms", StrCat(Percentile(repaired_ms, 100))}});
  return OkStatus();
}

Status FleetBench::Carbon() {
  // Zero-carbon pools now on hydro nodes are the affected ones.
  std::vector<std::string> affected;
  for (const auto& key : burst_keys_) {
    if (kind_of_pool_[key] != 0) continue;
    auto members = Members(watcher_->Latest(key));
    if (!members.empty()) affected.push_back(key);
  }
  auto before = ScrapeController(metrics_port_);
  const auto started = Clock::now();
  // The hydro zone's supply turns to grid power; the solar zone's becomes fully carbon-free.
  std::vector<int> changed;
  for (int i = 0; i < options_.nodes; ++i) {
    if (ZoneOf(i) == 0 || ZoneOf(i) == 2) changed.push_back(i);
  }
  std::atomic<int> failures{0};
  ParallelFor(static_cast<int>(changed.size()), options_.client_threads, [&](int c) {
    const int i = changed[c];
    Json energy = ZoneOf(i) == 0 ? Json{{"carbonIntensity", 400}, {"carbonFreeRatio", 0.3}}
                                 : Json{{"carbonIntensity", 5}, {"carbonFreeRatio", 1.0}};
    auto patched = api_->Patch(api::kComputeNodes, "", NodeName(i), kube::PatchType::kMerge,
                               {{"status", {{"energy", energy}}}}, {"", false, "status"});
    if (!patched.ok()) failures++;
  });
  const auto written = Clock::now();
  if (failures > 0) return InternalError(StrCat(failures.load(), " energy patches failed"));
  auto off_hydro = [](const kube::ObjectPtr& pool) {
    if (!Settled(pool)) return false;
    for (const auto& node : Members(pool)) {
      if (ZoneOf(std::stoi(node.substr(node.rfind('-') + 1))) == 0) return false;
    }
    return true;
  };
  // Done for a pool when it left the hydro zone, or when its status says it is out of carbon
  // policy (no carbon-free H100 left to move to: the all-or-nothing pool keeps what it has).
  auto reported = [&](const kube::ObjectPtr& pool) {
    return off_hydro(pool) ||
           (Settled(pool) && ConditionStatus(*pool, "CarbonCompliant") == "False");
  };
  Clock::time_point last = written;
  int done = 0, moved = 0, ready = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(120);  // for all pools together
  for (const auto& key : affected) {
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now());
    auto at = watcher_->WaitFor(key, started, reported, std::max(left, std::chrono::seconds(0)));
    if (!at) continue;
    ++done;
    last = std::max(last, *at);
    moved += off_hydro(watcher_->Latest(key)) ? 1 : 0;
    ready += IsReady(watcher_->Latest(key)) ? 1 : 0;
  }
  // Let the last writes land before reading the counters.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  auto after = ScrapeController(metrics_port_);
  double writes = -1;
  if (before.ok() && after.ok()) writes = after->Writes() - before->Writes();
  Report("carbon", {{"compute_node_patches", StrCat(changed.size())},
                    {"patch_seconds", StrCat(Seconds(written - started))},
                    {"affected_pools", StrCat(affected.size())},
                    {"done", StrCat(done)},
                    {"moved", StrCat(moved)},
                    {"ready_after", StrCat(ready)},
                    {"seconds", StrCat(Seconds(last - started))},
                    {"controller_api_writes", StrCat(writes)}});
  return OkStatus();
}

Status FleetBench::Cost() {
  const pid_t pid = controller_->pid();
  ZHISUAN_ASSIGN_OR_RETURN(auto before, ScrapeController(metrics_port_));
  const ProcessSample start = SampleProcess(pid);
  std::this_thread::sleep_for(std::chrono::seconds(options_.steady_seconds));
  ZHISUAN_ASSIGN_OR_RETURN(auto after, ScrapeController(metrics_port_));
  const ProcessSample end = SampleProcess(pid);
  double total_reconciles = after.reconciles, total_requests = after.NonWatch();
  if (after_setup_) {
    total_reconciles -= after_setup_->reconciles;
    total_requests -= after_setup_->NonWatch();
  }
  Report("cost", {{"rss_mib", StrCat(end.rss_mib)},
                  {"peak_rss_mib", StrCat(end.hwm_mib)},
                  {"cpu_seconds_total", StrCat(end.cpu_seconds)},
                  {"reconciles_total", StrCat(after.reconciles)},
                  {"requests_per_reconcile",
                   StrCat(total_reconciles > 0 ? total_requests / total_reconciles : -1)},
                  {"steady_seconds", StrCat(options_.steady_seconds)},
                  {"steady_cpu_percent",
                   StrCat(100 * (end.cpu_seconds - start.cpu_seconds) / options_.steady_seconds)},
                  {"steady_lists", StrCat(after.Requests({"list"}) - before.Requests({"list"}))},
                  {"steady_requests", StrCat(after.NonWatch() - before.NonWatch())},
                  {"steady_reconciles", StrCat(after.reconciles - before.reconciles)}});
  Guard("rss_mib", end.rss_mib);
  return OkStatus();
}

void FleetBench::Guard(const std::string& metric, double value) { measured_[metric] = value; }

int FleetBench::Run() {
  std::cout << "fleet start nodes=" << options_.nodes << " pools=" << options_.pools
            << " load=" << LoadAverage() << std::endl;
  auto step = [](const char* what, const Status& status) {
    if (status.ok()) return true;
    std::cerr << "fleet_bench: " << what << ": " << status << std::endl;
    return false;
  };
  if (!step("control plane", StartCluster())) return 2;
  if (!step("fleet", CreateFleet())) return 2;
  if (!step("controller", StartController())) return 2;
  watcher_ = std::make_unique<PoolWatcher>(api_);
  bool ok = true;
  const bool burst = options_.scenarios.contains("burst");
  if (burst) ok = step("burst", Burst()) && ok;
  if (options_.scenarios.contains("single")) ok = step("single", Single()) && ok;
  if (burst && options_.scenarios.contains("repair")) ok = step("repair", Repair()) && ok;
  if (burst && options_.scenarios.contains("carbon")) ok = step("carbon", Carbon()) && ok;
  if (options_.scenarios.contains("cost")) ok = step("cost", Cost()) && ok;
  const int controller_exit = controller_->Stop();
  if (controller_exit != 0) {
    std::cerr << "fleet_bench: zhisuan-controller exited with " << controller_exit << std::endl;
    ok = false;
  }
  kwok_->Stop();

  if (!options_.guard_file.empty()) {
    std::ifstream in(options_.guard_file);
    if (!in) {
      std::cerr << "fleet_bench: cannot read --guard-file=" << options_.guard_file << std::endl;
      return 2;
    }
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string metric;
      double median = 0, factor = 0;
      if (line.empty() || line[0] == '#' || !(fields >> metric >> median >> factor)) continue;
      auto it = measured_.find(metric);
      if (it == measured_.end()) {
        std::cerr << "fleet guard: " << metric << " was not measured" << std::endl;
        ok = false;
        continue;
      }
      const bool pass = it->second <= median * factor;
      std::cout << "fleet guard " << metric << "=" << it->second << " limit=" << median * factor
                << " (" << factor << "x recorded median " << median << ") "
                << (pass ? "PASS" : "FAIL") << std::endl;
      ok = ok && pass;
    }
  }
  return ok ? 0 : 1;
}

constexpr char kUsage[] = R"(Usage: fleet_bench [flags]
  --nodes=N               kwok Nodes, each with a ComputeNode (default 500)
  --pools=P               ComputePools in the burst (default 500)
  --scenarios=a,b         of burst,single,repair,carbon,cost (default all; repair and carbon
                          need burst)
  --single-repeats=N      single-pool creations (default 50)
  --single-interval-ms=N  pause after each single pool is gone (default 500; 0: back to back)
  --repair-repeats=N      members broken one after another (default 20)
  --steady-seconds=N      the steady window of the cost scenario (default 30)
  --kwok-lease-seconds=N  kwok's node lease duration; it renews every quarter (default 40)
  --client-threads=N      the benchmark's concurrent API writers (default 8)
  --controller=PATH       zhisuan-controller (default $ZHISUAN_BINARY_DIR/controller/...)
  --controller-arg=ARG    passed on to the controller (repeatable)
  --work-dir=DIR          keep the control plane's files and logs here
  --guard-file=PATH       lines "metric median factor": fail when a figure exceeds median*factor
Environment: ZHISUAN_SOURCE_DIR (the CRDs), ZHISUAN_TOOLCHAIN_BIN (etcd, kube-apiserver, kwok).
)";

}  // namespace
}  // namespace zhisuan::bench

int main(int argc, char** argv) {
  using namespace zhisuan;
  bench::Options options;
  const char* binary_dir = std::getenv("ZHISUAN_BINARY_DIR");
  options.controller = binary_dir != nullptr
                           ? StrCat(binary_dir, "/controller/zhisuan-controller")
                           : (std::filesystem::canonical("/proc/self/exe").parent_path() /
                              "../../controller/zhisuan-controller")
                                 .lexically_normal()
                                 .string();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('=');
    const std::string name = arg.substr(0, eq),
                      value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    auto number = [&]() -> int {
      auto parsed = ParseInt64(value);
      if (!parsed || *parsed < 0 || *parsed > 1'000'000) {
        std::cerr << "fleet_bench: " << name << " needs a whole number, got '" << value << "'\n";
        std::exit(2);
      }
      return static_cast<int>(*parsed);
    };
    if (name == "--nodes") {
      options.nodes = number();
    } else if (name == "--pools") {
      options.pools = number();
    } else if (name == "--scenarios") {
      options.scenarios.clear();
      for (auto scenario : StrSplit(value, ',')) options.scenarios.insert(std::string(scenario));
    } else if (name == "--single-repeats") {
      options.single_repeats = number();
    } else if (name == "--single-interval-ms") {
      options.single_interval_ms = number();
    } else if (name == "--repair-repeats") {
      options.repair_repeats = number();
    } else if (name == "--steady-seconds") {
      options.steady_seconds = number();
    } else if (name == "--kwok-lease-seconds") {
      options.lease_seconds = number();
    } else if (name == "--client-threads") {
      options.client_threads = std::max(1, number());
    } else if (name == "--controller") {
      options.controller = value;
    } else if (name == "--controller-arg") {
      options.controller_args.push_back(value);
    } else if (name == "--work-dir") {
      options.work_dir = value;
    } else if (name == "--guard-file") {
      options.guard_file = value;
    } else {
      std::cerr << (name == "--help" ? "" : "fleet_bench: unknown flag " + arg + "\n")
                << bench::kUsage;
      return name == "--help" ? 0 : 2;
    }
  }
  return bench::FleetBench(options).Run();
}
