#include "agent/dra/cdi_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/dra/device_name.h"
#include "tests/unit/agent/kubernetes/inventories.h"

namespace zhisuan::agent::dra {
namespace {

using ::testing::ElementsAre;
using testing::MakeAccelerators;

std::vector<ClaimDevice> ClaimOf(const std::vector<Accelerator>& accelerators,
                                 std::initializer_list<int> indices) {
  std::vector<ClaimDevice> devices;
  for (int index : indices) {
    devices.push_back({.device_name = DraDeviceName(accelerators[static_cast<size_t>(index)]),
                       .accelerator = accelerators[static_cast<size_t>(index)]});
  }
  return devices;
}

TEST(CdiSpecTest, NvidiaClaimCarriesAllUuidsOnceAndEachDeviceItsNodes) {
  const auto gpus = MakeAccelerators(Vendor::kNvidia);
  auto spec = BuildClaimCdiSpec("uid-1", ClaimOf(gpus, {3, 1}), "");
  ASSERT_TRUE(spec.ok()) << spec.status();
  const nlohmann::json json = CdiSpecJson(*spec);
  const nlohmann::json want = nlohmann::json::parse(R"({
    "cdiVersion": "0.6.0",
    "kind": "zhisuan.io/accelerator",
    "containerEdits": {"env": [
      "NVIDIA_VISIBLE_DEVICES=GPU-6a1f1a6e-0000-4000-8000-000000000001,GPU-6a1f1a6e-0000-4000-8000-000000000003"]},
    "devices": [
      {"name": "uid-1-pci-0000-64-00-0", "containerEdits": {"deviceNodes": [
        {"path": "/dev/nvidia3", "permissions": "rw"},
        {"path": "/dev/nvidiactl", "permissions": "rw"},
        {"path": "/dev/nvidia-uvm", "permissions": "rw"}]}},
      {"name": "uid-1-pci-0000-32-00-0", "containerEdits": {"deviceNodes": [
        {"path": "/dev/nvidia1", "permissions": "rw"},
        {"path": "/dev/nvidiactl", "permissions": "rw"},
        {"path": "/dev/nvidia-uvm", "permissions": "rw"}]}}]
  })");
  EXPECT_EQ(json, want) << json.dump(2);
}

TEST(CdiSpecTest, AscendGetsVisibleDevicesAndTheNodesAllocateGives) {
  const auto npus = MakeAccelerators(Vendor::kHuawei);
  auto spec = BuildClaimCdiSpec("u", ClaimOf(npus, {2}), "");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(spec->env, ElementsAre("ASCEND_VISIBLE_DEVICES=2"));
  ASSERT_EQ(spec->devices.size(), 1U);
  std::vector<std::string> paths;
  for (const auto& node : spec->devices[0].device_nodes) paths.push_back(node.path);
  EXPECT_THAT(paths, ElementsAre("/dev/davinci2", "/dev/davinci_manager", "/dev/devmm_svm",
                                 "/dev/hisi_hdc"));
}

TEST(CdiSpecTest, AmdHasNoEnvironmentSoTheSpecHasNoSpecLevelEdits) {
  const auto gpus = MakeAccelerators(Vendor::kAmd);
  auto spec = BuildClaimCdiSpec("u", ClaimOf(gpus, {0}), "");
  ASSERT_TRUE(spec.ok()) << spec.status();
  const nlohmann::json json = CdiSpecJson(*spec);
  EXPECT_FALSE(json.contains("containerEdits")) << json.dump(2);
  EXPECT_EQ(json["devices"][0]["containerEdits"]["deviceNodes"],
            nlohmann::json::parse(R"([{"path": "/dev/kfd", "permissions": "rw"},
                                      {"path": "/dev/dri/renderD128", "permissions": "rw"}])"));
}

TEST(CdiSpecTest, DevRootPrefixesHostPathsOnly) {
  const auto gpus = MakeAccelerators(Vendor::kNvidia);
  auto spec = BuildClaimCdiSpec("u", ClaimOf(gpus, {0}), "/fixture");
  ASSERT_TRUE(spec.ok()) << spec.status();
  const auto& node = spec->devices[0].device_nodes[0];
  EXPECT_EQ(node.path, "/dev/nvidia0");
  EXPECT_EQ(node.host_path, "/fixture/dev/nvidia0");
  EXPECT_EQ(CdiSpecJson(*spec)["devices"][0]["containerEdits"]["deviceNodes"][0]["hostPath"],
            "/fixture/dev/nvidia0");
}

TEST(CdiSpecTest, ADeviceWithoutNodesIsAnError) {
  auto gpus = MakeAccelerators(Vendor::kNvidia);
  gpus[0].device_nodes.clear();
  auto spec = BuildClaimCdiSpec("u", ClaimOf(gpus, {0}), "");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(spec.status().message(), ::testing::HasSubstr("no device node"));
}

TEST(CdiSpecTest, NamesAndPaths) {
  EXPECT_EQ(QualifiedCdiName(CdiDeviceName("abc", "pci-0000-17-00-0")),
            "zhisuan.io/accelerator=abc-pci-0000-17-00-0");
  EXPECT_EQ(ClaimCdiSpecPath("/var/run/cdi", "abc"),
            "/var/run/cdi/zhisuan.io-accelerator-abc.json");
  EXPECT_EQ(ClaimCdiSpecPath("/var/run/cdi/", "abc"),
            "/var/run/cdi/zhisuan.io-accelerator-abc.json");
}

}  // namespace
}  // namespace zhisuan::agent::dra
