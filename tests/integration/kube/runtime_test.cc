// The kube runtime against a real kube-apiserver and etcd: informers that survive restarts and
// compaction without missing anything, leader election between two processes when one is killed,
// and Event aggregation as the real server stores it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/strings.h"
#include "kube/config.h"
#include "kube/event_recorder.h"
#include "kube/informer.h"
#include "kube/rest_client.h"
#include "tests/harness/control_plane_environment.h"

extern char** environ;

namespace zhisuan::kube {
namespace {

using namespace std::chrono_literals;
using harness::SharedControlPlane;

ApiClientPtr AdminClient() {
  auto config = LoadKubeconfig(SharedControlPlane().admin_kubeconfig());
  EXPECT_TRUE(config.ok()) << config.status();
  auto client = NewRestClient(*config);
  EXPECT_TRUE(client.ok()) << client.status();
  return *client;
}

void CreateNamespace(const std::string& name) {
  auto created = SharedControlPlane().Kubectl({"create", "namespace", name});
  ASSERT_EQ(created.exit_code, 0) << created.output;
}

// key -> resourceVersion, as the handlers saw it.
class HandlerView {
 public:
  ResourceEventHandlers Handlers() {
    return {[this](const ObjectPtr& object) { Set(*object); },
            [this](const ObjectPtr&, const ObjectPtr& object) { Set(*object); },
            [this](const ObjectPtr& object) {
              Gate();
              std::lock_guard lock(mu_);
              view_.erase(ObjectKey(*object));
              ++deletes_;
            }};
  }
  std::map<std::string, std::string> View() {
    std::lock_guard lock(mu_);
    return view_;
  }
  int deletes() {
    std::lock_guard lock(mu_);
    return deletes_;
  }
  // While closed, handlers block: the informer stops reading its watch and falls behind.
  void CloseGate() {
    std::lock_guard lock(mu_);
    gate_open_ = false;
  }
  void OpenGate() {
    std::lock_guard lock(mu_);
    gate_open_ = true;
    cv_.notify_all();
  }

 private:
  void Gate() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return gate_open_; });
  }
  void Set(const Json& object) {
    Gate();
    std::lock_guard lock(mu_);
    view_[ObjectKey(object)] =
        object.value("/metadata/resourceVersion"_json_pointer, std::string());
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool gate_open_ = true;
  std::map<std::string, std::string> view_;
  int deletes_ = 0;
};

// Creates, updates and deletes ConfigMaps in `ns` until stopped, riding out API server outages.
class ChurnWriter {
 public:
  ChurnWriter(ApiClientPtr client, std::string ns) : client_(client), ns_(std::move(ns)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~ChurnWriter() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int writes() const { return writes_.load(); }

 private:
  void Run() {
    for (int i = 0; !stop_; ++i) {
      Status status;
      const std::string name = StrCat("cm-", i % 40);
      switch (i % 3) {
        case 0:
          status = client_
                       ->Create(kConfigMaps, ns_,
                                Json{{"metadata", {{"name", name}}}, {"data", {{"i", StrCat(i)}}}})
                       .status();
          break;
        case 1:
          status = client_
                       ->Patch(kConfigMaps, ns_, StrCat("cm-", (i + 20) % 40), PatchType::kMerge,
                               Json{{"data", {{"i", StrCat(i)}}}})
                       .status();
          break;
        default:
          status = client_->Delete(kConfigMaps, ns_, StrCat("cm-", (i + 7) % 40));
      }
      if (status.ok()) ++writes_;
      std::this_thread::sleep_for(15ms);
    }
  }
  ApiClientPtr client_;
  std::string ns_;
  std::atomic<bool> stop_{false};
  std::atomic<int> writes_{0};
  std::thread thread_;
};

std::map<std::string, std::string> ServerView(ApiClient& client, const std::string& ns) {
  for (int attempt = 0; attempt < 60; ++attempt) {
    auto listed = ListAll(client, kConfigMaps, ns, {});
    if (listed.ok()) {
      std::map<std::string, std::string> view;
      for (const Json& item : listed->items) {
        view[ObjectKey(item)] = item["metadata"]["resourceVersion"].get<std::string>();
      }
      return view;
    }
    std::this_thread::sleep_for(500ms);
  }
  ADD_FAILURE() << "could not list " << ns;
  return {};
}

// Waits until the handlers' view equals the server's; the server is listed once, after the writer
// stopped, so it is the true final state.
void ExpectConvergedToServer(HandlerView& view, ApiClient& client, const std::string& ns) {
  const auto truth = ServerView(client, ns);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (view.View() != truth && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(view.View(), truth);
  EXPECT_FALSE(truth.empty());
}

InformerOptions ConfigMapInformer(const std::string& ns) {
  InformerOptions options;
  options.type = kConfigMaps;
  options.ns = ns;
  options.page_size = 50;
  options.reconnect_backoff = {200ms, 2s, 2.0, 1.0};
  return options;
}

// The real server ignores `limit` on a list at resourceVersion "0" (served from its watch cache),
// which the in-memory fake does not: only a real server shows that the first list is paged.
TEST(InformerAgainstApiServer, FirstListIsReallyPaged) {
  const std::string ns = "informer-paged";
  CreateNamespace(ns);
  ApiClientPtr client = AdminClient();
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(
        client
            ->Create(kConfigMaps, ns,
                     Json{{"metadata", {{"name", StrCat("cm-", i)}}}, {"data", {{"k", "v"}}}})
            .ok());
  }
  InformerOptions options = ConfigMapInformer(ns);
  options.page_size = 3;
  HandlerView view;
  Informer informer(client, options);
  informer.AddEventHandlers(view.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(30s));
  EXPECT_EQ(informer.store().Size(), 7u);
  EXPECT_EQ(view.View().size(), 7u);
  EXPECT_EQ(informer.metrics().lists(), 3u) << "7 objects in pages of 3";
  informer.Stop();
}

TEST(InformerAgainstApiServer, SurvivesApiServerRestartUnderChurn) {
  const std::string ns = "informer-restart";
  CreateNamespace(ns);
  ApiClientPtr client = AdminClient();
  HandlerView view;
  Informer informer(client, ConfigMapInformer(ns));
  informer.AddEventHandlers(view.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(30s));

  ChurnWriter writer(client, ns);
  std::this_thread::sleep_for(2s);
  ASSERT_TRUE(SharedControlPlane().RestartApiServer().ok());
  std::this_thread::sleep_for(3s);
  writer.Stop();
  EXPECT_GT(writer.writes(), 100);
  ExpectConvergedToServer(view, *client, ns);
  EXPECT_GE(informer.metrics().watches(), 2u) << "the watch must have reconnected";
  EXPECT_GT(view.deletes(), 0);
  informer.Stop();
}

TEST(InformerAgainstApiServer, RelistsAfterCompactionAndFiresMissedDeletes) {
  const std::string ns = "informer-compact";
  CreateNamespace(ns);
  ApiClientPtr client = AdminClient();
  HandlerView view;
  Informer informer(client, ConfigMapInformer(ns));
  informer.AddEventHandlers(view.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(30s));

  ChurnWriter writer(client, ns);
  std::this_thread::sleep_for(2s);
  // The informer stops consuming (its handler blocks) while the server moves on and loses the
  // history it would need: its resume version is gone, so it must relist and diff.
  view.CloseGate();
  std::this_thread::sleep_for(2s);
  // The first restart kills the informer's stream. The client may already have buffered every
  // frame sent until then (a slow writer, e.g. under ASan, sends few), so the informer's resume
  // version can be as new as this moment; only history written after it makes the version
  // certainly stale.
  ASSERT_TRUE(SharedControlPlane().RestartApiServer().ok());
  const int writes_at_restart = writer.writes();
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (writer.writes() < writes_at_restart + 10 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_GE(writer.writes(), writes_at_restart + 10) << "the writer made no progress";
  // Compacted in etcd, and gone from the watch cache, which the second restart starts afresh
  // at the current revision.
  auto revision = SharedControlPlane().CompactEtcd();
  ASSERT_TRUE(revision.ok()) << revision.status();
  ASSERT_TRUE(SharedControlPlane().RestartApiServer().ok());
  std::this_thread::sleep_for(1s);
  view.OpenGate();
  std::this_thread::sleep_for(3s);
  writer.Stop();
  ExpectConvergedToServer(view, *client, ns);
  EXPECT_GE(informer.metrics().relists(), 1u) << "a compacted resume version must cause a relist";
  informer.Stop();
}

// --- Leader election across processes ---

struct LogLine {
  int64_t nanos;
  std::string what;
};

std::vector<LogLine> ReadLog(const std::string& path) {
  std::vector<LogLine> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const size_t space = line.find(' ');
    if (space == std::string::npos) continue;
    auto nanos = ParseInt64(line.substr(0, space));
    if (nanos) lines.push_back({*nanos, line.substr(space + 1)});
  }
  return lines;
}

std::optional<int64_t> FirstTime(const std::vector<LogLine>& lines, const std::string& what) {
  for (const auto& line : lines) {
    if (line.what == what) return line.nanos;
  }
  return std::nullopt;
}

int64_t MonotonicNanos() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000'000LL + now.tv_nsec;
}

pid_t SpawnContender(const std::string& identity, const std::string& log_path) {
  std::vector<std::string> args = {ZHISUAN_LEASE_CONTENDER, SharedControlPlane().admin_kubeconfig(),
                                   identity, log_path};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
  EXPECT_EQ(spawned, 0) << "posix_spawn " << argv[0];
  return pid;
}

template <typename Predicate>
bool WaitFor(Predicate done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

TEST(LeaderElectionAcrossProcesses, SurvivorTakesOverAfterKillNineAndNeverOverlaps) {
  const std::string dir = SharedControlPlane().work_dir();
  const std::string log_a = dir + "/contender-a.log";
  const std::string log_b = dir + "/contender-b.log";
  const pid_t a = SpawnContender("contender-a", log_a);
  ASSERT_TRUE(WaitFor([&] { return FirstTime(ReadLog(log_a), "started").has_value(); }, 30s))
      << "contender-a never led";
  const pid_t b = SpawnContender("contender-b", log_b);
  ASSERT_TRUE(WaitFor(
      [&] { return FirstTime(ReadLog(log_b), "new-leader contender-a").has_value(); }, 30s));
  // Several lease durations with a live, renewing leader: b must not take over.
  std::this_thread::sleep_for(7s);
  EXPECT_FALSE(FirstTime(ReadLog(log_b), "started").has_value()) << "b took over a live lease";

  const int64_t killed_at = MonotonicNanos();
  ASSERT_EQ(kill(a, SIGKILL), 0);
  waitpid(a, nullptr, 0);
  ASSERT_TRUE(WaitFor([&] { return FirstTime(ReadLog(log_b), "started").has_value(); }, 30s))
      << "b never took over";
  const auto b_lines = ReadLog(log_b);
  const auto a_lines = ReadLog(log_a);
  const int64_t b_started = *FirstTime(b_lines, "started");
  const auto takeover = std::chrono::nanoseconds(b_started - killed_at);
  // Worst case: b saw a's last renewal one jittered retry (0.6s) late, waits the 3s lease from
  // then, and notices expiry on its next retry (0.6s); plus scheduling slack.
  EXPECT_LE(takeover, 3s + 1200ms + 800ms)
      << "takeover took " << std::chrono::duration_cast<std::chrono::milliseconds>(takeover).count()
      << "ms";
  std::printf("[ takeover ] %lld ms after kill -9\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(takeover).count()));

  // Never two leaders: everything a believed as leader precedes everything b believed.
  int64_t a_last_leading = 0;
  for (const auto& line : a_lines) {
    if (line.what == "leader" || line.what == "started") a_last_leading = line.nanos;
  }
  ASSERT_GT(a_last_leading, 0);
  for (const auto& line : b_lines) {
    if (line.what == "leader" || line.what == "started") {
      EXPECT_GT(line.nanos, a_last_leading) << "b led while a still believed it led";
    }
  }
  EXPECT_GT(b_started, killed_at);

  // Graceful stop releases the lease: the holder is cleared at once.
  ASSERT_EQ(kill(b, SIGTERM), 0);
  int status = 0;
  waitpid(b, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(FirstTime(ReadLog(log_b), "stopped").has_value());
  auto lease = AdminClient()->Get(kLeases, "default", "contended");
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ((*lease)["spec"].value("holderIdentity", std::string()), "");
  EXPECT_EQ((*lease)["spec"]["leaseDurationSeconds"], 1);
  EXPECT_GE((*lease)["spec"]["leaseTransitions"], 1);
}

// --- Events ---

TEST(EventRecorderAgainstApiServer, RepeatsAggregateIntoOneEventWithACount) {
  ApiClientPtr client = AdminClient();
  auto target =
      client->Create(kConfigMaps, "default", Json{{"metadata", {{"name", "event-target"}}}});
  ASSERT_TRUE(target.ok()) << target.status();
  EventRecorder recorder(client, "zhisuan-test", "integration");
  const ObjectReference reference = ReferenceTo(*target);
  for (int i = 0; i < 4; ++i) {
    recorder.Record(reference, EventType::kWarning, "DeviceUnhealthy", "GPU 3: Xid 79");
  }
  recorder.Record(reference, EventType::kNormal, "DeviceHealthy", "GPU 3 recovered");
  recorder.Flush();
  EXPECT_EQ(recorder.failed(), 0u);

  ListOptions options;
  options.field_selector = "involvedObject.name=event-target";
  auto events = ListAll(*client, kEvents, "default", options);
  ASSERT_TRUE(events.ok()) << events.status();
  std::map<std::string, Json> by_reason;
  for (const Json& event : events->items) by_reason[event["reason"]] = event;
  ASSERT_EQ(events->items.size(), 2u);
  EXPECT_EQ(by_reason["DeviceUnhealthy"]["count"], 4);
  EXPECT_EQ(by_reason["DeviceUnhealthy"]["type"], "Warning");
  EXPECT_EQ(by_reason["DeviceUnhealthy"]["involvedObject"]["uid"], (*target)["metadata"]["uid"]);
  EXPECT_EQ(by_reason["DeviceHealthy"]["count"], 1);
  // kubectl sees the same aggregated Event.
  auto described =
      SharedControlPlane().Kubectl({"get", "events", "-n", "default", "--field-selector",
                                    "reason=DeviceUnhealthy", "-o", "jsonpath={.items[*].count}"});
  EXPECT_EQ(described.exit_code, 0) << described.output;
  EXPECT_EQ(described.output, "4");
}

}  // namespace
}  // namespace zhisuan::kube
