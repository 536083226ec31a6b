// Faults against the real thing: the shared kube-apiserver and etcd, two zhisuan-controller
// replicas under leader election (kept running by a supervisor, as a Deployment would), and real
// zhisuan-agent processes on the fixture H100 tree. Each case injects one fault and ends with the
// same cluster-wide invariant check (invariants.h), polled until the system settles.
// docs/fault-tests.md lists what each case injects and asserts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "api/meta.h"
#include "common/strings.h"
#include "kube/config.h"
#include "kube/rest_client.h"
#include "tests/harness/control_plane_environment.h"
#include "tests/harness/loopback_http.h"
#include "tests/integration/agent_kubernetes/test_support.h"
#include "tests/integration/faults/invariants.h"

namespace zhisuan::faults {
namespace {

using agent::testing::KubeletStandIn;
using agent::testing::TempDir;
using harness::SharedControlPlane;
using ::testing::HasSubstr;
using Json = nlohmann::json;
using namespace std::chrono_literals;

constexpr char kLeaseName[] = "faults";

std::string BinaryDir() {
  const char* dir = std::getenv("ZHISUAN_BINARY_DIR");
  return dir != nullptr ? dir : ".";
}

// Polls `done` every 200 ms until it holds or `timeout` passes; returns whether it held.
bool Eventually(const std::function<bool()>& done, std::chrono::seconds timeout = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(200ms);
  }
  return done();
}

// Repeats an API call that a fault may make fail (connection refused while the API server
// restarts, 5xx while etcd is away) until it succeeds or a minute passes.
Status Retrying(const std::function<Status()>& call) {
  Status last;
  Eventually([&] {
    last = call();
    return last.ok();
  });
  return last;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

// How a child of this process ended ("exit 1", "signal 11"), or nullopt while it runs. WNOWAIT
// leaves it unreaped, so the BackgroundProcess that owns the pid still reaps it.
std::optional<std::string> HowItEnded(pid_t pid) {
  siginfo_t info{};
  if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return "gone";
  }
  if (info.si_pid == 0) return std::nullopt;
  return StrCat(info.si_code == CLD_EXITED ? "exit " : "signal ", info.si_status);
}

// The controller replicas of a Deployment: each runs as a child process with POD_NAME as its
// identity; whenever one exits (lost leadership exits on purpose) the supervisor starts a new one
// under a new identity, as a Deployment starts a new pod. Deaths are recorded so tests can tell a
// crash (a signal the test did not send) from a deliberate exit.
class ControllerReplicas {
 public:
  explicit ControllerReplicas(std::vector<std::string> names) {
    for (auto& name : names) replicas_.push_back({std::move(name), 0, "", nullptr});
  }
  ~ControllerReplicas() { Stop(); }

  void Start() {
    std::lock_guard lock(mu_);
    for (auto& replica : replicas_) Launch(replica);
    supervisor_ = std::thread([this] { Supervise(); });
  }

  void Stop() {
    stopping_.store(true);
    if (supervisor_.joinable()) supervisor_.join();
    std::lock_guard lock(mu_);
    for (auto& replica : replicas_) {
      if (replica.process) replica.process->Stop();
      replica.process.reset();
    }
  }

  // SIGKILLs the replica running as `identity`; the supervisor replaces it.
  bool Kill(const std::string& identity) {
    std::lock_guard lock(mu_);
    for (auto& replica : replicas_) {
      if (replica.identity == identity && replica.process) {
        replica.process->Kill();
        replica.process.reset();
        return true;
      }
    }
    return false;
  }

  // A rolling restart: each replica in turn gets SIGTERM (it releases the Lease if it holds it)
  // and the supervisor starts its replacement.
  void Roll() {
    for (size_t i = 0; i < replicas_.size(); ++i) {
      std::lock_guard lock(mu_);
      if (replicas_[i].process) replicas_[i].process->Stop();
      replicas_[i].process.reset();
    }
  }

  std::vector<std::string> Identities() {
    std::lock_guard lock(mu_);
    std::vector<std::string> identities;
    for (const auto& replica : replicas_) {
      if (replica.process) identities.push_back(replica.identity);
    }
    return identities;
  }

  // Exits the test did not cause, as "identity: exit N" or "identity: signal N".
  std::vector<std::string> Deaths() {
    std::lock_guard lock(mu_);
    return deaths_;
  }
  // Deaths by a signal: crashes (SIGSEGV, SIGABRT, ...).
  std::vector<std::string> Crashes() {
    std::vector<std::string> crashes;
    for (const auto& death : Deaths()) {
      if (death.find(": signal ") != std::string::npos) crashes.push_back(death);
    }
    return crashes;
  }

 private:
  struct Replica {
    std::string name;
    int incarnation;
    std::string identity;
    std::unique_ptr<harness::BackgroundProcess> process;
  };

  void Launch(Replica& replica) {
    replica.identity = StrCat(replica.name, "-", replica.incarnation++);
    replica.process = std::make_unique<harness::BackgroundProcess>(
        std::vector<std::string>{BinaryDir() + "/controller/zhisuan-controller",
                                 "--kubeconfig=" + SharedControlPlane().admin_kubeconfig(),
                                 "--metrics-address=0", "--leader-election-namespace=default",
                                 StrCat("--leader-election-id=", kLeaseName), "--health-grace=0",
                                 "--carbon-grace=0"},
        StrCat(SharedControlPlane().work_dir(), "/controller-", replica.identity, ".log"),
        std::vector<std::string>{"POD_NAME=" + replica.identity});
  }

  void Supervise() {
    while (!stopping_.load()) {
      {
        std::lock_guard lock(mu_);
        for (auto& replica : replicas_) {
          if (replica.process) {
            auto ended = HowItEnded(replica.process->pid());
            if (!ended) continue;
            deaths_.push_back(StrCat(replica.identity, ": ", *ended));
            replica.process.reset();  // reaps the zombie
          }
          Launch(replica);
        }
      }
      std::this_thread::sleep_for(250ms);
    }
  }

  std::mutex mu_;
  std::vector<Replica> replicas_;
  std::vector<std::string> deaths_;
  std::thread supervisor_;
  std::atomic<bool> stopping_{false};
};

// A zhisuan-agent on the fixture 8×H100 tree (fake NVML).
std::unique_ptr<harness::BackgroundProcess> StartAgent(const std::string& node,
                                                       const std::vector<std::string>& extra,
                                                       const std::string& log) {
  const std::string root = harness::SourceDir() + "/tests/fixtures/sysfs/h100-8x";
  std::vector<std::string> args = {
      BinaryDir() + "/agent/zhisuan-agent",
      "--kubeconfig=" + SharedControlPlane().admin_kubeconfig(),
      "--node-name=" + node,
      "--sysfs-root=" + root + "/sys",
      "--procfs-root=" + root + "/proc",
      "--nvml-library=" + BinaryDir() + "/fixtures/lib/nvml/libnvidia-ml.so.1",
      "--dcmi-library=/nonexistent/libdcmi.so",
      "--libcuda-library=/nonexistent/libcuda.so.1",
      "--sample-interval=1s",
      "--measure-flops-at-startup=false"};
  args.insert(args.end(), extra.begin(), extra.end());
  return std::make_unique<harness::BackgroundProcess>(args, log);
}

// Replaces a file's contents in place (O_TRUNC then write), as a naive feed writer does: a reader
// may see it empty or half written.
void Overwrite(const std::string& path, const std::string& contents) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << contents;
}

class FaultsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    agent::testing::InstallCrds();
    api_ = agent::testing::AdminClient();
    ASSERT_NE(api_, nullptr);
    replicas_ =
        std::make_unique<ControllerReplicas>(std::vector<std::string>{"faults-a", "faults-b"});
    replicas_->Start();
  }

  static void TearDownTestSuite() {
    if (replicas_) {
      EXPECT_THAT(replicas_->Crashes(), ::testing::IsEmpty()) << "a controller replica crashed";
      replicas_->Stop();
      replicas_.reset();
    }
    api_.reset();
  }

  void CreateNamespace(const std::string& name) {
    auto created =
        api_->Create(kube::ResourceType{"", "v1", "namespaces", "Namespace", false}, "",
                     {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}});
    ASSERT_TRUE(created.ok() || kube::IsAlreadyExists(created.status())) << created.status();
  }

  void CreateNode(const std::string& name, const std::string& suite) {
    Json node = {{"apiVersion", "v1"},
                 {"kind", "Node"},
                 {"metadata", {{"name", name}, {"labels", {{"suite", suite}}}}}};
    auto created = api_->Create(kube::kNodes, "", node);
    ASSERT_TRUE(created.ok()) << created.status();
    auto ready = api_->Patch(kube::kNodes, "", name, kube::PatchType::kMerge,
                             {{"status",
                               {{"conditions", Json::array({{{"type", "Ready"},
                                                             {"status", "True"},
                                                             {"reason", "KubeletReady"},
                                                             {"message", "set by test"}}})}}}},
                             {"", false, "status"});
    ASSERT_TRUE(ready.ok()) << ready.status();
  }

  // A Ready Node of `suite` and its ComputeNode with eight H100s on carbon-free power.
  void CreateMachine(const std::string& name, const std::string& suite) {
    CreateNode(name, suite);
    auto created = api_->Create(api::kComputeNodes, "",
                                {{"apiVersion", "zhisuan.io/v1alpha1"},
                                 {"kind", "ComputeNode"},
                                 {"metadata", {{"name", name}}}});
    ASSERT_TRUE(created.ok()) << created.status();
    Json devices = Json::array();
    for (int i = 0; i < 8; ++i) {
      devices.push_back({{"index", i},
                         {"uuid", StrCat("GPU-", name, "-", i)},
                         {"vendor", "nvidia"},
                         {"product", "H100-SXM5"},
                         {"health", "Healthy"},
                         {"peakFlops", {{"bf16", "989.4T"}}}});
    }
    SetComputeNodeStatus(name, {{"agentVersion", "test"},
                                {"acceleratorCount", 8},
                                {"healthyAcceleratorCount", 8},
                                {"accelerators", devices},
                                {"flops", {{"peak", {{"bf16", "7915T"}}}}},
                                {"powerCapacityWatts", 10200},
                                {"energy",
                                 {{"source", "hydro"},
                                  {"zone", "yaan"},
                                  {"carbonIntensity", 5},
                                  {"carbonFreeRatio", 1.0},
                                  {"averagePowerWatts", 5600},
                                  {"averagePowerSource", "counter"}}}});
  }

  void SetComputeNodeStatus(const std::string& name, const Json& status) {
    auto patched = api_->Patch(api::kComputeNodes, "", name, kube::PatchType::kMerge,
                               {{"status", status}}, {"", false, "status"});
    ASSERT_TRUE(patched.ok()) << name << ": " << patched.status();
  }

  static Json PoolObject(const std::string& ns, const std::string& name, const Json& spec) {
    return {{"apiVersion", "zhisuan.io/v1alpha1"},
            {"kind", "ComputePool"},
            {"metadata", {{"name", name}, {"namespace", ns}}},
            {"spec", spec}};
  }

  static Json AcceleratorsFrom(const std::string& suite, int accelerators) {
    return {{"capacity", {{"accelerators", accelerators}}},
            {"nodeSelector", {{"matchLabels", {{"suite", suite}}}}}};
  }

  // Creates a pool, retrying through faults; an AlreadyExists after a retry means the first
  // attempt landed.
  Status CreatePool(const std::string& ns, const std::string& name, const Json& spec) {
    Status created = Retrying([&] {
      auto result = api_->Create(api::kComputePools, ns, PoolObject(ns, name, spec));
      return result.ok() || kube::IsAlreadyExists(result.status()) ? OkStatus() : result.status();
    });
    if (created.ok()) expected_.present.insert(ns + "/" + name);
    return created;
  }

  Status PatchPoolSpec(const std::string& ns, const std::string& name, const Json& spec) {
    return Retrying([&] {
      return api_->Patch(api::kComputePools, ns, name, kube::PatchType::kMerge, {{"spec", spec}})
          .status();
    });
  }

  Status DeletePool(const std::string& ns, const std::string& name) {
    Status deleted = Retrying([&] {
      Status result = api_->Delete(api::kComputePools, ns, name);
      return kube::IsNotFound(result) ? OkStatus() : result;
    });
    if (deleted.ok()) {
      expected_.present.erase(ns + "/" + name);
      expected_.deleted.insert(ns + "/" + name);
    }
    return deleted;
  }

  static Json Pool(const std::string& ns, const std::string& name) {
    auto pool = api_->Get(api::kComputePools, ns, name);
    return pool.ok() ? *pool : Json();
  }

  static std::string Condition(const Json& pool, const std::string& type,
                               const std::string& field = "status") {
    for (const auto& condition : pool.value("/status/conditions"_json_pointer, Json::array())) {
      if (condition.value("type", "") == type) return condition.value(field, "");
    }
    return "";
  }

  static bool Ready(const Json& pool) {
    return Condition(pool, "Ready") == "True" &&
           pool.value("/status/observedGeneration"_json_pointer, -1) ==
               pool.value("/metadata/generation"_json_pointer, -2);
  }

  static std::vector<std::string> Members(const Json& pool) {
    return pool.value("/status/nodes"_json_pointer, std::vector<std::string>{});
  }

  static std::string LeaseHolder() {
    auto lease = api_->Get(kube::kLeases, "default", kLeaseName);
    return lease.ok() ? lease->value("/spec/holderIdentity"_json_pointer, std::string()) : "";
  }

  // The invariant check every case ends with: polls until the cluster is consistent, then fails
  // with every violation and a dump of pools and Nodes if it never became so. A violation is
  // reported by the first case that sees it; later cases (which see the same cluster) skip it, so
  // one lasting violation does not fail, and time out, every case after it.
  void ExpectInvariantsOnceSettled(std::chrono::seconds timeout = 60s) {
    std::vector<std::string> violations;
    auto fresh = [&] {
      violations.clear();
      for (auto& violation : FindViolations(*api_, expected_)) {
        if (!reported_.contains(violation)) violations.push_back(std::move(violation));
      }
      return violations.empty();
    };
    const bool settled = Eventually(fresh, timeout);
    EXPECT_TRUE(settled) << "invariants still violated after " << timeout.count() << " s:\n  "
                         << StrJoin(violations, "\n  ") << "\n"
                         << DumpCluster(*api_) << "controller deaths: ["
                         << StrJoin(replicas_->Deaths(), ", ") << "]";
    reported_.insert(violations.begin(), violations.end());
  }

  static inline kube::ApiClientPtr api_;
  static inline std::unique_ptr<ControllerReplicas> replicas_;
  static inline ExpectedPools expected_;
  static inline std::set<std::string> reported_;
};

// The harness ties each process it starts to the thread that started it (PR_SET_PDEATHSIG fires
// when that thread ends), so faults that restart the API server or etcd run on the test's main
// thread and the client traffic that overlaps them runs on a helper thread.

// 1. The API server restarts while a burst of creates, updates and deletes is under way.
TEST_F(FaultsTest, ApiServerRestartInTheMiddleOfABurst) {
  CreateNamespace("burst");
  for (int i = 0; i < 12; ++i) CreateMachine(StrCat("burst-", i < 10 ? "0" : "", i), "burst");
  std::atomic<int> created{0};
  std::vector<std::string> burst_errors;  // read after the join
  std::thread burst([&] {
    auto check = [&](const std::string& what, const Status& status) {
      if (!status.ok()) burst_errors.push_back(StrCat(what, ": ", status.ToString()));
    };
    for (int i = 0; i < 12; ++i) {
      Json spec = AcceleratorsFrom("burst", 8 * (1 + i % 2));
      if (i % 4 == 0) spec["allocation"] = "Partial";
      check(StrCat("create p", i), CreatePool("burst", StrCat("p", i), spec));
      ++created;
    }
    for (int i = 0; i < 12; i += 3) {
      check(StrCat("resize p", i),
            PatchPoolSpec("burst", StrCat("p", i), {{"capacity", {{"accelerators", 8}}}}));
    }
    for (int i : {1, 5, 9}) check(StrCat("delete p", i), DeletePool("burst", StrCat("p", i)));
  });
  Eventually([&] { return created.load() >= 4; });
  const Status restarted = SharedControlPlane().RestartApiServer();
  burst.join();
  ASSERT_TRUE(restarted.ok()) << restarted;
  EXPECT_THAT(burst_errors, ::testing::IsEmpty());
  ExpectInvariantsOnceSettled();
}

// 2. etcd restarts under the API server while pools change.
TEST_F(FaultsTest, EtcdRestart) {
  CreateNamespace("etcd");
  for (int i = 0; i < 4; ++i) CreateMachine(StrCat("etcd-", i), "etcd");
  ASSERT_TRUE(CreatePool("etcd", "a", AcceleratorsFrom("etcd", 16)).ok());
  ASSERT_TRUE(Eventually([&] { return Ready(Pool("etcd", "a")); })) << DumpCluster(*api_);

  // Pool a is resized back and forth for as long as the restart takes, then settles at 8.
  Status resized, created;
  std::atomic<bool> restart_done{false};
  std::thread changes([&] {
    for (int i = 0; !restart_done.load() && resized.ok(); ++i) {
      resized = PatchPoolSpec("etcd", "a", {{"capacity", {{"accelerators", i % 2 ? 16 : 8}}}});
    }
    if (resized.ok()) resized = PatchPoolSpec("etcd", "a", {{"capacity", {{"accelerators", 8}}}});
    created = CreatePool("etcd", "b", AcceleratorsFrom("etcd", 16));
  });
  const Status restarted = SharedControlPlane().RestartEtcd();
  restart_done.store(true);
  changes.join();
  ASSERT_TRUE(restarted.ok()) << restarted;
  EXPECT_TRUE(resized.ok()) << resized;
  EXPECT_TRUE(created.ok()) << created;

  // Both changes reconcile after the restart.
  EXPECT_TRUE(Eventually(
      [&] {
        const Json a = Pool("etcd", "a"), b = Pool("etcd", "b");
        return Ready(a) && Members(a).size() == 1 && Ready(b) && Members(b).size() == 2;
      },
      90s))
      << DumpCluster(*api_);
  ExpectInvariantsOnceSettled();
}

// 3. The API server hangs for 30 s (SIGSTOP) with every watch open. A pool created during the
// freeze (its request hangs until the thaw) and a change made right after both reconcile. The
// leader cannot renew its Lease while frozen; whether it steps down (exit 1, replaced by the
// supervisor) or renews after the thaw, some replica must lead and finish the work.
TEST_F(FaultsTest, ApiServerFrozenFor30Seconds) {
  CreateNamespace("freeze");
  for (int i = 0; i < 4; ++i) CreateMachine(StrCat("freeze-", i), "freeze");
  ASSERT_TRUE(CreatePool("freeze", "a", AcceleratorsFrom("freeze", 8)).ok());
  ASSERT_TRUE(Eventually([&] { return Ready(Pool("freeze", "a")); })) << DumpCluster(*api_);

  auto& plane = SharedControlPlane();
  plane.FreezeApiServer();
  Status created_during = UnknownError("not created");
  std::thread creator(
      [&] { created_during = CreatePool("freeze", "during", AcceleratorsFrom("freeze", 16)); });
  // The fault's duration, not an assertion: watches and requests hang for 30 s.
  std::this_thread::sleep_for(30s);
  plane.ThawApiServer();
  EXPECT_TRUE(PatchPoolSpec("freeze", "a", {{"capacity", {{"accelerators", 16}}}}).ok());
  creator.join();
  ASSERT_TRUE(created_during.ok()) << created_during;

  EXPECT_TRUE(Eventually(
      [&] {
        const Json a = Pool("freeze", "a"), during = Pool("freeze", "during");
        return Ready(a) && Members(a).size() == 2 && Ready(during) && Members(during).size() == 2;
      },
      90s))
      << DumpCluster(*api_) << "controller deaths: [" << StrJoin(replicas_->Deaths(), ", ") << "]";
  std::string holder;
  EXPECT_TRUE(Eventually([&] {
    holder = LeaseHolder();
    const auto live = replicas_->Identities();
    return std::find(live.begin(), live.end(), holder) != live.end();
  })) << "the Lease is held by \""
      << holder << "\", no live replica";
  ExpectInvariantsOnceSettled();
}

// 4. The leader is SIGKILLed mid-burst, without releasing its Lease: the standby takes the Lease
// once it expires and finishes the burst.
TEST_F(FaultsTest, LeaderKilledMidReconcileStandbyTakesOver) {
  CreateNamespace("leader");
  for (int i = 0; i < 10; ++i) CreateMachine(StrCat("leader-", i), "leader");
  std::string leader;
  ASSERT_TRUE(Eventually([&] {
    leader = LeaseHolder();
    const auto live = replicas_->Identities();
    return std::find(live.begin(), live.end(), leader) != live.end();
  })) << "no live leader; holder \""
      << leader << "\"";

  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(CreatePool("leader", StrCat("p", i), AcceleratorsFrom("leader", 8)).ok());
  }
  kube::ListOptions bound;
  bound.label_selector = "suite=leader,zhisuan.io/pool";
  ASSERT_TRUE(Eventually([&] {
    auto list = api_->List(kube::kNodes, "", bound);
    return list.ok() && list->items.size() >= 2;
  }));
  ASSERT_TRUE(replicas_->Kill(leader)) << leader;

  std::string successor;
  EXPECT_TRUE(Eventually([&] {
    successor = LeaseHolder();
    const auto live = replicas_->Identities();
    return successor != leader && std::find(live.begin(), live.end(), successor) != live.end();
  })) << "the Lease stayed with \""
      << successor << "\"";
  EXPECT_TRUE(Eventually(
      [&] {
        for (int i = 0; i < 10; ++i) {
          if (!Ready(Pool("leader", StrCat("p", i)))) return false;
        }
        return true;
      },
      90s))
      << DumpCluster(*api_);
  ExpectInvariantsOnceSettled();
}

// A client of the device plugin on its socket (the gRPC-generated client class is named Stub).
std::unique_ptr<v1beta1::DevicePlugin::Stub> DialPlugin(const std::string& socket) {
  return v1beta1::DevicePlugin::NewStub(
      grpc::CreateChannel("unix://" + socket, grpc::InsecureChannelCredentials()));
}

// The device plugin's view through its socket: device ID -> health, from the first
// ListAndWatch response. Empty when the plugin does not answer.
std::map<std::string, std::string> ListDevices(const std::string& socket) {
  auto plugin = DialPlugin(socket);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 5s);
  auto stream = plugin->ListAndWatch(&context, v1beta1::Empty());
  v1beta1::ListAndWatchResponse response;
  std::map<std::string, std::string> devices;
  if (stream->Read(&response)) {
    for (const auto& device : response.devices()) devices[device.id()] = device.health();
  }
  context.TryCancel();
  (void)stream->Finish();
  return devices;
}

grpc::Status Allocate(v1beta1::DevicePlugin::Stub& plugin, const std::vector<std::string>& ids,
                      v1beta1::AllocateResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 2s);
  v1beta1::AllocateRequest request;
  auto* container = request.add_container_requests();
  for (const auto& id : ids) container->add_devicesids(id);
  return plugin.Allocate(&context, request, response);
}

grpc::Status Allocate(const std::string& socket, const std::vector<std::string>& ids,
                      v1beta1::AllocateResponse* response) {
  return Allocate(*DialPlugin(socket), ids, response);
}

// 5. The agent is SIGKILLed while the kubelet is calling Allocate, then restarts (its dead
// socket still in the directory); later the kubelet restarts too. Each time the plugin
// registers again and serves the same eight healthy devices.
TEST_F(FaultsTest, AgentKilledMidAllocateThenKubeletRestarts) {
  agent::testing::CreateNode("fault-dp");
  TempDir dir;
  const std::string logs = SharedControlPlane().work_dir();
  auto kubelet = std::make_unique<KubeletStandIn>(dir.path());
  const std::vector<std::string> flags = {"--advertise=device-plugin",
                                          "--device-plugin-dir=" + dir.path(),
                                          "--listen-address=127.0.0.1:0"};
  auto agent = StartAgent("fault-dp", flags, logs + "/agent-dp-1.log");
  ASSERT_TRUE(kubelet->WaitForRequests(1, 60s)) << ReadFile(logs + "/agent-dp-1.log");
  const std::string socket = dir.path() + "/" + kubelet->requests()[0].endpoint();
  std::map<std::string, std::string> devices;
  ASSERT_TRUE(Eventually([&] { return (devices = ListDevices(socket)).size() == 8; }, 10s));
  std::vector<std::string> ids;
  for (const auto& [id, health] : devices) {
    EXPECT_EQ(health, "Healthy") << id;
    ids.push_back(id);
  }

  // The kubelet allocates in a loop; the agent dies under it. Like the kubelet, the loop keeps one
  // connection to the plugin: a channel per call left thousands of subchannels for gRPC to tear
  // down, which under TSan took its thread pool to hundreds of threads and the test past its
  // deadlines.
  std::atomic<int> granted{0}, refused{0};
  std::atomic<bool> stop{false};
  std::mutex refusal_mu;
  std::string first_refusal;  // for the failure message
  std::thread allocator([&] {
    auto plugin = DialPlugin(socket);
    for (size_t i = 0; !stop.load(); ++i) {
      v1beta1::AllocateResponse response;
      const auto status = Allocate(*plugin, {ids[i % 8], ids[(i + 3) % 8]}, &response);
      ++(status.ok() ? granted : refused);
      if (status.ok()) continue;
      std::lock_guard lock(refusal_mu);
      if (first_refusal.empty()) {
        first_refusal = std::to_string(status.error_code()) + " " + status.error_message();
      }
    }
  });
  EXPECT_TRUE(Eventually([&] { return granted.load() >= 20; }, 30s))
      << "granted " << granted.load() << ", refused " << refused.load()
      << ", first refusal: " << [&] {
           std::lock_guard lock(refusal_mu);
           return first_refusal;
         }();
  agent->Kill();
  EXPECT_TRUE(Eventually([&] { return refused.load() >= 1; }, 10s));
  stop.store(true);
  allocator.join();

  // Restart with the kubelet still up: the dead socket is replaced and the plugin registers again.
  agent = StartAgent("fault-dp", flags, logs + "/agent-dp-2.log");
  ASSERT_TRUE(kubelet->WaitForRequests(2, 60s)) << ReadFile(logs + "/agent-dp-2.log");
  EXPECT_EQ(kubelet->requests()[1].endpoint(), kubelet->requests()[0].endpoint());
  auto serves_all = [&] {
    auto now = ListDevices(socket);
    if (now.size() != devices.size()) return false;
    for (const auto& [id, health] : now) {
      if (!devices.contains(id) || health != "Healthy") return false;
    }
    v1beta1::AllocateResponse response;
    if (!Allocate(socket, {ids[0], ids[7]}, &response).ok() ||
        response.container_responses_size() != 1) {
      return false;
    }
    const auto& envs = response.container_responses(0).envs();
    auto visible = envs.find("NVIDIA_VISIBLE_DEVICES");
    return visible != envs.end() && visible->second == ids[0] + "," + ids[7];
  };
  EXPECT_TRUE(Eventually(serves_all, 10s)) << "no device may be lost from the advertised set";

  // The kubelet restarts: it removes every socket and serves a new kubelet.sock.
  kubelet->Stop();
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    std::filesystem::remove(entry.path());
  }
  kubelet = std::make_unique<KubeletStandIn>(dir.path());
  ASSERT_TRUE(kubelet->WaitForRequests(1, 30s)) << ReadFile(logs + "/agent-dp-2.log");
  EXPECT_TRUE(Eventually(serves_all, 10s)) << "no device may be lost from the advertised set";
  EXPECT_TRUE(Eventually([&] {
    auto node = api_->Get(api::kComputeNodes, "", "fault-dp");
    return node.ok() && node->value("/status/acceleratorCount"_json_pointer, 0) == 8;
  }));
  agent->Stop();
  ExpectInvariantsOnceSettled();
}

// 6. A member Node is deleted: the pool repairs from a spare; when no spare is left it keeps
// what it has and says it is short. The deleted Node never lingers in the status.
TEST_F(FaultsTest, NodeDeletedWhileInAPool) {
  CreateNamespace("nodedel");
  for (int i = 0; i < 3; ++i) CreateMachine(StrCat("nodedel-", i), "nodedel");
  ASSERT_TRUE(CreatePool("nodedel", "p", AcceleratorsFrom("nodedel", 16)).ok());
  ASSERT_TRUE(Eventually([&] { return Ready(Pool("nodedel", "p")); })) << DumpCluster(*api_);
  const std::vector<std::string> first = Members(Pool("nodedel", "p"));
  ASSERT_EQ(first.size(), 2u);

  ASSERT_TRUE(api_->Delete(kube::kNodes, "", first[0]).ok());
  auto without = [](const std::vector<std::string>& members, const std::string& gone) {
    return std::find(members.begin(), members.end(), gone) == members.end();
  };
  EXPECT_TRUE(Eventually([&] {
    const Json pool = Pool("nodedel", "p");
    return Ready(pool) && Members(pool).size() == 2 && without(Members(pool), first[0]);
  })) << DumpCluster(*api_);
  ExpectInvariantsOnceSettled();

  ASSERT_TRUE(api_->Delete(kube::kNodes, "", first[1]).ok());
  EXPECT_TRUE(Eventually([&] {
    const Json pool = Pool("nodedel", "p");
    return Condition(pool, "CapacitySatisfied") == "False" && Condition(pool, "Ready") == "False" &&
           without(Members(pool), first[0]) && without(Members(pool), first[1]);
  })) << DumpCluster(*api_);
  ExpectInvariantsOnceSettled();
}

// The value of `series` (a full series name with labels) in Prometheus text; -1 when absent.
double Scrape(int port, const std::string& series) {
  const harness::HttpReply reply = harness::LoopbackRequest(port, "GET", "/metrics");
  for (const auto& line : StrSplit(reply.body, '\n')) {
    if (StartsWith(line, series + " ")) {
      return std::atof(std::string(line.substr(series.size() + 1)).c_str());
    }
  }
  return -1;
}

// 7. The energy feed file is truncated, cut off mid-write, overwritten with garbage and with an
// out-of-range value. The agent keeps running and keeps the last good profile, logs why and
// counts each rejection; the ComputeNode and the pool keep the good carbon figures; a fixed file
// is picked up.
TEST_F(FaultsTest, EnergyFeedFileTruncatedOrGarbled) {
  CreateNamespace("energy");
  CreateNode("energy-0", "energy");
  TempDir dir;
  const std::string feed = dir.path() + "/energy.yaml";
  const std::string log = SharedControlPlane().work_dir() + "/agent-energy.log";
  Overwrite(feed,
            "source: hydro\nzone: yaan\ncarbonIntensityGramsPerKwh: 5\ncarbonFreeRatio: 1.0\n");
  const int port = harness::PickFreePort();
  auto agent =
      StartAgent("energy-0",
                 {"--advertise=none", "--energy-profile-file=" + feed,
                  // A short window, so that the average power that weights the pool's
                  // carbon figures is known within seconds.
                  "--energy-average-window=12s", StrCat("--listen-address=127.0.0.1:", port)},
                 log);
  // The node's carbon figures; the average power beside them moves with every sample.
  auto energy = [&] {
    auto node = api_->Get(api::kComputeNodes, "", "energy-0");
    Json figures = node.ok() ? node->value("/status/energy"_json_pointer, Json()) : Json();
    if (figures.is_object()) {
      figures.erase("averagePowerWatts");
      figures.erase("averagePowerSource");
    }
    return figures;
  };
  const Json good = {
      {"source", "hydro"}, {"zone", "yaan"}, {"carbonIntensity", 5}, {"carbonFreeRatio", 1}};
  ASSERT_TRUE(Eventually([&] { return energy() == good; })) << energy() << ReadFile(log);
  ASSERT_TRUE(CreatePool("energy", "green",
                         {{"capacity", {{"accelerators", 8}}},
                          {"carbon", {{"minCarbonFreeRatio", 0.9}}},
                          {"nodeSelector", {{"matchLabels", {{"suite", "energy"}}}}}})
                  .ok());
  ASSERT_TRUE(Eventually([&] { return Ready(Pool("energy", "green")); })) << DumpCluster(*api_);

  const std::string errors = R"(zhisuan_agent_errors_total{component="energy_profile"})";
  const double errors_before = std::max(0.0, Scrape(port, errors));
  const std::vector<std::pair<std::string, std::string>> bad_feeds = {
      {"truncated to nothing", ""},
      {"cut off mid-line", "source: hydro\nzone: yaan\ncarbonIntensityGramsPerKwh: 5\ncarbonFr"},
      {"JSON cut off before its closing brace",
       R"({"source": "hydro", "zone": "yaan", "carbonFreeRatio": 1.0)"},
      {"garbage bytes", std::string("\x00\xff\xfe{{[[:::", 11)},
      {"out-of-range value", "source: hydro\ncarbonIntensityGramsPerKwh: 5\ncarbonFreeRatio: 7\n"}};
  for (size_t i = 0; i < bad_feeds.size(); ++i) {
    SCOPED_TRACE(bad_feeds[i].first);
    Overwrite(feed, bad_feeds[i].second);
    EXPECT_TRUE(Eventually([&] { return Scrape(port, errors) >= errors_before + i + 1; }, 20s))
        << "the rejection is not counted; " << errors << " = " << Scrape(port, errors);
    // Two more sampler ticks and publish passes (1 s each) on top of the rejected file.
    const double samples = Scrape(port, "zhisuan_agent_samples_total");
    EXPECT_TRUE(Eventually(
        [&] { return Scrape(port, "zhisuan_agent_samples_total") >= samples + 2; }, 20s));
    EXPECT_EQ(energy(), good) << "the ComputeNode took a bad profile";
    EXPECT_TRUE(Ready(Pool("energy", "green"))) << DumpCluster(*api_);
    EXPECT_EQ(Pool("energy", "green").value("/status/carbonFreeRatio"_json_pointer, -1.0), 1.0);
  }
  EXPECT_THAT(ReadFile(log), HasSubstr("rejected, keeping the last good profile"));
  EXPECT_FALSE(HowItEnded(agent->pid()).has_value()) << "the agent died:\n" << ReadFile(log);

  // Fixed: the new figures reach the ComputeNode and the pool.
  Overwrite(feed,
            "source: hydro\nzone: yaan\ncarbonIntensityGramsPerKwh: 20\ncarbonFreeRatio: 0.95\n");
  EXPECT_TRUE(Eventually([&] {
    return energy().value("carbonFreeRatio", -1.0) == 0.95 &&
           Pool("energy", "green").value("/status/carbonFreeRatio"_json_pointer, -1.0) == 0.95 &&
           Ready(Pool("energy", "green"));
  })) << energy()
      << DumpCluster(*api_);
  agent->Stop();
  ExpectInvariantsOnceSettled();
}

// 8. Hostile ComputeNodes written directly as admin: FLOPS beyond any real part, negative FLOPS,
// an unknown precision, an oversized accelerator list and a wrong type. The CRD refuses most of
// these, so the case loosens the served schema first (as an older or hand-edited CRD would) and
// restores it at the end. The controller must not crash, must warn on each such ComputeNode with an
// Event, must never bind their Nodes, and must keep reconciling the other pools.
TEST_F(FaultsTest, HostileComputeNodesAreIgnoredWithAWarning) {
  CreateNamespace("hostile");
  for (int i = 0; i < 3; ++i) CreateMachine(StrCat("hostile-z", i), "hostile");
  ASSERT_TRUE(CreatePool("hostile", "steady", AcceleratorsFrom("hostile", 8)).ok());
  ASSERT_TRUE(Eventually([&] { return Ready(Pool("hostile", "steady")); })) << DumpCluster(*api_);

  auto devices = [](const std::string& name, int count, const Json& peak) {
    Json list = Json::array();
    for (int i = 0; i < count; ++i) {
      list.push_back({{"index", i},
                      {"uuid", StrCat("GPU-", name, "-", i)},
                      {"vendor", "nvidia"},
                      {"product", "H100-SXM5"},
                      {"health", "Healthy"},
                      {"peakFlops", peak}});
    }
    return list;
  };
  // Sorted before the honest nodes, so a planner that trusted them would pick them first.
  const std::map<std::string, Json> hostile = {
      {"hostile-a-huge", Json{{"accelerators", devices("hostile-a-huge", 8, {{"bf16", "1E"}})}}},
      {"hostile-b-negative",
       Json{{"accelerators", devices("hostile-b-negative", 8, {{"bf16", "-989T"}})}}},
      {"hostile-c-precision", Json{{"accelerators", devices("hostile-c-precision", 8,
                                                            {{"fp3", "989T"}, {"bf16", "989T"}})}}},
      {"hostile-d-many",
       Json{{"accelerators", devices("hostile-d-many", 500, {{"bf16", "989T"}})}}},
      {"hostile-e-type", Json{{"accelerators", "all of them"}}}};

  auto& plane = SharedControlPlane();
  const std::string loosen =
      R"([{"op":"replace","path":"/spec/versions/0/schema/openAPIV3Schema/properties/status",)"
      R"("value":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}])";
  auto loosened =
      plane.Kubectl({"patch", "crd", "computenodes.zhisuan.io", "--type=json", "-p", loosen});
  ASSERT_EQ(loosened.exit_code, 0) << loosened.output;
  for (const auto& [name, status] : hostile) {
    CreateNode(name, "hostile");
    ASSERT_TRUE(api_->Create(api::kComputeNodes, "",
                             {{"apiVersion", "zhisuan.io/v1alpha1"},
                              {"kind", "ComputeNode"},
                              {"metadata", {{"name", name}}}})
                    .ok());
    // The loosened schema reaches the API server's handlers a moment after the patch.
    Status written = Retrying([&] {
      return api_
          ->Patch(api::kComputeNodes, "", name, kube::PatchType::kMerge, {{"status", status}},
                  {"", false, "status"})
          .status();
    });
    EXPECT_TRUE(written.ok()) << name << ": " << written;
  }
  // Watches opened before the CRD change go on decoding with the old schema, which prunes the
  // unknown precision from what they deliver; a rolling restart of the controller (as a helm
  // upgrade that changes the CRD does) gives it fresh watches that see the data as stored.
  replicas_->Roll();

  // The controller keeps reconciling: a new pool binds the two free honest nodes, never a
  // hostile one, and the steady pool stays Ready. Its reconcile is also what reports the ignored
  // ComputeNodes: the controller warns about them as it plans, and a change to a free node's
  // ComputeNode queues only the pools waiting for capacity (none before this one).
  ASSERT_TRUE(CreatePool("hostile", "after", AcceleratorsFrom("hostile", 16)).ok());
  EXPECT_TRUE(Eventually([&] {
    const Json after = Pool("hostile", "after");
    return Ready(after) && Members(after).size() == 2 && Ready(Pool("hostile", "steady"));
  })) << DumpCluster(*api_);
  // A Warning Event on each, naming the reason.
  for (const auto& [name, status] : hostile) {
    kube::ListOptions options;
    options.field_selector = StrCat("involvedObject.kind=ComputeNode,involvedObject.name=", name,
                                    ",reason=IgnoredComputeNode");
    Json event;
    EXPECT_TRUE(Eventually(
        [&] {
          auto events = api_->List(kube::kEvents, "", options);
          if (!events.ok() || events->items.empty()) return false;
          event = events->items[0];
          return true;
        },
        30s))
        << "no IgnoredComputeNode event for " << name << "; stored as "
        << api_->Get(api::kComputeNodes, "", name).value_or(Json()).dump();
    if (event.is_null()) continue;
    EXPECT_EQ(event.value("type", ""), "Warning") << event;
    EXPECT_THAT(event.value("message", ""), HasSubstr("ignores this ComputeNode")) << event;
  }

  for (const char* pool : {"steady", "after"}) {
    for (const auto& member : Members(Pool("hostile", pool))) {
      EXPECT_FALSE(hostile.contains(member)) << member << " was bound to " << pool;
    }
  }
  EXPECT_THAT(replicas_->Crashes(), ::testing::IsEmpty());

  // Back to the chart's CRD. The server now prunes the unknown precision when it reads
  // hostile-c-precision (pruning applies to stored data too), so that one turns valid; the others
  // stay stored as they are and stay ignored.
  auto restored = plane.Kubectl({"apply", "-f", harness::SourceDir() + "/charts/zhisuan/crds/"});
  EXPECT_EQ(restored.exit_code, 0) << restored.output;
  EXPECT_EQ(plane
                .Kubectl({"get", "crd", "computenodes.zhisuan.io", "-o",
                          "jsonpath={.spec.versions[0].schema.openAPIV3Schema.properties.status."
                          "properties.accelerators.maxItems}"})
                .output,
            "64")
      << "the ComputeNode CRD was not restored";

  ExpectInvariantsOnceSettled();
}

}  // namespace
}  // namespace zhisuan::faults
