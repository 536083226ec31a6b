// The zhisuan-controller binary against a real kube-apiserver: Nodes and ComputeNodes are made by
// hand (no kubelet, no agent), the controller runs as a child process, and every assertion reads
// the API. Each test keeps to its own nodes (label suite=<test>) and namespace, so tests do not
// compete for nodes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <thread>

#include "api/compute_node.h"
#include "api/meta.h"
#include "common/strings.h"
#include "kube/config.h"
#include "kube/rest_client.h"
#include "tests/harness/control_plane_environment.h"

namespace zhisuan::controller {
namespace {

using harness::SharedControlPlane;
using ::testing::HasSubstr;
using Json = nlohmann::json;

std::string ControllerBinary() {
  const char* dir = std::getenv("ZHISUAN_BINARY_DIR");
  return StrCat(dir != nullptr ? dir : ".", "/controller/zhisuan-controller");
}

// The chart's tenant ClusterRole (release "zhisuan"), from `helm template --show-only
// templates/rbac.yaml`; helm sits next to kubectl in the toolchain.
std::string TenantRoleFromChart() {
  const std::string helm =
      (std::filesystem::path(SharedControlPlane().kubectl_path()).parent_path() / "helm").string();
  const std::string command = helm + " template zhisuan '" + harness::SourceDir() +
                              "/charts/zhisuan' --namespace zhisuan-system --kube-version 1.34.4" +
                              " --show-only templates/rbac.yaml 2>&1";
  std::string rendered;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) rendered.append(buffer, n);
    EXPECT_EQ(pclose(pipe), 0) << command << ": " << rendered;
  }
  size_t start = 0;
  while (start < rendered.size()) {
    size_t end = rendered.find("\n---", start);
    if (end == std::string::npos) end = rendered.size();
    const std::string doc = rendered.substr(start, end - start);
    if (doc.find("\n  name: zhisuan-tenant\n") != std::string::npos) return doc;
    start = end + 4;
  }
  ADD_FAILURE() << "no zhisuan-tenant ClusterRole in " << rendered;
  return "";
}

// One zhisuan-controller replica; killed with the test if the test dies.
class ControllerProcess {
 public:
  ControllerProcess(std::string identity, std::vector<std::string> extra_args)
      : identity_(std::move(identity)), extra_args_(std::move(extra_args)) {}

  void Start() {
    std::vector<std::string> args = {
        ControllerBinary(),    "--kubeconfig=" + SharedControlPlane().admin_kubeconfig(),
        "--metrics-address=0", "--leader-election-namespace=default",
        "--health-grace=0",    "--carbon-grace=0"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    process_ = std::make_unique<harness::BackgroundProcess>(
        args, StrCat(SharedControlPlane().work_dir(), "/controller-", identity_, ".log"),
        std::vector<std::string>{"POD_NAME=" + identity_});
  }
  // SIGTERM and wait: the exit status.
  int Stop() { return process_ ? process_->Stop() : -1; }
  void Kill() {
    if (process_) process_->Kill();
  }
  const std::string& identity() const { return identity_; }

 private:
  std::string identity_;
  std::vector<std::string> extra_args_;
  std::unique_ptr<harness::BackgroundProcess> process_;
};

class PoolControllerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto& plane = SharedControlPlane();
    const Status installed = plane.InstallCrds();
    ASSERT_TRUE(installed.ok()) << installed;
  }

  void SetUp() override {
    auto config = kube::LoadKubeconfig(SharedControlPlane().admin_kubeconfig());
    ASSERT_TRUE(config.ok()) << config.status();
    auto client = kube::NewRestClient(*config);
    ASSERT_TRUE(client.ok()) << client.status();
    api_ = *client;
  }

  void CreateNamespace(const std::string& name) {
    auto created =
        api_->Create(kube::ResourceType{"", "v1", "namespaces", "Namespace", false}, "",
                     {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}});
    ASSERT_TRUE(created.ok() || kube::IsAlreadyExists(created.status())) << created.status();
  }

  // A Ready Node and its ComputeNode: `gpus` H100s, in `zone`, at `carbon_free`.
  void CreateMachine(const std::string& name, const std::string& suite, const std::string& zone,
                     double carbon_free, int gpus = 8) {
    Json node = {
        {"apiVersion", "v1"},
        {"kind", "Node"},
        {"metadata",
         {{"name", name}, {"labels", {{"suite", suite}, {"topology.kubernetes.io/zone", zone}}}}}};
    ASSERT_TRUE(api_->Create(kube::kNodes, "", node).ok());
    SetNodeReady(name, true);
    ASSERT_TRUE(api_->Create(api::kComputeNodes, "",
                             {{"apiVersion", "zhisuan.io/v1alpha1"},
                              {"kind", "ComputeNode"},
                              {"metadata", {{"name", name}}}})
                    .ok());
    api::ComputeNodeStatus status;
    status.agent_version = "test";
    for (int i = 0; i < gpus; ++i) {
      api::AcceleratorStatus device;
      device.index = i;
      device.uuid = StrCat("GPU-", name, "-", i);
      device.vendor = "nvidia";
      device.product = "H100-SXM5";
      api::At(device.peak_flops, api::Precision::kBf16) = 989.4e12;
      api::At(status.peak_flops, api::Precision::kBf16) += 989.4e12;
      status.accelerators.push_back(device);
    }
    status.power_capacity_watts = 10200;
    status.energy = {"hydro",     zone, carbon_free < 1 ? 400 * (1 - carbon_free) : 5.0,
                     carbon_free, 6000, "counter"};
    SetComputeNodeStatus(name, api::ToJson(status));
  }

  void SetNodeReady(const std::string& name, bool ready) {
    auto patched = api_->Patch(
        kube::kNodes, "", name, kube::PatchType::kMerge,
        {{"status",
          {{"conditions", Json::array({{{"type", "Ready"},
                                        {"status", ready ? "True" : "False"},
                                        {"reason", ready ? "KubeletReady" : "KubeletNotReady"},
                                        {"message", "set by test"}}})}}}},
        {"", false, "status"});
    ASSERT_TRUE(patched.ok()) << patched.status();
  }

  void SetComputeNodeStatus(const std::string& name, const Json& status) {
    auto patched = api_->Patch(api::kComputeNodes, "", name, kube::PatchType::kMerge,
                               {{"status", status}}, {"", false, "status"});
    ASSERT_TRUE(patched.ok()) << patched.status();
  }

  void SetCarbonFree(const std::string& name, double ratio) {
    SetComputeNodeStatus(name, {{"energy", {{"carbonFreeRatio", ratio}}}});
  }

  void CreatePool(const std::string& ns, const std::string& name, const Json& spec) {
    auto created = api_->Create(api::kComputePools, ns,
                                {{"apiVersion", "zhisuan.io/v1alpha1"},
                                 {"kind", "ComputePool"},
                                 {"metadata", {{"name", name}, {"namespace", ns}}},
                                 {"spec", spec}});
    ASSERT_TRUE(created.ok()) << created.status();
  }

  Json Pool(const std::string& ns, const std::string& name) {
    auto pool = api_->Get(api::kComputePools, ns, name);
    return pool.ok() ? *pool : Json();
  }

  std::string Condition(const Json& pool, const std::string& type, const std::string& field) {
    for (const auto& condition : pool.value("/status/conditions"_json_pointer, Json::array())) {
      if (condition.value("type", "") == type) return condition.value(field, "");
    }
    return "";
  }

  // The effect of `node`'s zhisuan.io/pool taint, "" when it has none.
  std::string PoolTaintEffect(const std::string& node) {
    auto object = api_->Get(kube::kNodes, "", node);
    if (!object.ok()) return "";
    for (const auto& taint : object->value("/spec/taints"_json_pointer, Json::array())) {
      if (taint.value("key", "") == "zhisuan.io/pool") return taint.value("effect", "");
    }
    return "";
  }

  // A pod of `ns` bound to `node` (spec.nodeName: the scheduler never sees it), reported Running
  // as a kubelet would: a Pending pod may be evicted whatever its PodDisruptionBudget says.
  void CreateRunningPod(const std::string& ns, const std::string& name, const std::string& node,
                        const std::string& app) {
    // No kube-controller-manager here to give the namespace its default ServiceAccount, which
    // pod admission looks up.
    auto account = api_->Create(
        kube::ResourceType{"", "v1", "serviceaccounts", "ServiceAccount", true}, ns,
        {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", "default"}}}});
    ASSERT_TRUE(account.ok() || kube::IsAlreadyExists(account.status())) << account.status();
    auto created = api_->Create(
        kube::kPods, ns,
        {{"apiVersion", "v1"},
         {"kind", "Pod"},
         {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", app}}}}},
         {"spec",
          {{"nodeName", node},
           {"containers", Json::array({{{"name", "c"}, {"image", "registry.example/x:1"}}})}}}});
    ASSERT_TRUE(created.ok()) << created.status();
    auto running = api_->Patch(kube::kPods, ns, name, kube::PatchType::kMerge,
                               {{"status", {{"phase", "Running"}}}}, {"", false, "status"});
    ASSERT_TRUE(running.ok()) << running.status();
  }

  // Nodes of `suite` labelled for `binding`, sorted.
  std::vector<std::string> BoundNodes(const std::string& suite, const std::string& binding) {
    std::vector<std::string> names;
    kube::ListOptions options;
    options.label_selector = StrCat("suite=", suite, ",zhisuan.io/pool=", binding);
    auto list = api_->List(kube::kNodes, "", options);
    if (!list.ok()) return names;
    for (const auto& node : list->items) {
      names.push_back(node["metadata"]["name"].get<std::string>());
      // Label and taint always travel together.
      bool tainted = false;
      for (const auto& taint : node.value("/spec/taints"_json_pointer, Json::array())) {
        tainted = tainted ||
                  (taint.value("key", "") == "zhisuan.io/pool" &&
                   taint.value("value", "") == binding && taint.value("effect", "") == "NoExecute");
      }
      EXPECT_TRUE(tainted) << names.back() << " is labelled without the taint";
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  // Polls `done` every 200 ms for up to `timeout`.
  static bool Eventually(const std::function<bool()>& done,
                         std::chrono::seconds timeout = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return done();
  }

  static kube::ListOptions Selecting(std::string selector) {
    kube::ListOptions options;
    options.label_selector = std::move(selector);
    return options;
  }

  kube::ApiClientPtr api_;
};

TEST_F(PoolControllerTest, BindsZeroCarbonNodesAndExplainsUnsatisfiablePools) {
  CreateNamespace("green");
  for (int i = 0; i < 3; ++i) CreateMachine(StrCat("green-yaan-", i), "green", "yaan", 1.0);
  for (int i = 0; i < 3; ++i) CreateMachine(StrCat("green-ordos-", i), "green", "ordos", 0.2);
  const int metrics_port = harness::PickFreePort();
  const std::string metrics = StrCat("http://127.0.0.1:", metrics_port);
  ControllerProcess controller("green", {"--leader-election-id=green",
                                         StrCat("--metrics-address=127.0.0.1:", metrics_port)});
  controller.Start();

  CreatePool("green", "zero",
             {{"capacity", {{"accelerators", 16}}},
              {"carbon", {{"minCarbonFreeRatio", 1.0}}},
              {"nodeSelector", {{"matchLabels", {{"suite", "green"}}}}}});
  CreatePool(
      "green", "huge",
      {{"capacity", {{"flops", "1E"}}}, {"nodeSelector", {{"matchLabels", {{"suite", "green"}}}}}});

  ASSERT_TRUE(Eventually([&] {
    return Condition(Pool("green", "zero"), "Ready", "status") == "True";
  })) << Pool("green", "zero").dump(2);
  const Json zero = Pool("green", "zero");
  EXPECT_EQ(zero["status"]["nodes"], Json::array({"green-yaan-0", "green-yaan-1"}));
  EXPECT_EQ(zero["status"]["acceleratorCount"], 16);
  EXPECT_EQ(zero["status"]["carbonFreeRatio"], 1.0);
  EXPECT_EQ(zero["status"]["observedGeneration"], zero["metadata"]["generation"]);
  EXPECT_EQ(zero["metadata"]["finalizers"], Json::array({"zhisuan.io/pool-cleanup"}));
  EXPECT_EQ(BoundNodes("green", "green.zero"),
            (std::vector<std::string>{"green-yaan-0", "green-yaan-1"}));

  // Once "zero" holds its nodes, "huge" is told what is left: the other four nodes.
  ASSERT_TRUE(Eventually([&] {
    return StartsWith(Condition(Pool("green", "huge"), "CapacitySatisfied", "message"),
                      "need 1E bf16; only 31.66P bf16 eligible");
  })) << Pool("green", "huge").dump(2);
  EXPECT_EQ(Condition(Pool("green", "huge"), "CapacitySatisfied", "reason"),
            "InsufficientCapacity");
  EXPECT_THAT(Condition(Pool("green", "huge"), "CapacitySatisfied", "message"),
              HasSubstr("nodes not eligible: 2 in other pools"));
  EXPECT_TRUE(BoundNodes("green", "green.huge").empty());

  // What the pools hold and what is free, as Prometheus sees it.
  auto scrape = [&](const std::string& path) {
    return harness::RunCommand(
        {"/usr/bin/curl", "-sS", "-o", "/dev/stdout", "-w", "\n%{http_code}", metrics + path});
  };
  ASSERT_TRUE(Eventually([&] {
    return scrape("/metrics")
               .output.find(R"(zhisuan_pool_ready{namespace="green",pool="zero"} 1)") !=
           std::string::npos;
  })) << scrape("/metrics").output;
  const std::string text = scrape("/metrics").output;
  EXPECT_THAT(text, HasSubstr(R"(zhisuan_pool_nodes{namespace="green",pool="zero"} 2)"));
  EXPECT_THAT(text, HasSubstr(R"(zhisuan_pool_ready{namespace="green",pool="huge"} 0)"));
  EXPECT_THAT(text, HasSubstr("zhisuan_controller_is_leader 1"));
  EXPECT_THAT(text, HasSubstr(R"(zhisuan_cluster_flops{precision="bf16",state="bound"})"));
  EXPECT_THAT(text, HasSubstr("zhisuan_controller_reconcile_duration_seconds_count"));
  EXPECT_THAT(scrape("/healthz").output, ::testing::EndsWith("200"));
  EXPECT_THAT(scrape("/readyz").output, ::testing::EndsWith("200"));
  EXPECT_EQ(controller.Stop(), 0);
}

TEST_F(PoolControllerTest, RepairsResizesAndCleansUp) {
  CreateNamespace("life");
  for (int i = 0; i < 4; ++i) CreateMachine(StrCat("life-", i), "life", "kunming-a", 1.0);
  ControllerProcess controller("life", {"--leader-election-id=life"});
  controller.Start();
  CreatePool("life", "p",
             {{"capacity", {{"accelerators", 16}}},
              {"carbon", {{"minCarbonFreeRatio", 0.9}}},
              {"nodeSelector", {{"matchLabels", {{"suite", "life"}}}}}});
  const std::vector<std::string> first = {"life-0", "life-1"};
  ASSERT_TRUE(Eventually([&] { return BoundNodes("life", "life.p") == first; }));

  // A member turns NotReady: a spare replaces it (health grace 0 for the test).
  SetNodeReady("life-1", false);
  const std::vector<std::string> repaired = {"life-0", "life-2"};
  ASSERT_TRUE(Eventually([&] { return BoundNodes("life", "life.p") == repaired; }))
      << Pool("life", "p").dump(2);

  // A member's energy turns dirty: the last spare replaces it.
  SetCarbonFree("life-0", 0.3);
  const std::vector<std::string> green = {"life-2", "life-3"};
  ASSERT_TRUE(Eventually([&] { return BoundNodes("life", "life.p") == green; }))
      << Pool("life", "p").dump(2);
  ASSERT_TRUE(
      Eventually([&] { return Condition(Pool("life", "p"), "Ready", "status") == "True"; }));

  // Grow beyond what is eligible: all-or-nothing keeps what it has and says what is missing.
  auto grown = api_->Patch(api::kComputePools, "life", "p", kube::PatchType::kMerge,
                           {{"spec", {{"capacity", {{"accelerators", 32}}}}}});
  ASSERT_TRUE(grown.ok()) << grown.status();
  ASSERT_TRUE(Eventually([&] {
    return Condition(Pool("life", "p"), "CapacitySatisfied", "reason") == "CapacityDegraded";
  })) << Pool("life", "p").dump(2);
  EXPECT_EQ(BoundNodes("life", "life.p"), green);
  // The carbon recovers on life-0 and life-1 comes back: the pool grows onto them.
  SetCarbonFree("life-0", 1.0);
  SetNodeReady("life-1", true);
  const std::vector<std::string> all = {"life-0", "life-1", "life-2", "life-3"};
  ASSERT_TRUE(Eventually([&] { return BoundNodes("life", "life.p") == all; }));

  // Shrink to one node.
  ASSERT_TRUE(api_->Patch(api::kComputePools, "life", "p", kube::PatchType::kMerge,
                          {{"spec", {{"capacity", {{"accelerators", 8}}}}}})
                  .ok());
  ASSERT_TRUE(Eventually([&] { return BoundNodes("life", "life.p").size() == 1; }));
  ASSERT_TRUE(Eventually([&] {
    const Json pool = Pool("life", "p");
    return pool.value("/status/nodeCount"_json_pointer, 0) == 1 &&
           pool["status"]["observedGeneration"] == pool["metadata"]["generation"];
  }));

  // Delete: every label and taint goes, then the pool itself.
  ASSERT_TRUE(api_->Delete(api::kComputePools, "life", "p").ok());
  ASSERT_TRUE(Eventually([&] { return Pool("life", "p").is_null(); }));
  auto nodes = api_->List(kube::kNodes, "", Selecting("suite=life"));
  ASSERT_TRUE(nodes.ok());
  for (const auto& node : nodes->items) {
    EXPECT_FALSE(node["metadata"]["labels"].contains("zhisuan.io/pool")) << node.dump();
    for (const auto& taint : node.value("/spec/taints"_json_pointer, Json::array())) {
      EXPECT_NE(taint.value("key", ""), "zhisuan.io/pool") << node.dump();
    }
  }
  EXPECT_EQ(controller.Stop(), 0);
}

TEST_F(PoolControllerTest, TwoReplicasAndACrashNeverPutANodeInTwoPools) {
  CreateNamespace("race");
  for (int i = 0; i < 30; ++i) {
    CreateMachine(StrCat("race-", i < 10 ? "0" : "", i), "race", i % 2 ? "a" : "b", 1.0);
  }
  ControllerProcess first("race-1", {"--leader-election-id=race"});
  ControllerProcess second("race-2", {"--leader-election-id=race"});
  first.Start();
  second.Start();
  for (int i = 0; i < 50; ++i) {
    Json spec = {{"capacity", {{"accelerators", 8 * (1 + i % 3)}}},
                 {"nodeSelector", {{"matchLabels", {{"suite", "race"}}}}}};
    if (i % 5 == 0) spec["allocation"] = "Partial";
    CreatePool("race", StrCat("p", i), spec);
  }
  // Kill whichever replica leads once binding is under way, and bring it back.
  ASSERT_TRUE(Eventually([&] {
    auto list = api_->List(kube::kNodes, "", Selecting("suite=race,zhisuan.io/pool"));
    return list.ok() && list->items.size() >= 3;
  }));
  auto lease = api_->Get(kube::kLeases, "default", "race");
  ASSERT_TRUE(lease.ok()) << lease.status();
  const std::string leader = lease->value("/spec/holderIdentity"_json_pointer, std::string());
  ControllerProcess& killed = leader == first.identity() ? first : second;
  ASSERT_TRUE(leader == first.identity() || leader == second.identity()) << leader;
  killed.Kill();
  killed.Start();

  // Converged: every pool's status matches the labels, no node is in two pools' statuses, and
  // all-or-nothing pools are whole or empty.
  auto converged = [&](std::string* why) {
    auto pools = api_->List(api::kComputePools, "race", {});
    if (!pools.ok() || pools->items.size() != 50) return false;
    std::map<std::string, std::string> owner;
    for (const auto& pool : pools->items) {
      const std::string name = pool["metadata"]["name"];
      if (pool.value("/status/observedGeneration"_json_pointer, 0) != 1) {
        *why = name + " not observed";
        return false;
      }
      std::vector<std::string> status_nodes =
          pool.value("/status/nodes"_json_pointer, std::vector<std::string>{});
      if (status_nodes != BoundNodes("race", "race." + name)) {
        *why = name + " status disagrees with the labels";
        return false;
      }
      for (const auto& node : status_nodes) {
        if (!owner.emplace(node, name).second) {
          ADD_FAILURE() << node << " is in " << owner[node] << " and " << name;
        }
      }
      const bool satisfied = Condition(pool, "CapacitySatisfied", "status") == "True";
      if (pool["spec"]["allocation"] == "AllOrNothing" && !satisfied && !status_nodes.empty()) {
        *why = name + " is half bound";
        return false;
      }
    }
    return owner.size() == 30;  // every node is used: Partial pools soak up the remainder
  };
  std::string why;
  EXPECT_TRUE(Eventually([&] { return converged(&why); }, std::chrono::seconds(120))) << why;
  EXPECT_EQ(first.Stop(), 0);
  EXPECT_EQ(second.Stop(), 0);
}

// Issue 17: writes are gated on leadership. The Lease is taken over under a running leader (its
// holderIdentity rewritten, as a successor or an operator with kubectl would): from the first
// renewal that reads the new holder (every 2 s), the old leader writes nothing more. A pool
// created afterwards gets neither finalizer nor status, and no node is bound to it, during the
// ~8 s the old leader keeps running until its renew deadline ends it (exit status 1). Before the
// gate it went on writing until then.
TEST_F(PoolControllerTest, ALeaderWhoseLeaseIsTakenOverWritesNothingMore) {
  CreateNamespace("usurp");
  CreateMachine("usurp-0", "usurp", "a", 1.0);
  CreateMachine("usurp-1", "usurp", "a", 1.0);
  const Json spec = {{"capacity", {{"accelerators", 8}}},
                     {"nodeSelector", {{"matchLabels", {{"suite", "usurp"}}}}}};
  ControllerProcess controller("usurped", {"--leader-election-id=usurp"});
  controller.Start();
  CreatePool("usurp", "before", spec);
  ASSERT_TRUE(Eventually([&] { return BoundNodes("usurp", "usurp.before").size() == 1; }))
      << Pool("usurp", "before").dump(2);

  auto lease = api_->Get(kube::kLeases, "default", "usurp");
  ASSERT_TRUE(lease.ok()) << lease.status();
  ASSERT_EQ(lease->value("/spec/holderIdentity"_json_pointer, std::string()), "usurped");
  (*lease)["spec"]["holderIdentity"] = "usurper";
  (*lease)["spec"]["leaseDurationSeconds"] = 3600;
  auto taken = api_->Update(kube::kLeases, *lease);
  ASSERT_TRUE(taken.ok()) << taken.status();
  const auto taken_at = std::chrono::steady_clock::now();
  // The old leader's next renewal, at most one retry period (2 s) away, reads the new holder.
  std::this_thread::sleep_for(std::chrono::seconds(4));

  CreatePool("usurp", "after", spec);
  // Its last renewal was at most 2 s before the takeover, so it runs (and, ungated, writes) until
  // at least 8 s after it; watch past that.
  while (std::chrono::steady_clock::now() - taken_at < std::chrono::seconds(14)) {
    const Json after = Pool("usurp", "after");
    ASSERT_FALSE(after.is_null());
    ASSERT_FALSE(after["metadata"].contains("finalizers")) << after.dump(2);
    ASSERT_FALSE(after.contains("status")) << after.dump(2);
    ASSERT_TRUE(BoundNodes("usurp", "usurp.after").empty());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto holder = api_->Get(kube::kLeases, "default", "usurp");
  ASSERT_TRUE(holder.ok()) << holder.status();
  EXPECT_EQ(holder->value("/spec/holderIdentity"_json_pointer, std::string()), "usurper");
  // Past its renew deadline it stepped down, and losing leadership exits the process.
  EXPECT_EQ(controller.Stop(), 1);
}

// Issue 17: a node is the pool's only once the pods of other namespaces have left it. Binding it
// puts the NoSchedule pool taint on and evicts them (the eviction API, so PodDisruptionBudgets
// hold); the pool counts the node, and the taint becomes NoExecute, once they are gone, or, when a
// PDB refuses, once --drain-timeout has passed.
TEST_F(PoolControllerTest, DrainsAForeignPodBeforeCountingTheNode) {
  CreateNamespace("drain");
  CreateNamespace("intruder");
  CreateMachine("drain-n1", "drain", "z1", 1.0);
  CreateMachine("drain-n2", "drain2", "z1", 1.0);
  // On the nodes before any pool binds them; drain-n2's pod is guarded by a PDB that allows no
  // disruption (on this control plane no disruption controller ever processes it, which the
  // eviction API also answers with 429).
  CreateRunningPod("intruder", "web", "drain-n1", "web");
  CreateRunningPod("intruder", "guarded", "drain-n2", "guarded");
  CreateRunningPod("drain", "own", "drain-n1", "own");  // the pool's own namespace stays
  const kube::ResourceType pdbs{"policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget",
                                true};
  ASSERT_TRUE(api_->Create(pdbs, "intruder",
                           {{"apiVersion", "policy/v1"},
                            {"kind", "PodDisruptionBudget"},
                            {"metadata", {{"name", "guarded"}, {"namespace", "intruder"}}},
                            {"spec",
                             {{"maxUnavailable", 0},
                              {"selector", {{"matchLabels", {{"app", "guarded"}}}}}}}})
                  .ok());

  ControllerProcess controller("drain", {"--leader-election-id=drain", "--drain-timeout=25s"});
  controller.Start();
  CreatePool("drain", "p",
             {{"capacity", {{"accelerators", 8}}},
              {"nodeSelector", {{"matchLabels", {{"suite", "drain"}}}}}});

  // Bound, tainted NoSchedule, the foreign pod evicted and the node not counted yet.
  ASSERT_TRUE(Eventually([&] {
    auto web = api_->Get(kube::kPods, "intruder", "web");
    return web.ok() && (*web)["metadata"].contains("deletionTimestamp");
  })) << Pool("drain", "p").dump(2);
  EXPECT_EQ(PoolTaintEffect("drain-n1"), "NoSchedule");
  Json pool = Pool("drain", "p");
  EXPECT_EQ(Condition(pool, "CapacitySatisfied", "reason"), "Draining") << pool.dump(2);
  EXPECT_THAT(Condition(pool, "CapacitySatisfied", "message"), HasSubstr("intruder/web"));
  EXPECT_EQ(pool["status"].value("nodes", Json::array()), Json::array());
  auto own = api_->Get(kube::kPods, "drain", "own");
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_FALSE((*own)["metadata"].contains("deletionTimestamp"));
  // The tenant's toleration is for the NoExecute taint only: none of its pods land meanwhile.
  EXPECT_EQ(pool["status"]["scheduling"]["tolerations"][0]["effect"], "NoExecute");

  // No kubelet here: the evicted pod stays Terminating until something deletes it with grace 0,
  // as the kubelet does once the container has stopped.
  auto deleted = SharedControlPlane().Kubectl(
      {"-n", "intruder", "delete", "pod", "web", "--grace-period=0", "--force"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  ASSERT_TRUE(Eventually([&] {
    return Condition(Pool("drain", "p"), "Ready", "status") == "True";
  })) << Pool("drain", "p").dump(2);
  EXPECT_EQ(Pool("drain", "p")["status"]["nodes"], Json::array({"drain-n1"}));
  EXPECT_EQ(PoolTaintEffect("drain-n1"), "NoExecute");
  EXPECT_EQ(BoundNodes("drain", "drain.p"), std::vector<std::string>{"drain-n1"});

  // The PDB refuses: drain-n2 stays out of the count until the drain timeout.
  const auto started = std::chrono::steady_clock::now();
  CreatePool("drain", "q",
             {{"capacity", {{"accelerators", 8}}},
              {"nodeSelector", {{"matchLabels", {{"suite", "drain2"}}}}}});
  ASSERT_TRUE(Eventually([&] {
    return Condition(Pool("drain", "q"), "CapacitySatisfied", "reason") == "Draining";
  })) << Pool("drain", "q").dump(2);
  EXPECT_EQ(PoolTaintEffect("drain-n2"), "NoSchedule");
  while (std::chrono::steady_clock::now() - started < std::chrono::seconds(15)) {
    pool = Pool("drain", "q");
    ASSERT_EQ(Condition(pool, "CapacitySatisfied", "reason"), "Draining") << pool.dump(2);
    ASSERT_EQ(pool["status"].value("nodes", Json::array()), Json::array());
    auto guarded = api_->Get(kube::kPods, "intruder", "guarded");
    ASSERT_TRUE(guarded.ok()) << guarded.status();
    ASSERT_FALSE((*guarded)["metadata"].contains("deletionTimestamp"));  // the PDB held
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  // Past the timeout the NoExecute taint goes on (the taint manager, absent here, would delete
  // the pod) and the node counts.
  ASSERT_TRUE(Eventually([&] { return Condition(Pool("drain", "q"), "Ready", "status") == "True"; },
                         std::chrono::seconds(40)))
      << Pool("drain", "q").dump(2);
  EXPECT_EQ(PoolTaintEffect("drain-n2"), "NoExecute");
  EXPECT_EQ(Pool("drain", "q")["status"]["nodes"], Json::array({"drain-n2"}));
  EXPECT_EQ(controller.Stop(), 0);
}

TEST(ControllerFlags, BadFlagsExitNonZeroNamingTheFlag) {
  auto result = harness::RunCommand({ControllerBinary(), "--workers=zero"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.output, HasSubstr("--workers=zero"));
  result = harness::RunCommand({ControllerBinary(), "--carbon-grace=soon"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.output, HasSubstr("--carbon-grace"));
  result = harness::RunCommand({ControllerBinary(), "--no-such-flag=1"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.output, HasSubstr("unknown flag --no-such-flag"));
}

}  // namespace
}  // namespace zhisuan::controller

namespace zhisuan::controller {
namespace {

// Issue 17, point 3: a tenant could take the whole fleet. A ComputeQuota caps what a namespace's
// pools hold; tenants may read it and not write it.
TEST_F(PoolControllerTest, AComputeQuotaCapsTheNamespaceAndTenantsCanOnlyReadIt) {
  auto& plane = SharedControlPlane();
  CreateNamespace("quota");
  CreateNamespace("noquota");
  for (int i = 0; i < 4; ++i) CreateMachine(StrCat("quota-", i), "quota", "kunming-a", 1.0);
  for (int i = 0; i < 2; ++i) CreateMachine(StrCat("noquota-", i), "noquota", "kunming-a", 1.0);
  auto quota = api_->Create(api::kComputeQuotas, "quota",
                            {{"apiVersion", "zhisuan.io/v1alpha1"},
                             {"kind", "ComputeQuota"},
                             {"metadata", {{"name", "gpus"}, {"namespace", "quota"}}},
                             {"spec", {{"hard", {{"accelerators", 8}}}}}});
  ASSERT_TRUE(quota.ok()) << quota.status();
  ControllerProcess controller("quota", {"--leader-election-id=quota"});
  controller.Start();

  // Asking for 100000 accelerators, Partial, binds 8 worth (one node) and says why.
  CreatePool("quota", "greedy",
             {{"capacity", {{"accelerators", 100000}}},
              {"allocation", "Partial"},
              {"nodeSelector", {{"matchLabels", {{"suite", "quota"}}}}}});
  ASSERT_TRUE(Eventually([&] {
    return Condition(Pool("quota", "greedy"), "CapacitySatisfied", "reason") == "QuotaExceeded";
  })) << Pool("quota", "greedy").dump(2);
  EXPECT_EQ(BoundNodes("quota", "quota.greedy").size(), 1u);
  EXPECT_THAT(Condition(Pool("quota", "greedy"), "CapacitySatisfied", "message"),
              HasSubstr("ComputeQuota quota/gpus caps the namespace at 8 accelerators; its pools "
                        "hold 8"));
  auto used = [&] {
    auto object = api_->Get(api::kComputeQuotas, "quota", "gpus");
    return object.ok() ? object->value("/status/used/accelerators"_json_pointer, -1) : -1;
  };
  ASSERT_TRUE(Eventually([&] { return used() == 8; }))
      << api_->Get(api::kComputeQuotas, "quota", "gpus")->dump(2);

  // A second pool of the namespace gets nothing; another namespace is not capped.
  CreatePool("quota", "second",
             {{"capacity", {{"accelerators", 8}}},
              {"allocation", "Partial"},
              {"nodeSelector", {{"matchLabels", {{"suite", "quota"}}}}}});
  CreatePool("noquota", "free",
             {{"capacity", {{"accelerators", 16}}},
              {"nodeSelector", {{"matchLabels", {{"suite", "noquota"}}}}}});
  ASSERT_TRUE(Eventually([&] {
    return Condition(Pool("quota", "second"), "CapacitySatisfied", "reason") == "QuotaExceeded";
  })) << Pool("quota", "second").dump(2);
  EXPECT_TRUE(BoundNodes("quota", "quota.second").empty());
  ASSERT_TRUE(Eventually([&] {
    return Condition(Pool("noquota", "free"), "Ready", "status") == "True";
  })) << Pool("noquota", "free").dump(2);
  EXPECT_EQ(BoundNodes("noquota", "noquota.free").size(), 2u);

  // Raising the quota lets the namespace grow to it, and no further.
  auto raised = api_->Patch(api::kComputeQuotas, "quota", "gpus", kube::PatchType::kMerge,
                            {{"spec", {{"hard", {{"accelerators", 24}}}}}});
  ASSERT_TRUE(raised.ok()) << raised.status();
  ASSERT_TRUE(Eventually([&] {
    return BoundNodes("quota", "quota.greedy").size() +
                   BoundNodes("quota", "quota.second").size() ==
               3 &&
           used() == 24;
  })) << Pool("quota", "greedy").dump(2);
  EXPECT_GE(BoundNodes("quota", "quota.greedy").size(), 2u);

  // A tenant with the chart's tenant role reads quotas and cannot write them.
  const std::string role = TenantRoleFromChart();
  ASSERT_EQ(plane.Kubectl({"apply", "-f", "-"}, role).exit_code, 0);
  auto bound = plane.Kubectl({"-n", "quota", "create", "rolebinding", "alice-pools",
                              "--clusterrole=zhisuan-tenant", "--user=alice"});
  ASSERT_EQ(bound.exit_code, 0) << bound.output;
  auto read = plane.Kubectl({"--as=alice", "-n", "quota", "get", "computequota", "gpus", "-o",
                             "jsonpath={.spec.hard.accelerators}"});
  EXPECT_EQ(read.exit_code, 0) << read.output;
  EXPECT_EQ(read.output, "24");
  auto patched =
      plane.Kubectl({"--as=alice", "-n", "quota", "patch", "computequota", "gpus", "--type=merge",
                     "-p", R"({"spec":{"hard":{"accelerators":100000}}})"});
  EXPECT_NE(patched.exit_code, 0);
  EXPECT_THAT(patched.output, HasSubstr("forbidden"));
  auto created =
      plane.Kubectl({"--as=alice", "-n", "quota", "create", "-f", "-"},
                    "apiVersion: zhisuan.io/v1alpha1\nkind: ComputeQuota\nmetadata: {name: mine}\n"
                    "spec: {hard: {accelerators: 100000}}\n");
  EXPECT_NE(created.exit_code, 0);
  EXPECT_THAT(created.output, HasSubstr("forbidden"));
  auto status_write = plane.Kubectl({"--as=alice", "-n", "quota", "patch", "computequota", "gpus",
                                     "--subresource=status", "--type=merge", "-p",
                                     R"({"status":{"used":{"accelerators":0}}})"});
  EXPECT_NE(status_write.exit_code, 0);
  // ...while the same tenant still manages its pools.
  auto pool_write = plane.Kubectl(
      {"--as=alice", "-n", "quota", "auth", "can-i", "create", "computepools.zhisuan.io"});
  EXPECT_THAT(pool_write.output, HasSubstr("yes"));
  EXPECT_EQ(controller.Stop(), 0);
}

// Issue 17: a pool force-deleted (finalizer stripped by hand) leaves its label and NoExecute
// taint on its nodes; the sweep finds them by a live List of pools and releases them: once when a
// controller starts leading, and every --orphan-sweep-interval after.
TEST_F(PoolControllerTest, TheSweepReleasesNodesOfAPoolDeletedWithoutItsFinalizer) {
  auto& plane = SharedControlPlane();
  CreateNamespace("orphan");
  for (int i = 0; i < 3; ++i) CreateMachine(StrCat("orphan-", i), "orphan", "kunming-a", 1.0);
  const std::vector<std::string> args = {"--leader-election-id=orphan",
                                         "--orphan-sweep-interval=2s"};
  auto controller = std::make_unique<ControllerProcess>("orphan", args);
  controller->Start();
  CreatePool("orphan", "p",
             {{"capacity", {{"accelerators", 8}}},
              {"nodeSelector", {{"matchLabels", {{"suite", "orphan"}}}}}});
  CreatePool("orphan", "live",
             {{"capacity", {{"accelerators", 8}}},
              {"nodeSelector", {{"matchLabels", {{"suite", "orphan"}}}}}});
  ASSERT_TRUE(Eventually([&] {
    return BoundNodes("orphan", "orphan.p").size() == 1 &&
           BoundNodes("orphan", "orphan.live").size() == 1;
  })) << Pool("orphan", "p").dump(2);
  const std::string orphaned = BoundNodes("orphan", "orphan.p").front();
  const std::string live = BoundNodes("orphan", "orphan.live").front();

  // While no controller runs, an admin deletes the pool and strips its finalizer.
  EXPECT_EQ(controller->Stop(), 0);
  ASSERT_EQ(plane.Kubectl({"-n", "orphan", "delete", "computepool", "p", "--wait=false"}).exit_code,
            0);
  auto stripped = plane.Kubectl({"-n", "orphan", "patch", "computepool", "p", "--type=merge", "-p",
                                 R"({"metadata":{"finalizers":null}})"});
  ASSERT_EQ(stripped.exit_code, 0) << stripped.output;
  ASSERT_TRUE(Eventually([&] { return Pool("orphan", "p").is_null(); }));
  EXPECT_EQ(BoundNodes("orphan", "orphan.p"), std::vector<std::string>{orphaned});

  // The next leader releases it, and leaves the live pool's node alone.
  controller = std::make_unique<ControllerProcess>("orphan", args);
  controller->Start();
  ASSERT_TRUE(Eventually([&] { return BoundNodes("orphan", "orphan.p").empty(); },
                         std::chrono::seconds(30)));
  EXPECT_EQ(PoolTaintEffect(orphaned), "");
  EXPECT_EQ(BoundNodes("orphan", "orphan.live"), std::vector<std::string>{live});

  // While it runs: a binding that names a pool that never existed goes within a sweep interval.
  std::string ghost;
  for (int i = 0; i < 3; ++i) {
    if (StrCat("orphan-", i) != live) ghost = StrCat("orphan-", i);
  }
  auto labelled = api_->Patch(kube::kNodes, "", ghost, kube::PatchType::kMerge,
                              {{"metadata", {{"labels", {{"zhisuan.io/pool", "orphan.ghost"}}}}},
                               {"spec",
                                {{"taints", Json::array({{{"key", "zhisuan.io/pool"},
                                                          {"value", "orphan.ghost"},
                                                          {"effect", "NoExecute"}}})}}}});
  ASSERT_TRUE(labelled.ok()) << labelled.status();
  ASSERT_TRUE(Eventually([&] { return BoundNodes("orphan", "orphan.ghost").empty(); },
                         std::chrono::seconds(20)));
  EXPECT_EQ(PoolTaintEffect(ghost), "");
  EXPECT_EQ(BoundNodes("orphan", "orphan.live"), std::vector<std::string>{live});
  EXPECT_EQ(controller->Stop(), 0);
}

// Issue 17: a dead agent writes nothing, so its ComputeNode stays "healthy". With
// --agent-pod-selector the agent pod's Ready condition (which the kubelet, or the node lifecycle
// controller, keeps) decides: a node counts only while its agent is Ready, and a member whose
// agent is not Ready for --health-grace is replaced.
TEST_F(PoolControllerTest, ANodeWhoseAgentIsNotReadyStopsCountingAfterTheGrace) {
  CreateNamespace("dead");
  CreateNamespace("dead-system");
  for (int i = 0; i < 2; ++i) CreateMachine(StrCat("dead-", i), "dead", "kunming-a", 1.0);
  ControllerProcess controller(
      "dead", {"--leader-election-id=dead", "--agent-pod-selector=app=zhisuan-agent",
               "--agent-pod-namespace=dead-system", "--health-grace=5s",
               // Not DaemonSet pods here, so exempt as the chart exempts its release namespace.
               "--drain-exempt-namespaces=kube-system,dead-system"});
  controller.Start();
  auto set_agent_ready = [&](const std::string& node, bool ready) {
    auto patched = api_->Patch(
        kube::kPods, "dead-system", "agent-" + node, kube::PatchType::kMerge,
        {{"status",
          {{"conditions",
            Json::array({{{"type", "Ready"},
                          {"status", ready ? "True" : "False"},
                          {"lastTransitionTime", api::FormatRfc3339(std::time(nullptr))}}})}}}},
        {"", false, "status"});
    ASSERT_TRUE(patched.ok()) << patched.status();
  };
  // The agents' pods exist but are not Ready yet (starting): neither node is eligible.
  for (int i = 0; i < 2; ++i) {
    const std::string node = StrCat("dead-", i);
    CreateRunningPod("dead-system", "agent-" + node, node, "zhisuan-agent");
    set_agent_ready(node, false);
  }
  CreatePool("dead", "p",
             {{"capacity", {{"accelerators", 8}}},
              {"nodeSelector", {{"matchLabels", {{"suite", "dead"}}}}}});
  ASSERT_TRUE(Eventually([&] {
    return Condition(Pool("dead", "p"), "CapacitySatisfied", "reason") == "InsufficientCapacity";
  })) << Pool("dead", "p").dump(2);
  EXPECT_TRUE(BoundNodes("dead", "dead.p").empty());

  // The agents turn Ready: the waiting pool binds one node.
  for (int i = 0; i < 2; ++i) set_agent_ready(StrCat("dead-", i), true);
  ASSERT_TRUE(Eventually([&] { return BoundNodes("dead", "dead.p").size() == 1; }))
      << Pool("dead", "p").dump(2);
  const std::string member = BoundNodes("dead", "dead.p").front();
  const std::string spare = member == "dead-0" ? "dead-1" : "dead-0";

  // The member's agent dies (the kubelet clears Ready): after the grace the spare replaces it,
  // with no write to its ComputeNode or Node.
  set_agent_ready(member, false);
  const auto died = std::chrono::steady_clock::now();
  ASSERT_TRUE(Eventually([&] {
    return BoundNodes("dead", "dead.p") == std::vector<std::string>{spare};
  })) << Pool("dead", "p").dump(2);
  EXPECT_GE(std::chrono::steady_clock::now() - died, std::chrono::seconds(4));
  EXPECT_EQ(controller.Stop(), 0);
}

// Issue 17: a ComputeNode deleted under a member (its agent recreates it within a minute) is a
// fault with the usual grace, not a reason to release the member at once; the member keeps the
// capacity last seen, so no spare is taken meanwhile.
TEST_F(PoolControllerTest, AMemberWhoseComputeNodeIsDeletedIsKeptThroughTheGrace) {
  CreateNamespace("lost");
  for (int i = 0; i < 2; ++i) CreateMachine(StrCat("lost-", i), "lost", "kunming-a", 1.0);
  ControllerProcess controller("lost", {"--leader-election-id=lost", "--health-grace=1h"});
  controller.Start();
  CreatePool("lost", "p",
             {{"capacity", {{"accelerators", 8}}},
              {"nodeSelector", {{"matchLabels", {{"suite", "lost"}}}}}});
  ASSERT_TRUE(Eventually([&] { return BoundNodes("lost", "lost.p").size() == 1; }));
  const std::string member = BoundNodes("lost", "lost.p").front();
  auto saved = api_->Get(api::kComputeNodes, "", member);
  ASSERT_TRUE(saved.ok()) << saved.status();

  ASSERT_TRUE(api_->Delete(api::kComputeNodes, "", member).ok());
  ASSERT_TRUE(Eventually([&] {
    return Pool("lost", "p").value("/status/impairedMembers/0/node"_json_pointer, std::string()) ==
           member;
  })) << Pool("lost", "p").dump(2);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(BoundNodes("lost", "lost.p"), std::vector<std::string>{member});
  EXPECT_EQ(Pool("lost", "p").value("/status/acceleratorCount"_json_pointer, 0), 8);

  // Recreated, as its agent does: the clock stops, and the member was never released.
  ASSERT_TRUE(api_->Create(api::kComputeNodes, "",
                           {{"apiVersion", "zhisuan.io/v1alpha1"},
                            {"kind", "ComputeNode"},
                            {"metadata", {{"name", member}}}})
                  .ok());
  SetComputeNodeStatus(member, (*saved)["status"]);
  ASSERT_TRUE(Eventually([&] {
    return !Pool("lost", "p").contains("status") ||
           !Pool("lost", "p")["status"].contains("impairedMembers");
  })) << Pool("lost", "p").dump(2);
  EXPECT_EQ(BoundNodes("lost", "lost.p"), std::vector<std::string>{member});
  EXPECT_EQ(controller.Stop(), 0);
}

// Issue 17: the grace clocks are the controller's state. They live in the pool's status, which
// the chart's tenant role cannot write, and the annotation older controllers kept them in (which
// tenants can write) is ignored and removed.
TEST_F(PoolControllerTest, TenantsCannotTouchTheGraceClocks) {
  auto& plane = SharedControlPlane();
  CreateNamespace("clock");
  for (int i = 0; i < 2; ++i) CreateMachine(StrCat("clock-", i), "clock", "kunming-a", 1.0);
  ControllerProcess controller("clock", {"--leader-election-id=clock", "--health-grace=1h"});
  controller.Start();
  CreatePool("clock", "p",
             {{"capacity", {{"accelerators", 8}}},
              {"nodeSelector", {{"matchLabels", {{"suite", "clock"}}}}}});
  ASSERT_TRUE(Eventually([&] { return BoundNodes("clock", "clock.p").size() == 1; }));
  const std::string member = BoundNodes("clock", "clock.p").front();
  SetNodeReady(member, false);
  std::string since;
  ASSERT_TRUE(Eventually([&] {
    since = Pool("clock", "p").value("/status/impairedMembers/0/since"_json_pointer, std::string());
    return !since.empty();
  })) << Pool("clock", "p").dump(2);

  ASSERT_EQ(plane.Kubectl({"apply", "-f", "-"}, TenantRoleFromChart()).exit_code, 0);
  auto bound = plane.Kubectl({"-n", "clock", "create", "rolebinding", "carol-pools",
                              "--clusterrole=zhisuan-tenant", "--user=carol"});
  ASSERT_EQ(bound.exit_code, 0) << bound.output;
  // The tenant cannot reset the clock in the status...
  auto reset = plane.Kubectl({"--as=carol", "-n", "clock", "patch", "computepool", "p",
                              "--subresource=status", "--type=merge", "-p",
                              R"({"status":{"impairedMembers":null}})"});
  EXPECT_NE(reset.exit_code, 0);
  EXPECT_THAT(reset.output, HasSubstr("forbidden"));
  // ...and the old annotation, which it can write, is no clock: it is removed, the clock stands.
  auto annotated = plane.Kubectl(
      {"--as=carol", "-n", "clock", "annotate", "computepool", "p",
       StrCat("zhisuan.io/impaired-since={\"", member, "\":\"2099-01-01T00:00:00Z\"}")});
  ASSERT_EQ(annotated.exit_code, 0) << annotated.output;
  ASSERT_TRUE(Eventually([&] {
    return !Pool("clock", "p")["metadata"]
                .value("annotations", Json::object())
                .contains("zhisuan.io/impaired-since");
  })) << Pool("clock", "p").dump(2);
  EXPECT_EQ(Pool("clock", "p").value("/status/impairedMembers/0/since"_json_pointer, std::string()),
            since);
  EXPECT_EQ(BoundNodes("clock", "clock.p"), std::vector<std::string>{member});
  EXPECT_EQ(controller.Stop(), 0);
}

}  // namespace
}  // namespace zhisuan::controller
