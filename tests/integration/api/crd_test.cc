// The CRDs in charts/zhisuan/crds against the real API server: they install, teach `kubectl
// explain`, store what the C++ codec writes, show the printer columns, and reject every spec in
// the invalid-ComputePool corpus with the message the corpus file expects.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "api/compute_node.h"
#include "api/compute_pool.h"
#include "api/compute_quota.h"
#include "tests/harness/control_plane_environment.h"

namespace zhisuan::api {
namespace {

using harness::SharedControlPlane;
using ::testing::HasSubstr;

class CrdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto& plane = SharedControlPlane();
    const Status installed = plane.InstallCrds();
    ASSERT_TRUE(installed.ok()) << installed;
    plane.Kubectl({"create", "namespace", "tenant-a"});
  }
};

// The OpenAPI document `kubectl explain` reads is published shortly after the CRD is Established.
harness::CommandResult ExplainWhenPublished(const std::string& field) {
  harness::CommandResult result;
  for (int attempt = 0; attempt < 60; ++attempt) {
    result = SharedControlPlane().Kubectl({"explain", field});
    if (result.exit_code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return result;
}

TEST_F(CrdTest, KubectlExplainTeachesTheApi) {
  auto explained = ExplainWhenPublished("computepool.spec.carbon");
  ASSERT_EQ(explained.exit_code, 0) << explained.output;
  EXPECT_THAT(explained.output, HasSubstr("Lowest acceptable carbon-free energy share"));
  auto node = ExplainWhenPublished("computenode.status.accelerators.product");
  EXPECT_THAT(node.output, HasSubstr("Canonical product name, e.g. H100-SXM5"));
}

TEST_F(CrdTest, StoresTheCodecsComputeNodeStatusAndShowsColumns) {
  auto& plane = SharedControlPlane();
  ComputeNodeStatus status;
  status.agent_version = "0.1.0";
  for (int i = 0; i < 8; ++i) {
    AcceleratorStatus accelerator;
    accelerator.index = i;
    accelerator.uuid = "GPU-00000000-0000-0000-0000-00000000000" + std::to_string(i);
    accelerator.vendor = "nvidia";
    accelerator.product = "H100-SXM5";
    accelerator.pci_bus_id = "0000:1" + std::to_string(i) + ":00.0";
    accelerator.memory_bytes = 85899345920;
    accelerator.numa_node = i / 4;
    accelerator.healthy = i != 5;
    if (i == 5) accelerator.reason = "Xid 79 (GPU has fallen off the bus)";
    At(accelerator.peak_flops, Precision::kBf16) = 989.4e12;
    At(status.peak_flops, Precision::kBf16) += 989.4e12;
    status.accelerators.push_back(accelerator);
  }
  At(status.measured_flops, Precision::kBf16) = 6.1e15;
  status.power_capacity_watts = 5600;
  status.energy = {"hydro", "kunming-a", 8.5, 0.98, 4180, "integrated_power"};
  status.conditions = {{"Discovered", "True", 0, "2026-11-23T00:00:00Z", "AllBackendsOk", "nvml"}};

  ASSERT_EQ(plane
                .Kubectl({"create", "-f", "-"},
                         "apiVersion: zhisuan.io/v1alpha1\nkind: ComputeNode\n"
                         "metadata: {name: gpu-node-1}\n")
                .exit_code,
            0);
  Json patch = {{"status", ToJson(status)}};
  auto patched = plane.Kubectl({"patch", "computenode", "gpu-node-1", "--subresource=status",
                                "--type=merge", "-p", patch.dump()});
  ASSERT_EQ(patched.exit_code, 0) << patched.output;

  auto stored = plane.Kubectl({"get", "computenode", "gpu-node-1", "-o", "json"});
  ASSERT_EQ(stored.exit_code, 0) << stored.output;
  auto decoded = ComputeNodeFromJson(Json::parse(stored.output));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(ToJson(decoded->status), ToJson(status)) << "the server kept every field we wrote";

  auto table = plane.Kubectl({"get", "computenodes"});
  EXPECT_THAT(table.output, ::testing::ContainsRegex("DEVICES +HEALTHY +BF16 +CARBON-FREE"));
  EXPECT_THAT(table.output, ::testing::ContainsRegex("gpu-node-1 +8 +7 +7915T +0.98"));
}

TEST_F(CrdTest, StoresAValidPoolAndItsStatus) {
  auto& plane = SharedControlPlane();
  ComputePoolSpec spec;
  spec.vendor = "nvidia";
  spec.products = {"H100-SXM5"};
  spec.flops = 20e15;
  spec.min_carbon_free_ratio = 1.0;
  Json object = {{"apiVersion", "zhisuan.io/v1alpha1"},
                 {"kind", "ComputePool"},
                 {"metadata", {{"name", "h100-zero-carbon"}, {"namespace", "tenant-a"}}},
                 {"spec", ToJson(spec)}};
  auto created = plane.Kubectl({"create", "-f", "-", "-o", "json"}, object.dump());
  ASSERT_EQ(created.exit_code, 0) << created.output;
  auto pool = ComputePoolFromJson(Json::parse(created.output));
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_EQ(pool->spec, spec);

  ComputePoolStatus status;
  status.observed_generation = pool->generation;
  status.conditions = {{"Ready", "False", 1, "2026-11-23T00:00:00Z", "InsufficientCapacity",
                        "need 20P bf16; 12.4P eligible on 16 nodes in zone kunming-a"}};
  status.flops = 0;
  auto patched = plane.Kubectl({"patch", "computepool", "-n", "tenant-a", "h100-zero-carbon",
                                "--subresource=status", "--type=merge", "-p",
                                Json({{"status", ToJson(status)}}).dump()});
  ASSERT_EQ(patched.exit_code, 0) << patched.output;
  auto table = plane.Kubectl({"get", "cpool", "-n", "tenant-a"});
  EXPECT_THAT(table.output, ::testing::ContainsRegex("h100-zero-carbon +0 +0 +0 .*False"));
}

// Members are found by their label, whatever their hardware, so a pool that switched vendor would
// keep nodes it can no longer use (CapacityDegraded) while no spare of the new vendor is free.
TEST_F(CrdTest, RejectsSettingOrChangingTheVendorOfAnExistingPool) {
  auto& plane = SharedControlPlane();
  auto create = [&](const std::string& name, const Json& accelerator) {
    Json object = {{"apiVersion", "zhisuan.io/v1alpha1"},
                   {"kind", "ComputePool"},
                   {"metadata", {{"name", name}, {"namespace", "tenant-a"}}},
                   {"spec", {{"capacity", {{"accelerators", 4}}}}}};
    if (!accelerator.is_null()) object["spec"]["accelerator"] = accelerator;
    auto created = plane.Kubectl({"create", "-f", "-"}, object.dump());
    ASSERT_EQ(created.exit_code, 0) << created.output;
  };
  auto patch = [&](const std::string& name, const Json& spec) {
    return plane.Kubectl({"patch", "computepool", "-n", "tenant-a", name, "--type=merge", "-p",
                          Json({{"spec", spec}}).dump()});
  };
  const std::string expected =
      "spec.accelerator.vendor: Forbidden: spec.accelerator.vendor cannot be set or changed after "
      "creation";
  create("vendor-fixed", {{"vendor", "nvidia"}});
  auto changed = patch("vendor-fixed", {{"accelerator", {{"vendor", "amd"}}}});
  EXPECT_NE(changed.exit_code, 0) << changed.output;
  EXPECT_THAT(changed.output, HasSubstr(expected));

  create("vendor-any", nullptr);
  auto narrowed = patch("vendor-any", {{"accelerator", {{"vendor", "huawei"}}}});
  EXPECT_NE(narrowed.exit_code, 0) << narrowed.output;
  EXPECT_THAT(narrowed.output, HasSubstr(expected));

  // What stays safe: the same vendor, other fields, and widening to any vendor.
  auto same =
      patch("vendor-fixed", {{"accelerator", {{"vendor", "nvidia"}, {"products", {"H200-SXM"}}}},
                             {"capacity", {{"accelerators", 8}}}});
  EXPECT_EQ(same.exit_code, 0) << same.output;
  auto widened = patch("vendor-fixed", {{"accelerator", {{"vendor", nullptr}}}});
  EXPECT_EQ(widened.exit_code, 0) << widened.output;
}

// Each file in tests/fixtures/invalid-computequotas starts with "# expect: <message>"; the
// decoder (api/compute_quota.h) refuses them too (tests/unit/api/compute_quota_test.cc).
TEST_F(CrdTest, RejectsEveryInvalidQuotaNamingTheField) {
  auto& plane = SharedControlPlane();
  const auto corpus =
      std::filesystem::path(harness::SourceDir()) / "tests/fixtures/invalid-computequotas";
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string manifest = text.str();
    const std::string marker = "# expect: ";
    ASSERT_EQ(manifest.rfind(marker, 0), 0u) << entry.path() << " has no expect line";
    const std::string expected =
        manifest.substr(marker.size(), manifest.find('\n') - marker.size());
    auto result = plane.Kubectl({"create", "-f", "-"}, manifest);
    EXPECT_NE(result.exit_code, 0) << entry.path() << " was accepted";
    EXPECT_THAT(result.output, HasSubstr(expected)) << entry.path();
    ++checked;
  }
  EXPECT_GE(checked, 9);
  auto listed = plane.Kubectl({"get", "cquota", "-n", "tenant-a", "-o", "name"});
  EXPECT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_THAT(listed.output, ::testing::Not(HasSubstr("computequota"))) << "nothing was stored";
}

TEST_F(CrdTest, StoresAValidQuotaAndItsStatus) {
  auto& plane = SharedControlPlane();
  auto created = plane.Kubectl({"create", "-f", "-", "-o", "json"},
                               "apiVersion: zhisuan.io/v1alpha1\nkind: ComputeQuota\n"
                               "metadata: {name: team, namespace: tenant-a}\n"
                               "spec: {hard: {accelerators: 64, flops: {bf16: 20P, fp8: 40P}}}\n");
  ASSERT_EQ(created.exit_code, 0) << created.output;
  Status spec_error;
  auto quota = ComputeQuotaFromJson(Json::parse(created.output), &spec_error);
  ASSERT_TRUE(quota.ok()) << quota.status();
  ASSERT_TRUE(spec_error.ok()) << spec_error;
  EXPECT_EQ(quota->hard.accelerators, 64);
  EXPECT_EQ(quota->hard.flops.at(Precision::kBf16), 20e15);
  ComputeQuotaStatus status;
  status.observed_generation = 1;
  status.hard = quota->hard;
  status.used.accelerators = 8;
  status.used.flops[Precision::kBf16] = 7915e12;
  auto patched =
      plane.Kubectl({"patch", "computequota", "-n", "tenant-a", "team", "--subresource=status",
                     "--type=merge", "-p", Json({{"status", ToJson(status)}}).dump()});
  ASSERT_EQ(patched.exit_code, 0) << patched.output;
  auto stored = plane.Kubectl({"get", "computequota", "-n", "tenant-a", "team", "-o", "json"});
  auto decoded = ComputeQuotaFromJson(Json::parse(stored.output), nullptr);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->status, status) << "the server kept every status field we wrote";
  auto table = plane.Kubectl({"get", "computequotas", "-n", "tenant-a"});
  EXPECT_THAT(table.output, ::testing::ContainsRegex("ACCELERATORS +USED"));
  EXPECT_THAT(table.output, ::testing::ContainsRegex("team +64 +8"));
  EXPECT_EQ(plane.Kubectl({"delete", "computequota", "-n", "tenant-a", "team"}).exit_code, 0);
}

// Each file in tests/fixtures/invalid-computepools starts with "# expect: <message>".
TEST_F(CrdTest, RejectsEveryInvalidPoolWithAnActionableMessage) {
  auto& plane = SharedControlPlane();
  const auto corpus =
      std::filesystem::path(harness::SourceDir()) / "tests/fixtures/invalid-computepools";
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string manifest = text.str();
    const std::string marker = "# expect: ";
    ASSERT_EQ(manifest.rfind(marker, 0), 0u) << entry.path() << " has no expect line";
    const std::string expected =
        manifest.substr(marker.size(), manifest.find('\n') - marker.size());
    auto result = plane.Kubectl({"create", "-f", "-"}, manifest);
    EXPECT_NE(result.exit_code, 0) << entry.path() << " was accepted";
    EXPECT_THAT(result.output, HasSubstr(expected)) << entry.path();
    ++checked;
  }
  EXPECT_GE(checked, 40);
  auto listed = plane.Kubectl({"get", "cpool", "-n", "tenant-a", "-o", "name"});
  EXPECT_THAT(listed.output, ::testing::Not(HasSubstr("both-flops")))
      << "nothing from the corpus was stored";
}

// A pool stored while the CRD lacked a rule (an upgrade from an older chart): the API server still
// takes the controller's writes to it (validation ratchets: an unchanged invalid spec does not
// fail an update), and the decoder keeps the pool with the reason, so the controller can report
// InvalidSpec and finalize it.
TEST_F(CrdTest, APoolStoredUnderAnOlderCrdCanStillBeReportedOnAndFinalized) {
  auto& plane = SharedControlPlane();
  auto crd = plane.Kubectl({"get", "crd", "computepools.zhisuan.io", "-o", "json"});
  ASSERT_EQ(crd.exit_code, 0) << crd.output;
  const Json current = Json::parse(crd.output);
  Json older = current;
  older["metadata"].erase("managedFields");
  Json& rules = older["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
                     ["properties"]["capacity"]["properties"]["flops"]["x-kubernetes-validations"];
  const size_t before = rules.size();
  rules.erase(std::remove_if(rules.begin(), rules.end(),
                             [](const Json& rule) {
                               return rule.value("message", "").find("between 1") !=
                                      std::string::npos;
                             }),
              rules.end());
  ASSERT_EQ(rules.size(), before - 1) << "the FLOPS range rule is where this test expects it";
  auto replaced = plane.Kubectl({"replace", "-f", "-"}, older.dump());
  ASSERT_EQ(replaced.exit_code, 0) << replaced.output;

  const std::string manifest =
      "apiVersion: zhisuan.io/v1alpha1\nkind: ComputePool\nmetadata: {name: NAME, namespace: "
      "tenant-a}\nspec:\n  capacity: {flops: 500m}\n";
  auto named = [&](const std::string& name) {
    std::string text = manifest;
    text.replace(text.find("NAME"), 4, name);
    return text;
  };
  harness::CommandResult created;
  for (int attempt = 0; attempt < 60; ++attempt) {  // the server takes the new schema shortly
    created = plane.Kubectl({"create", "-f", "-"}, named("half-a-flops"));
    if (created.exit_code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_EQ(created.exit_code, 0) << created.output;

  // Back to the chart's CRD: a new pool like it is refused again.
  Json restored =
      Json::parse(plane.Kubectl({"get", "crd", "computepools.zhisuan.io", "-o", "json"}).output);
  restored["spec"] = current["spec"];
  restored["metadata"].erase("managedFields");
  auto reinstated = plane.Kubectl({"replace", "-f", "-"}, restored.dump());
  ASSERT_EQ(reinstated.exit_code, 0) << reinstated.output;
  harness::CommandResult refused;
  for (int attempt = 0; attempt < 60; ++attempt) {
    refused = plane.Kubectl({"create", "-f", "-"}, named("half-a-flops-again"));
    if (refused.exit_code != 0) break;
    plane.Kubectl({"delete", "computepool", "-n", "tenant-a", "half-a-flops-again"});
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_THAT(refused.output,
              HasSubstr("spec.capacity.flops must be between 1 (one FLOPS) and 1000000E"));

  // What the controller writes to such a pool: its finalizer, then Ready=False InvalidSpec.
  auto finalized =
      plane.Kubectl({"patch", "computepool", "-n", "tenant-a", "half-a-flops", "--type=merge", "-p",
                     R"({"metadata":{"finalizers":["zhisuan.io/pool-cleanup"]}})"});
  ASSERT_EQ(finalized.exit_code, 0) << finalized.output;
  auto stored =
      plane.Kubectl({"get", "computepool", "-n", "tenant-a", "half-a-flops", "-o", "json"});
  ASSERT_EQ(stored.exit_code, 0) << stored.output;
  Status spec_error;
  auto pool = ComputePoolFromJson(Json::parse(stored.output), &spec_error);
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_THAT(spec_error.message(), HasSubstr("spec.capacity.flops must be between 1"));
  ComputePoolStatus status;
  status.observed_generation = pool->generation;
  status.conditions = {{"Ready", "False", pool->generation, "2026-11-23T00:00:00Z", "InvalidSpec",
                        "the spec cannot be used: " + spec_error.message()}};
  auto reported = plane.Kubectl({"patch", "computepool", "-n", "tenant-a", "half-a-flops",
                                 "--subresource=status", "--type=merge", "-p",
                                 Json({{"status", ToJson(status)}}).dump()});
  EXPECT_EQ(reported.exit_code, 0) << reported.output;

  // Deleted, it waits for the finalizer, and goes once the controller removes it.
  auto deleted =
      plane.Kubectl({"delete", "computepool", "-n", "tenant-a", "half-a-flops", "--wait=false"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  auto released = plane.Kubectl({"patch", "computepool", "-n", "tenant-a", "half-a-flops",
                                 "--type=merge", "-p", R"({"metadata":{"finalizers":null}})"});
  EXPECT_EQ(released.exit_code, 0) << released.output;
  auto gone = plane.Kubectl({"get", "computepool", "-n", "tenant-a", "half-a-flops"});
  EXPECT_NE(gone.exit_code, 0) << gone.output;
}

}  // namespace
}  // namespace zhisuan::api
